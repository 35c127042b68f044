"""The sandbox's process supervisor where bubblewrap cannot run (run by path: `python -I -S reaper.py CMD...`).

It becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so every descendant of CMD, even one that
called setsid() and lost its parent, stays its descendant; when CMD exits (or this process gets SIGTERM)
it kills them all, so none outlives the run or keeps the output pipes open. Exit status: CMD's (128 + signal
if a signal ended it). Standard library only: it runs before anything else is importable.
"""

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def children(me: int) -> list[int]:
    """Pids whose parent is `me` (read from /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "(comm)": state, ppid, ...
        if int(fields[1]) == me:
            found.append(int(name))
    return found


def kill_all() -> None:
    """SIGKILL every descendant; orphans re-parent to us, so repeat until none is left."""
    me = os.getpid()
    while True:
        kids = children(me)
        for pid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            if not kids:
                return


class Stop(Exception):
    """SIGTERM: the harness ends the run (wall clock, output or process limit)."""


def _stop(*_: object) -> None:
    raise Stop


def main(argv: list[str]) -> int:
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("polyvox sandbox: cannot become a subreaper", file=sys.stderr)
    signal.signal(signal.SIGTERM, _stop)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    code = 128 + signal.SIGTERM
    try:
        while True:
            done, status = os.wait()  # reaps orphans too, until CMD itself ends
            if done == pid:
                code = os.waitstatus_to_exitcode(status)
                code = 128 - code if code < 0 else code
                break
    except (Stop, ChildProcessError):
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    kill_all()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

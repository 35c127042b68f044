"""Run untrusted Python (generated code, model-chosen tool calls) in a sandbox. The product never does this:
only the benchmarks (HumanEval's tests, BFCL's checkers) run code a model wrote.

Isolation (`bubblewrap`, where it can run; `bwrap` from Debian's package, `make system-deps` installs it):
- file system: a new mount namespace holding only /usr (and its /bin, /lib links), a few /etc files, the
  Python interpreter and the import path asked for, all read-only, plus a fresh temporary directory as
  /tmp (the working directory and HOME, the only writable place, deleted afterwards). The user's home,
  /work, /root, other /tmp files: not there.
- processes: its own PID namespace (killing bwrap ends every process in it, setsid() or not), no
  capabilities, a new session (no TIOCSTI into the terminal), RLIMIT_NPROC inside its own user namespace.
- network: an empty network namespace, and a preamble that makes sockets raise (the preamble alone is
  not a boundary: ctypes can get round it; the namespace is).
Everywhere: CPU seconds, address space, file size and process count (RLIMIT_*), a wall clock that no
descendant outlives, and output capped while it is read: past `max_output` bytes the run is killed.

Where bubblewrap is missing or cannot run (no unprivileged user namespaces, e.g. some containers), the run
is degraded, said once in the log: same limits, a temporary working directory, `unshare -rn` for the
network if that works, and a subreaper (reaper.py) that kills every descendant at the end; but the file
system is the user's. `POLYVOX_SANDBOX=bubblewrap` makes that an error instead; `=none` forces it.

RLIMIT_NPROC does not bind root (the kernel exempts uid 0, in any user namespace), so the harness also
counts the run's processes while it reads its output and kills it past the limit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Isolation = Literal["bubblewrap", "none"]
SANDBOX_DIR = "/tmp"  # where the run's temporary directory appears inside bubblewrap
EXIT_GRACE_S = 0.5  # output still read after the main process ended
COUNT_EVERY_S = 0.05  # how often the harness counts the run's processes
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd", "group")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

PREAMBLE = """\
import resource as _r
_r.setrlimit(_r.RLIMIT_NPROC, ({nproc}, {nproc}))
import socket as _s
class _NoNetwork(_s.socket):
    def __init__(self, *a, **k):
        raise OSError("network access is disabled in the polyvox bench sandbox")
def _no_network(*a, **k):
    raise OSError("network access is disabled in the polyvox bench sandbox")
_s.socket = _NoNetwork
_s.create_connection = _no_network
del _r, _s, _NoNetwork, _no_network
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run."""

    cpu_s: int = 10  # CPU seconds per process (RLIMIT_CPU: SIGXCPU, then SIGKILL)
    wall_s: float = 15.0  # wall-clock limit: every process of the run is killed
    memory_mb: int = 1024  # address space per process (RLIMIT_AS)
    max_output: int = 1 << 20  # bytes of stdout, and of stderr: more and the run is killed
    max_processes: int = 32  # processes (and threads, for RLIMIT_NPROC) the run may have at once
    max_file_mb: int = 64  # largest file it may write (RLIMIT_FSIZE)


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None  # None = killed by the harness (see `killed`)
    stdout: str
    stderr: str
    timed_out: bool  # killed at the wall-clock limit
    seconds: float
    isolated_network: bool  # True = ran in an empty network namespace
    killed: Literal["wall", "output", "processes"] | None = None  # which limit the harness enforced
    isolation: Isolation = "none"  # "bubblewrap": own file system and PID namespace

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.killed is None


@dataclass(frozen=True)
class Backend:
    """How runs are isolated on this machine."""

    isolation: Isolation
    reason: str  # why bubblewrap is not used ("" when it is)


class SandboxUnavailable(RuntimeError):
    """POLYVOX_SANDBOX=bubblewrap, and bubblewrap cannot run here."""


def _system_binds() -> list[str]:
    args: list[str] = []
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _visible(paths: list[str]) -> list[str]:
    """Directories to show read-only: never the user's home itself or a parent of it."""
    home = Path.home().resolve()
    keep: list[str] = []
    for p in paths:
        r = Path(p).resolve()
        if not r.exists() or r == home or r in home.parents or r == Path("/"):
            continue
        keep.append(str(r))
    return sorted(set(keep))


def _bwrap_args(exe: str, tmp: str, readable: list[str], network: bool) -> list[str]:
    args = [exe, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    args += ["--share-net"] if network else []
    args += _system_binds()
    for p in _visible(readable):
        args += ["--ro-bind", p, p]
    args += ["--proc", "/proc", "--dev", "/dev", "--bind", tmp, SANDBOX_DIR, "--chdir", SANDBOX_DIR]
    return args


def _interpreter_paths() -> list[str]:
    exe = Path(sys.executable)
    return [sys.base_prefix, sys.prefix, sys.exec_prefix, str(exe.parent), str(exe.resolve().parent.parent)]


@functools.cache
def backend() -> Backend:
    """bubblewrap if it can run a process here (checked once), else "none" with the reason."""
    wanted = os.environ.get("POLYVOX_SANDBOX", "auto")
    if wanted == "none":
        return Backend("none", "POLYVOX_SANDBOX=none")
    exe = shutil.which("bwrap")
    if exe is None:
        reason = "bubblewrap is not installed (apt-get install bubblewrap; `make system-deps` does it)"
    else:
        with tempfile.TemporaryDirectory(prefix="polyvox-sandbox-") as tmp:
            cmd = [*_bwrap_args(exe, tmp, _interpreter_paths(), False), sys.executable, "-I", "-S", "-c", "pass"]
            try:
                r = subprocess.run(cmd, capture_output=True, timeout=30)
                reason = "" if r.returncode == 0 else r.stderr.decode(errors="replace").strip()[-300:]
            except (OSError, subprocess.SubprocessError) as e:
                reason = str(e)
        if not reason:
            return Backend("bubblewrap", "")
        reason = f"bubblewrap cannot run here ({reason or 'it failed'}; are unprivileged user namespaces allowed?)"
    if wanted == "bubblewrap":
        raise SandboxUnavailable(f"POLYVOX_SANDBOX=bubblewrap, but {reason}")
    log.warning(
        "%s: generated code runs WITHOUT file-system isolation (limits, temporary directory and process "
        "reaping only); set POLYVOX_SANDBOX=bubblewrap to refuse instead",
        reason,
    )
    return Backend("none", reason)


@functools.cache
def _unshare() -> list[str]:
    """['unshare', '-rn'] where that works for this user, else [] (the preamble still blocks sockets)."""
    exe = shutil.which("unshare")
    if exe is None:
        return []
    try:
        r = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [exe, "-rn"] if r.returncode == 0 else []


def _limit(limits: Limits) -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    mem = limits.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    size = limits.max_file_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def _user_processes() -> int:
    """Tasks this real uid runs now (RLIMIT_NPROC counts them all where there is no user namespace)."""
    uid, n = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                n += os.stat(f"/proc/{name}").st_uid == uid
    return n


def _process_tree(root: int) -> list[int]:
    """`root`'s descendants (not `root`), from /proc's parent links."""
    parent: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        parent.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        kids = parent.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _kill(proc: subprocess.Popen) -> None:
    """Stop the whole run: freeze every descendant (so none forks or escapes), then kill them all."""
    frozen: set[int] = set()
    for _ in range(20):
        tree = set(_process_tree(proc.pid)) - frozen
        if not tree:
            break
        _signal_all(sorted(tree), signal.SIGSTOP)
        frozen |= tree
    with_root = [proc.pid, *frozen]
    _signal_all(with_root, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _collect(proc: subprocess.Popen, limits: Limits, deadline: float, overhead: int) -> tuple[bytes, bytes, str | None]:
    """Read stdout/stderr as they come, enforcing the wall clock, output cap and process count."""
    assert proc.stdout is not None and proc.stderr is not None
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    sel = selectors.DefaultSelector()
    for fd in bufs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    killed: str | None = None
    exited_at, next_count = None, 0.0
    while killed is None:
        now = time.monotonic()
        if now >= deadline:
            killed = "wall"
            break
        if proc.poll() is not None:
            exited_at = exited_at or now
            if not sel.get_map() or now - exited_at > EXIT_GRACE_S:
                break
        if now >= next_count:
            if len(_process_tree(proc.pid)) - overhead > limits.max_processes:
                killed = "processes"
                break
            next_count = now + COUNT_EVERY_S
        wait = min(COUNT_EVERY_S, deadline - now)
        if not sel.get_map():  # both streams closed, the process still runs
            time.sleep(wait)
            continue
        for key, _ in sel.select(timeout=wait):
            try:
                chunk = os.read(key.fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                sel.unregister(key.fd)
                continue
            buf = bufs[key.fd]
            room = limits.max_output - len(buf)
            buf += chunk[:room]
            if len(chunk) > room:
                killed = "output"
                break
    sel.close()
    if killed is not None or proc.poll() is None:
        _kill(proc)
    return bytes(bufs[proc.stdout.fileno()]), bytes(bufs[proc.stderr.fileno()]), killed


def run_python(
    code: str,
    limits: Limits | None = None,
    stdin: str = "",
    pythonpath: list[str] | None = None,
    isolate_network: bool = True,
) -> SandboxResult:
    """Run `code` with this interpreter under `limits`; stdin text in, stdout/stderr text out."""
    limits = limits or Limits()
    how = backend()
    with tempfile.TemporaryDirectory(prefix="polyvox-sandbox-") as tmp:
        bwrap = how.isolation == "bubblewrap"
        inside = SANDBOX_DIR if bwrap else tmp  # the directory as the code sees it
        prefix = [] if bwrap or not isolate_network else _unshare()
        nproc = limits.max_processes if bwrap or prefix else limits.max_processes + _user_processes()
        lines = code.splitlines()
        future = [ln for ln in lines if ln.startswith("from __future__ import")]  # must come first
        body = [ln for ln in lines if not ln.startswith("from __future__ import")]
        script = Path(tmp) / "main.py"
        script.write_text("\n".join([*future, PREAMBLE.format(nproc=nproc), *body]) + "\n")
        (Path(tmp) / "stdin.txt").write_text(stdin)
        env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "HOME": inside, "TMPDIR": inside}
        env["LANG"] = "C.UTF-8"
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(pythonpath)
        python = [sys.executable, "-I" if not pythonpath else "-s", f"{inside}/main.py"]
        if bwrap:
            exe = shutil.which("bwrap") or "bwrap"
            cmd = [*_bwrap_args(exe, tmp, [*_interpreter_paths(), *(pythonpath or [])], not isolate_network)]
            cmd += python
            overhead = 1  # bwrap's init inside the PID namespace
        else:
            reaper = str(Path(__file__).with_name("reaper.py"))
            cmd = [sys.executable, "-I", "-S", reaper, *prefix, *python]
            overhead = 0
        t0 = time.perf_counter()
        with open(Path(tmp) / "stdin.txt", "rb") as stdin_file:
            proc = subprocess.Popen(
                cmd,
                cwd=tmp,
                env=env,
                stdin=stdin_file,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=lambda: _limit(limits),
            )
        try:
            out, err, killed = _collect(proc, limits, time.monotonic() + limits.wall_s, overhead)
        finally:
            if proc.poll() is None:
                _kill(proc)
            proc.stdout.close()
            proc.stderr.close()
        return SandboxResult(
            None if killed else proc.returncode,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
            killed == "wall",
            time.perf_counter() - t0,
            (bwrap and isolate_network) or bool(prefix),
            killed,  # type: ignore[arg-type]
            how.isolation,
        )


def site_packages() -> list[str]:
    """This interpreter's installed-package path (for sandboxed code that imports installed packages): the
    sys.path entries inside the interpreter's or the virtual environment's prefix; a source checkout on
    sys.path (the working directory, an editable install) is left out."""
    prefixes = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    keep = []
    for p in sys.path:
        if not p or not Path(p).is_dir():
            continue
        r = Path(p).resolve()
        if any(r == q or q in r.parents for q in prefixes):
            keep.append(p)
    return keep

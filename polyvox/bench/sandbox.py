"""Run untrusted Python (generated code, model-chosen tool calls) in a limited subprocess.

Limits: CPU seconds and address space (resource.setrlimit), a wall-clock timeout (the process group is
killed), no network, a fresh temp working directory, an empty environment apart from PYTHONPATH.

No network, two layers: where unprivileged user namespaces work (`unshare -rn`), the child runs in an
empty network namespace (only a down loopback); always, a preamble replaces `socket.socket` and
`socket.create_connection` with functions that raise. The preamble alone is not a sandbox against
hostile code (ctypes can bypass it); the namespace is. This guards a benchmark against buggy or
over-eager generated code, it is not a security boundary for adversarial input.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PREAMBLE = """\
import socket as _s
class _NoNetwork(_s.socket):
    def __init__(self, *a, **k):
        raise OSError("network access is disabled in the polyvox bench sandbox")
def _no_network(*a, **k):
    raise OSError("network access is disabled in the polyvox bench sandbox")
_s.socket = _NoNetwork
_s.create_connection = _no_network
del _s, _NoNetwork, _no_network
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run."""

    cpu_s: int = 10  # CPU seconds (RLIMIT_CPU: SIGXCPU, then SIGKILL)
    wall_s: float = 15.0  # wall-clock timeout: the whole process group is killed
    memory_mb: int = 1024  # address space (RLIMIT_AS)
    max_output: int = 1 << 20  # bytes of stdout/stderr kept


@dataclass(frozen=True)
class SandboxResult:
    returncode: int | None  # None = killed on timeout
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    isolated_network: bool  # True = ran in an empty network namespace

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


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
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    mem = limits.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))


def run_python(
    code: str,
    limits: Limits | None = None,
    stdin: str = "",
    pythonpath: list[str] | None = None,
    isolate_network: bool = True,
) -> SandboxResult:
    """Run `code` with this interpreter under `limits`; stdin text in, stdout/stderr text out."""
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="polyvox-sandbox-") as tmp:
        script = Path(tmp) / "main.py"
        lines = code.splitlines()
        future = [ln for ln in lines if ln.startswith("from __future__ import")]  # must come first
        body = [ln for ln in lines if not ln.startswith("from __future__ import")]
        script.write_text("\n".join([*future, PREAMBLE, *body]) + "\n")
        env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "HOME": tmp, "LANG": "C.UTF-8"}
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(pythonpath)
        prefix = _unshare() if isolate_network else []
        cmd = [*prefix, sys.executable, "-I" if not pythonpath else "-s", str(script)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=tmp,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=lambda: _limit(limits),
        )
        try:
            out, err = proc.communicate(stdin.encode(), timeout=limits.wall_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        return SandboxResult(
            None if timed_out else proc.returncode,
            out[: limits.max_output].decode(errors="replace"),
            err[: limits.max_output].decode(errors="replace"),
            timed_out,
            time.perf_counter() - t0,
            bool(prefix),
        )


def site_packages() -> list[str]:
    """This interpreter's import path (for sandboxed code that imports installed packages)."""
    return [p for p in sys.path if p and Path(p).is_dir()]

"""The bundled sample question for `polyvox demo` and the tests (English, spoken by espeak-ng if not shipped)."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

from polyvox.errors import PolyvoxError

SAMPLE_TEXT = "What is the capital of France?"


def sample_question() -> Path:
    """Path of the shipped sample question wav (polyvox/data/question_en.wav)."""
    p = Path(str(resources.files("polyvox") / "data" / "question_en.wav"))
    if not p.exists():
        raise PolyvoxError(f"the sample question is missing ({p})", "reinstall polyvox")
    return p


def espeak_wav(text: str, path: str | Path, voice: str = "en-us", speed: int = 150, pitch: int = 50) -> Path:
    """Speak `text` with espeak-ng into a wav file (22.05 kHz mono). For tests and data synthesis."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise PolyvoxError("espeak-ng is not installed", "run: apt-get install espeak-ng")
    p = Path(path)
    r = subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(p), text], capture_output=True)
    if r.returncode != 0:
        raise PolyvoxError(f"espeak-ng failed for voice {voice}: {r.stderr.decode()[:200]}", "check the voice name")
    return p

"""espeak-ng: the phonemizer in front of Kokoro, and the fallback voice for every other language.

Runs the `espeak-ng` binary (Debian package espeak-ng 1.51) once per clause; text goes in on stdin.
`espeak-ng --stdout` writes 16-bit mono wav at 22,050 Hz, resampled here to 24 kHz.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import struct
import subprocess
import threading
import time
from dataclasses import dataclass

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, resample
from polyvox.cascade.tts.base import MAX_PITCH_SEMITONES, TTS, Clause, Prosody
from polyvox.cascade.tts.languages import ESPEAK_VOICES, espeak_voice, primary
from polyvox.errors import ModelError, PolyvoxError

ESPEAK_RATE_WPM = 175  # espeak-ng's default speaking rate (words per minute) = speed 1.0
ESPEAK_MIN_WPM, ESPEAK_MAX_WPM = 80, 450  # the rates espeak-ng accepts
# espeak-ng -p (0-99, default 50) -> semitones relative to 50, measured (F0 mean, Praat) on en, en+f3,
# es and hi+m3 speaking one sentence, averaged (the voices agree within 0.8 st): a native pitch change
# that keeps the formants, instead of resampling the audio.
ESPEAK_PITCH_P = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99)
ESPEAK_PITCH_ST = (-6.81, -5.56, -4.43, -2.93, -1.68, 0.0, 1.6, 3.34, 5.11, 6.97, 8.67)


def espeak_pitch(semitones: float) -> int:
    """A pitch shift in semitones (clamped to ±MAX_PITCH_SEMITONES) -> espeak-ng's -p value."""
    st = float(np.clip(semitones, -MAX_PITCH_SEMITONES, MAX_PITCH_SEMITONES))
    return round(float(np.interp(st, ESPEAK_PITCH_ST, ESPEAK_PITCH_P)))


# Voice variants (espeak-ng-data/voices/!v): pass as voice="f3" or voice="hi+f3".
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "whisper")
_FLAGS = re.compile(r"\(([a-z-]+)\)")  # language-switch marks in --ipa output: "(en)ˈəʊ kˈeɪ(hi)"


@dataclass(frozen=True)
class EspeakConfig:
    """Where espeak-ng is and how long one call may take."""

    binary: str = "espeak-ng"  # name on PATH or an absolute path
    timeout_s: float = 30.0  # per clause; espeak-ng takes milliseconds


def find_espeak(binary: str = "espeak-ng") -> str:
    """The absolute path of the espeak-ng binary, or ModelError saying how to install it."""
    path = shutil.which(binary)
    if path is None:
        raise ModelError(
            f"the espeak-ng binary ('{binary}') was not found on PATH",
            "install espeak-ng: apt-get install espeak-ng",
        )
    return path


def _run(cmd: list[str], text: str, timeout_s: float) -> bytes:
    try:
        r = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PolyvoxError(f"espeak-ng took over {timeout_s:.0f} s", "shorten the text") from None
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {r.returncode}"]
        raise PolyvoxError(f"espeak-ng failed: {msg[0][:160]}", "check `espeak-ng --voices` lists the voice")
    return r.stdout


def phonemize(text: str, voice: str, config: EspeakConfig | None = None, keep_foreign: bool = True) -> str:
    """Text -> espeak-ng IPA, one space between words and clauses, no punctuation.

    Multi-letter phonemes are joined by U+200D (`--ipa=3`), e.g. "ha‍ʊ" for "how", so a
    diphthong or affricate can be told from two phonemes. Language-switch flags "(en)" are
    removed; with keep_foreign=False the foreign stretch they enclose goes too (espeak's ja voice
    says "Chinese letter" in English for every kanji).
    """
    cfg = config or EspeakConfig()
    if not text.strip():
        return ""
    out = _run([find_espeak(cfg.binary), "-q", "--ipa=3", "-v", voice, "--stdin"], text, cfg.timeout_s)
    ipa = " ".join(out.decode("utf-8", "replace").split())
    if not keep_foreign:
        own = voice.split("-")[0]
        pieces, lang = [], own
        for i, piece in enumerate(_FLAGS.split(ipa)):
            if i % 2:
                lang = piece.split("-")[0]
            elif lang == own:
                pieces.append(piece)
        ipa = " ".join("".join(pieces).split())
    return _FLAGS.sub("", ipa)


def phonemize_clauses(text: str, voice: str, config: EspeakConfig | None = None) -> list[str]:
    """Text -> espeak-ng IPA without ties (`--ipa`), one string per clause espeak-ng found, no punctuation.

    espeak-ng writes a line per clause (it breaks at , ; : . ! ?); "Yes, I can." -> ["jˈɛs", "aɪ kæn"].
    Language-switch flags "(en)" are removed, the foreign phonemes they enclose kept (Piper's convention).
    """
    cfg = config or EspeakConfig()
    if not text.strip():
        return []
    out = _run([find_espeak(cfg.binary), "-q", "--ipa", "-v", voice, "--stdin"], text, cfg.timeout_s)
    lines = (" ".join(_FLAGS.sub("", line).split()) for line in out.decode("utf-8", "replace").splitlines())
    return [line for line in lines if line]


class PhonemizerPipe:
    """`phonemize_clauses` through one long-running espeak-ng (`-q --ipa -v VOICE`, text on stdin).

    Without a text argument espeak-ng reads stdin line by line and flushes its output after each line, so a
    clause costs ~1 ms instead of the ~13 ms of starting espeak-ng and loading its voice (2 cores). After each
    line of text a SENTINEL line is sent; its known output marks where the text's output ends. On a timeout
    or a dead process the process is killed and the clause goes through `phonemize_clauses` instead; the next
    call starts a new process. Calls are serialised by a lock (one process per pipe).
    """

    SENTINEL = "zqxjvk"  # spelled out letter by letter: output no text can end with (removed from the text)
    MAX_CHARS = 8000  # longer text goes through phonemize_clauses (both pipe buffers could fill: a deadlock)

    def __init__(self, voice: str, config: EspeakConfig | None = None) -> None:
        self.voice = voice
        self.config = config or EspeakConfig()
        self._proc: subprocess.Popen | None = None
        self._end: list[str] = []  # the SENTINEL's output lines
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen:
        self._end = phonemize_clauses(self.SENTINEL, self.voice, self.config)
        cmd = [find_espeak(self.config.binary), "-q", "--ipa", "-v", self.voice]
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def _ask(self, proc: subprocess.Popen, text: str) -> list[str]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{text}\n{self.SENTINEL}\n".encode())
        proc.stdin.flush()
        buf, lines = b"", []
        deadline = time.monotonic() + self.config.timeout_s
        fd = proc.stdout.fileno()
        while lines[-len(self._end) :] != self._end:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                raise OSError("espeak-ng stopped answering")
            *done, buf = (buf + chunk).split(b"\n")
            lines += [" ".join(_FLAGS.sub("", d.decode("utf-8", "replace")).split()) for d in done]
        return [line for line in lines[: -len(self._end)] if line]

    def phonemize(self, text: str) -> list[str]:
        """Like `phonemize_clauses(text, voice, config)`: IPA lines, one per clause espeak-ng found."""
        text = " ".join(re.sub(self.SENTINEL, " ", text, flags=re.IGNORECASE).split())
        if not text:
            return []
        if len(text) > self.MAX_CHARS:
            return phonemize_clauses(text, self.voice, self.config)
        with self._lock:
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self._proc = self._start()
                if self._end:
                    return self._ask(self._proc, text)
            except (OSError, ValueError):
                self.close()
        return phonemize_clauses(text, self.voice, self.config)

    def close(self) -> None:
        """End the espeak-ng process (a later call starts a new one)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown
            self.close()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """espeak-ng's streamed wav (RIFF sizes left at 0x7fffffff) -> ((n,) float32, sample rate)."""
    if len(data) < 44 or data[:4] != b"RIFF":
        return np.zeros(0, np.float32), 22_050
    sr = struct.unpack("<I", data[24:28])[0]
    start = data.find(b"data", 12) + 8
    pcm = data[start : start + (len(data) - start) // 2 * 2]
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0, sr


class EspeakTTS(TTS):
    """espeak-ng's own formant voice: every language in ESPEAK_VOICES, robotic but intelligible.

    voice: None (the language's default espeak voice), a variant ("f3", see VARIANTS) or a full
    espeak-ng voice ("hi+f3", "en-gb"). Prosody: speed via -s (80–450 wpm), pitch via -p
    (`espeak_pitch`), gain and pauses by the base class.
    """

    def __init__(self, config: EspeakConfig | None = None) -> None:
        self.config = config or EspeakConfig()
        self.binary = find_espeak(self.config.binary)

    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({primary(k) for k in ESPEAK_VOICES}))

    def check(self, lang: str, voice: str | None) -> None:
        espeak_voice(lang)
        known = voice is None or voice in VARIANTS or "+" in voice or voice in ESPEAK_VOICES.values()
        if not known:
            raise PolyvoxError(
                f"unknown espeak-ng voice '{voice}'",
                f"use a variant ({', '.join(VARIANTS)}) or a voice like 'en-gb' / 'hi+f3'",
            )

    def voice_name(self, lang: str, voice: str | None) -> str:
        """'hi' + 'f3' -> 'hi+f3'; a full voice name passes through."""
        base = espeak_voice(lang)
        if voice is None:
            return base
        return f"{base}+{voice}" if voice in VARIANTS else voice

    def render(self, clause: Clause, lang: str, voice: str | None, prosody: Prosody) -> np.ndarray:
        """One clause -> (n,) float32 at 24 kHz (espeak's 22,050 Hz resampled)."""
        wpm = int(np.clip(ESPEAK_RATE_WPM * prosody.speed, ESPEAK_MIN_WPM, ESPEAK_MAX_WPM))
        pitch = espeak_pitch(prosody.pitch_semitones)
        cmd = [self.binary, "--stdout", "-v", self.voice_name(lang, voice), "-s", str(wpm), "-p", str(pitch), "--stdin"]
        x, sr = read_wav(_run(cmd, clause.text + clause.punct, self.config.timeout_s))
        return resample(x, sr, OUTPUT_SAMPLE_RATE) if len(x) else x

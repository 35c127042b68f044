"""Audio constants and I/O: load anything soundfile reads, resample with soxr, write wav.

Constants with their derivations (as whisper/audio.py does):
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyvox.errors import AudioInputError

SAMPLE_RATE = 16_000  # Hz: what the VAD, Whisper and the unified model's mel frontend consume
OUTPUT_SAMPLE_RATE = 24_000  # Hz: what Kokoro produces and the Realtime protocol's pcm16 uses
MAX_INPUT_SECONDS = 15 * 60  # a longer file is refused: one turn is not a lecture (split it first)
MIN_INPUT_SECONDS = 0.1  # 100 ms: shorter than one syllable
SILENCE_DBFS = -60.0  # peak below this (1/1000 full scale) counts as silence

SUPPORTED_FORMATS = "wav, flac, ogg, mp3 (anything libsndfile reads)"


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at `sample_rate`."""

    samples: np.ndarray  # (n_samples,) float32
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """x: (n,) float32 -> (n * sr_out / sr_in,) float32 (soxr, high quality)."""
    if sr_in == sr_out:
        return x.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(x.astype(np.float32, copy=False), sr_in, sr_out, quality="HQ").astype(np.float32)


def to_mono(x: np.ndarray) -> np.ndarray:
    """x: (n,) or (n, channels) -> (n,) float32 (channel mean)."""
    x = np.asarray(x, dtype=np.float32)
    return x.mean(axis=1) if x.ndim == 2 else x


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float = MAX_INPUT_SECONDS) -> Audio:
    """Read an audio file of any rate/channel count and return mono float32 at `sample_rate`.

    Raises AudioInputError with a clear message for a missing, empty, corrupt, non-audio,
    too-short or too-long file. Silence is not an error here (the VAD decides).
    """
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"input file not found: {p}", "check the path")
    if p.is_dir():
        raise AudioInputError(f"input is a directory, not an audio file: {p}", "give a wav/flac/ogg/mp3 file")
    if p.stat().st_size == 0:
        raise AudioInputError(f"input file is empty (0 bytes): {p}", f"give a {SUPPORTED_FORMATS} file")
    try:
        info = sf.info(str(p))
    except Exception as e:  # libsndfile raises a bare RuntimeError/LibsndfileError for anything it cannot parse
        raise AudioInputError(
            f"cannot read {p.name} as audio ({str(e).strip().splitlines()[-1][:120]})",
            f"the file is corrupt or not audio; supported: {SUPPORTED_FORMATS}",
        ) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioInputError(f"{p.name} holds no audio samples", "record or export the file again")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise AudioInputError(
            f"{p.name} is {seconds / 60:.1f} minutes long; one turn may be at most {max_seconds / 60:.0f} minutes",
            "split it into shorter turns (e.g. sox in.wav out.wav trim 0 60)",
        )
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as e:
        raise AudioInputError(f"cannot decode {p.name}: {e}", "the file is truncated or corrupt") from None
    x = to_mono(data)
    if not np.all(np.isfinite(x)):
        raise AudioInputError(f"{p.name} contains NaN or infinite samples", "export it again as PCM")
    if len(x) / sr < MIN_INPUT_SECONDS:
        raise AudioInputError(f"{p.name} is only {len(x) / sr * 1000:.0f} ms long", "record at least a short sentence")
    x = np.clip(x, -1.0, 1.0)
    return Audio(resample(x, sr, sample_rate), sample_rate)


def peak_dbfs(x: np.ndarray) -> float:
    """Peak level of x in dB relative to full scale (-inf for digital silence)."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def save_audio(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write mono float32 samples as 16-bit PCM wav (atomically: temp file + rename)."""
    import soundfile as sf

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    sf.write(str(tmp), np.clip(samples, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    tmp.replace(p)
    return p


def float_to_pcm16(x: np.ndarray) -> bytes:
    """(n,) float32 in [-1, 1] -> little-endian int16 bytes (the Realtime protocol's pcm16)."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def pcm16_to_float(b: bytes) -> np.ndarray:
    """little-endian int16 bytes -> (n,) float32 in [-1, 1]."""
    if len(b) % 2:
        raise AudioInputError("pcm16 audio has an odd number of bytes", "send whole 16-bit samples")
    return np.frombuffer(b, dtype="<i2").astype(np.float32) / 32768.0

"""Prosody features of a reply: pitch (Praat via praat-parselmouth), energy, pauses and speaking rate.

All are measured on the whole reply, mono float32 at any rate:
  f0_mean_hz, f0_std_st, f0_range_st   pitch level and variation (semitones re the median; range = p95-p5)
  terminal_rise_st                     pitch of the last 20 % of voiced frames minus the 20 % before (questions rise)
  energy_std_db                        variation of frame loudness over active frames (emphasis, excitement)
  loudness_dbfs                        mean active-frame level (soft vs loud)
  pause_ratio                          silent share of the span from first to last active frame
  words_per_s                          transcript words / that span (needs the transcript)
Praat's autocorrelation pitch tracker, floor 75 Hz, ceiling 500 Hz, 10 ms steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

FRAME_S = 0.01  # 10 ms analysis frames
ACTIVE_REL_DB = -35.0  # a frame within 35 dB of the loudest counts as active (speech)


@dataclass(frozen=True)
class Prosody:
    duration_s: float
    speech_span_s: float
    f0_mean_hz: float | None
    f0_std_st: float | None
    f0_range_st: float | None
    terminal_rise_st: float | None
    energy_std_db: float | None
    loudness_dbfs: float | None
    pause_ratio: float | None
    words_per_s: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {k: (None if v is None else round(float(v), 3)) for k, v in asdict(self).items()}


def _pitch(audio: np.ndarray, sr: int) -> np.ndarray:
    """Voiced F0 values in Hz, (n_voiced,)."""
    from polyvox.errors import require

    parselmouth = require("parselmouth", "prosody scoring", "bench")
    snd = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=sr)
    f0 = snd.to_pitch(time_step=FRAME_S, pitch_floor=75.0, pitch_ceiling=500.0).selected_array["frequency"]
    return f0[f0 > 0]


def measure(audio: np.ndarray, sr: int, transcript: str = "") -> Prosody:
    audio = np.asarray(audio, np.float32)
    dur = len(audio) / sr if sr else 0.0
    hop = max(1, int(sr * FRAME_S))
    n = len(audio) // hop
    if n < 5 or float(np.max(np.abs(audio))) < 1e-4:
        return Prosody(dur, 0.0, None, None, None, None, None, None, None, None)
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)  # (n_frames,)
    db = 20 * np.log10(rms)
    active = db > db.max() + ACTIVE_REL_DB
    idx = np.flatnonzero(active)
    span = (idx[-1] - idx[0] + 1) * FRAME_S
    pause_ratio = 1.0 - active[idx[0] : idx[-1] + 1].mean()
    f0 = _pitch(audio, sr)
    f0_mean = f0_std = f0_range = rise = None
    if len(f0) >= 5:
        st = 12 * np.log2(f0 / np.median(f0))
        f0_mean, f0_std = float(f0.mean()), float(st.std())
        f0_range = float(np.percentile(st, 95) - np.percentile(st, 5))
        k = max(2, len(st) // 5)
        rise = float(np.median(st[-k:]) - np.median(st[-2 * k : -k])) if len(st) >= 2 * k else None
    words = len(transcript.split())
    return Prosody(
        dur,
        span,
        f0_mean,
        f0_std,
        f0_range,
        rise,
        float(db[active].std()),
        float(db[active].mean()),
        float(pause_ratio),
        words / span if words and span > 0 else None,
    )


def check(value: float | None, rule: list) -> bool:
    """rule = [">=", x] | ["<=", x] | ["between", lo, hi]; a missing value fails."""
    if value is None:
        return False
    op = rule[0]
    if op == ">=":
        return value >= rule[1]
    if op == "<=":
        return value <= rule[1]
    return rule[1] <= value <= rule[2]

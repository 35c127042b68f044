"""Prosody of one utterance: pitch level and range, loudness, pausing, speaking rate, spectral tilt.

Used twice: on the user's speech (the emotion recogniser's input, and what the reply mirrors) and on
the synthesized reply (tests check that reply prosody moves with the target emotion).

Frames: 25 ms windows every 10 ms on 16 kHz audio (any input rate is resampled first). Pitch is
Praat's autocorrelation tracker (praat-parselmouth); everything else is numpy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from polyvox.audio import SAMPLE_RATE, resample
from polyvox.errors import require

HOP = SAMPLE_RATE // 100  # 160 samples = 10 ms
WIN = SAMPLE_RATE * 25 // 1000  # 400 samples = 25 ms
F0_REF_HZ = 100.0  # semitone reference: st = 12 * log2(f0 / 100 Hz)
F0_FLOOR_HZ, F0_CEILING_HZ = 60.0, 650.0  # adult speech, shouting and child-like voices included
SPEECH_REL_DB = -30.0  # a frame within 30 dB of the loudest frame is speech...
SPEECH_ABS_DBFS = -60.0  # ...when it is also above this absolute level
MIN_PAUSE_S = 0.12  # a silence inside the speech span counts as a pause when at least this long
NUCLEUS_DIP_DB = 2.0  # de Jong & Wempe: a syllable nucleus is an intensity peak >= 2 dB above the dip before it
# ...of the intensity in the vowels' formant band: full-band intensity stays level through voiced
# consonants and fricatives in smooth (neural) voices, which hides syllables (Kokoro: "Hello, can you
# hear me?" 3 nuclei full-band, 6 in the band; Mermelstein 1975 likewise counts band-limited loudness).
NUCLEUS_BAND_HZ = (300.0, 2500.0)
PARSELMOUTH_FEATURE, PARSELMOUTH_EXTRA = "emotion recognition (pitch tracking)", "bench"  # praat-parselmouth
TILT_SPLIT_HZ = 1000.0  # spectral tilt = energy above / below this frequency (up to 4 kHz)


@dataclass(frozen=True)
class ProsodyFeatures:
    """Prosodic statistics of one utterance. Zero-length or silent audio gives `ProsodyFeatures.silent()`."""

    f0_mean_st: float  # mean F0 of voiced frames, semitones re 100 Hz (12 st = one octave)
    f0_std_st: float  # standard deviation of F0, semitones (liveliness of the melody)
    f0_range_st: float  # 90th - 10th percentile of F0, semitones
    f0_slope_st_s: float  # linear trend of F0 over the utterance, semitones per second (final rises > 0)
    loudness_dbfs: float  # mean power of speech frames, dB re full scale
    loudness_std_db: float  # standard deviation of frame loudness over speech frames, dB
    voiced_fraction: float  # voiced frames / speech frames, 0..1
    pause_ratio: float  # silent time (pauses >= MIN_PAUSE_S) / speech span, 0..1
    rate_syl_s: float  # syllable nuclei per second of speaking (pauses excluded): articulation rate
    tilt_db: float  # energy 1-4 kHz minus energy 0-1 kHz, dB (tense/loud speech is flatter: higher)
    duration_s: float  # speech span from first to last speech frame, seconds

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def vector(self) -> np.ndarray:
        """(n_features,) float64 in `names()` order."""
        return np.array([getattr(self, n) for n in self.names()], dtype=np.float64)

    @classmethod
    def from_vector(cls, v: np.ndarray) -> ProsodyFeatures:
        return cls(*(float(x) for x in v))

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in asdict(self).items()}

    @classmethod
    def silent(cls) -> ProsodyFeatures:
        return cls(0.0, 0.0, 0.0, 0.0, -100.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_audio(cls, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> ProsodyFeatures:
        """audio: (n,) float32 mono at `sample_rate` -> the utterance's prosody (about 10 ms per second)."""
        x = resample(np.asarray(audio, dtype=np.float32), sample_rate, SAMPLE_RATE)
        if len(x) < WIN:
            return cls.silent()
        db = frame_dbfs(x)  # (n_frames,)
        speech = (db > db.max() + SPEECH_REL_DB) & (db > SPEECH_ABS_DBFS)
        idx = np.flatnonzero(speech)
        if len(idx) < 3:
            return cls.silent()
        a, b = int(idx[0]), int(idx[-1]) + 1  # the speech span, in frames
        span = speech[a:b]
        pauses = _long_runs(~span, round(MIN_PAUSE_S * 100))
        speaking_s = max((b - a - pauses.sum()) / 100.0, 0.01)

        f0 = pitch_track(x, len(db))  # (n_frames,) Hz, 0 = unvoiced
        voiced = (f0 > 0) & speech
        st = 12.0 * np.log2(f0[voiced] / F0_REF_HZ) if voiced.any() else np.zeros(0)
        if len(st) >= 3:
            t = np.flatnonzero(voiced) / 100.0
            slope = float(np.polyfit(t - t.mean(), st, 1)[0])
            p10, p90 = np.percentile(st, [10, 90])
            f0_mean, f0_std, f0_range = float(st.mean()), float(st.std()), float(p90 - p10)
        else:
            f0_mean = f0_std = f0_range = slope = 0.0
        power = 10 ** (db[speech] / 10)
        return cls(
            f0_mean_st=f0_mean,
            f0_std_st=f0_std,
            f0_range_st=f0_range,
            f0_slope_st_s=float(np.clip(slope, -30, 30)),
            loudness_dbfs=float(10 * np.log10(power.mean() + 1e-12)),
            loudness_std_db=float(db[speech].std()),
            voiced_fraction=float(voiced.sum() / speech.sum()),
            pause_ratio=float(pauses.sum() / (b - a)),
            rate_syl_s=float(syllable_nuclei(band_dbfs(x, *NUCLEUS_BAND_HZ), f0 > 0, speech) / speaking_s),
            tilt_db=spectral_tilt(x, voiced if voiced.any() else speech),
            duration_s=(b - a) / 100.0,
        )


def frame_dbfs(x: np.ndarray) -> np.ndarray:
    """x: (n,) at 16 kHz -> (n // HOP,) frame power in dBFS (25 ms windows centred every 10 ms)."""
    return 10 * np.log10(np.mean(_frames(x).astype(np.float64) ** 2, axis=1) + 1e-12)


def _frames(x: np.ndarray) -> np.ndarray:
    """x: (n,) at 16 kHz -> (n // HOP, WIN) views: 25 ms windows centred every 10 ms (zero-padded ends)."""
    padded = np.pad(x, (WIN // 2, WIN))
    return np.lib.stride_tricks.sliding_window_view(padded, WIN)[::HOP][: len(x) // HOP]


def band_dbfs(x: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """x: (n,) at 16 kHz -> (n // HOP,) power between low_hz and high_hz per frame, dB (frames as frame_dbfs)."""
    spec = np.abs(np.fft.rfft(_frames(x) * np.hanning(WIN), n=512, axis=1)) ** 2  # (n_frames, 257)
    freqs = np.fft.rfftfreq(512, 1 / SAMPLE_RATE)
    band = (freqs >= low_hz) & (freqs < high_hz)
    return 10 * np.log10(spec[:, band].sum(axis=1) / (WIN * 512) + 1e-12)


def pitch_track(x: np.ndarray, n_frames: int) -> np.ndarray:
    """x: (n,) at 16 kHz -> (n_frames,) F0 in Hz on the 10 ms frame grid, 0 where unvoiced."""
    parselmouth = require("parselmouth", PARSELMOUTH_FEATURE, PARSELMOUTH_EXTRA)
    snd = parselmouth.Sound(x.astype(np.float64), sampling_frequency=SAMPLE_RATE)
    pitch = snd.to_pitch_ac(time_step=0.01, pitch_floor=F0_FLOOR_HZ, pitch_ceiling=F0_CEILING_HZ)
    f0 = pitch.selected_array["frequency"]  # (n_pitch_frames,) at times pitch.xs(), every 10 ms
    if len(f0) == 0:
        return np.zeros(n_frames)
    nearest = np.floor((np.arange(n_frames) / 100.0 - pitch.xs()[0]) / 0.01 + 0.5).astype(int)
    valid = (nearest >= 0) & (nearest < len(f0))
    out = np.zeros(n_frames)
    out[valid] = f0[nearest[valid]]
    return out


def syllable_nuclei(db: np.ndarray, voiced: np.ndarray, speech: np.ndarray) -> int:
    """Count intensity peaks (db: (n_frames,), the vowel band's: band_dbfs) that are voiced speech and rise
    NUCLEUS_DIP_DB above the dip before them."""
    smooth = np.convolve(db, np.ones(5) / 5, mode="same")  # 50 ms moving average
    peaks = np.flatnonzero((smooth[1:-1] > smooth[:-2]) & (smooth[1:-1] >= smooth[2:])) + 1
    count, dip, last = 0, np.inf, 0
    for p in peaks:
        dip = min(dip, float(smooth[last:p].min())) if p > last else dip
        if speech[p] and voiced[max(p - 2, 0) : p + 3].any() and smooth[p] - dip >= NUCLEUS_DIP_DB:
            count += 1
            dip = np.inf
        last = p
    return count


def spectral_tilt(x: np.ndarray, frames: np.ndarray) -> float:
    """Energy 1-4 kHz minus 0-1 kHz (dB) over the selected 10 ms frames of x (16 kHz)."""
    idx = np.flatnonzero(frames)
    if len(idx) == 0:
        return 0.0
    starts = np.clip(idx * HOP - WIN // 2, 0, max(len(x) - WIN, 0))
    seg = np.stack([x[s : s + WIN] for s in starts]) * np.hanning(WIN)  # (n_sel, WIN)
    spec = np.abs(np.fft.rfft(seg, n=512, axis=1)) ** 2  # (n_sel, 257)
    freqs = np.fft.rfftfreq(512, 1 / SAMPLE_RATE)
    low = spec[:, (freqs > 50) & (freqs < TILT_SPLIT_HZ)].sum()
    high = spec[:, (freqs >= TILT_SPLIT_HZ) & (freqs < 4000)].sum()
    return float(10 * np.log10((high + 1e-12) / (low + 1e-12)))


def _long_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """Boolean mask keeping only the runs of True that are at least `min_len` long."""
    out = np.zeros_like(mask)
    i, n = 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j < n and mask[j]:
                j += 1
            if j - i >= min_len:
                out[i:j] = True
            i = j
        else:
            i += 1
    return out

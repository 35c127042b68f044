"""Speaker embeddings: Resemblyzer's GE2E voice encoder, re-implemented with plain torch and numpy.

The `resemblyzer` package (0.1.4, Apache-2.0) imports librosa, webrtcvad and a SciPy module removed in
recent SciPy, none of which polyvox needs; only its weights `resemblyzer/pretrained.pt` (17 MB) are
used. This file rebuilds what they run on:

    audio (n,) at 16 kHz
    -> preprocess: raise quiet input to -30 dBFS, cut silences longer than ~200 ms (energy VAD here,
       webrtcvad in Resemblyzer)
    -> mel power spectrogram (frames, 40): 25 ms Hann window, 10 ms hop, Slaney mel filters (librosa's
       default), no log
    -> partial windows of 160 frames (1.6 s), 1.3 per second
    -> LSTM(40 -> 256, 3 layers) -> last hidden state -> Linear(256, 256) -> ReLU -> L2 norm
    -> mean over partials, L2 norm: (256,) float32, cosine similarity ~0.8+ for the same voice.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyvox.audio import SAMPLE_RATE, resample
from polyvox.errors import ModelError, require

N_FFT = SAMPLE_RATE * 25 // 1000  # 400 samples = 25 ms window
HOP = SAMPLE_RATE * 10 // 1000  # 160 samples = 10 ms
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
PARTIALS_PER_S = 1.3  # Resemblyzer's default partial rate
MIN_COVERAGE = 0.75  # the last partial is kept when at least this much of it is audio
EMBEDDING_DIM = 256
HIDDEN, LAYERS = 256, 3
NORM_DBFS = -30.0  # Resemblyzer raises quieter input to this RMS level
VAD_WINDOW = SAMPLE_RATE * 30 // 1000  # 480 samples = 30 ms
VAD_SMOOTH, VAD_MAX_SILENCE = 8, 6  # moving-average width, silent windows kept around speech

WEIGHTS_ENV = "POLYVOX_SPEAKER_MODEL"  # a path to your own pretrained.pt
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"  # resemblyzer 0.1.4
WEIGHTS_SIZE = 17090379


@dataclass(frozen=True)
class EncoderConfig:
    """Where the weights are and how to run them."""

    weights: Path | None = None  # pretrained.pt; None = $POLYVOX_SPEAKER_MODEL, else the model store


def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) Slaney-style mel filters with Slaney area norm (librosa.filters.mel defaults)."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]


_MEL = mel_filterbank()
_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """wav: (n,) float32 at 16 kHz -> (1 + n // HOP, N_MELS) float32 mel power (centred frames, reflect pad)."""
    x = (
        np.pad(wav.astype(np.float64), N_FFT // 2, mode="reflect")
        if len(wav) > N_FFT // 2
        else np.pad(wav.astype(np.float64), N_FFT // 2)
    )
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]  # (n_frames, N_FFT)
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2  # (n_frames, 201)
    return (power @ _MEL.T).astype(np.float32)


def preprocess(wav: np.ndarray) -> np.ndarray:
    """Raise quiet audio to NORM_DBFS and cut long silences (an energy VAD in place of webrtcvad)."""
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) if len(wav) else 0.0
    if rms <= 0:
        return wav
    gain = 10 ** (NORM_DBFS / 20) / rms
    wav = (wav * gain).astype(np.float32) if gain > 1 else wav.astype(np.float32)
    n = len(wav) // VAD_WINDOW
    if n < VAD_SMOOTH:
        return wav
    db = 10 * np.log10(np.mean(wav[: n * VAD_WINDOW].reshape(n, VAD_WINDOW) ** 2, axis=1) + 1e-12)
    voiced = ((db > db.max() - 35.0) & (db > -60.0)).astype(float)
    smooth = np.convolve(voiced, np.ones(VAD_SMOOTH) / VAD_SMOOTH, mode="same") >= 0.5
    keep = np.convolve(smooth, np.ones(VAD_MAX_SILENCE + 1), mode="same") > 0  # dilate the speech regions
    kept = wav[: n * VAD_WINDOW][np.repeat(keep, VAD_WINDOW)]
    return kept if len(kept) >= SAMPLE_RATE // 4 else wav


def partial_slices(n_samples: int) -> list[slice]:
    """Mel-frame slices of PARTIAL_FRAMES each covering the utterance (Resemblyzer's compute_partial_slices)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    step = max(1, int(np.round(SAMPLE_RATE / PARTIALS_PER_S / HOP)))
    starts = range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step)
    slices = [slice(s, s + PARTIAL_FRAMES) for s in starts]
    coverage = (n_samples - slices[-1].start * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices = slices[:-1]
    return slices


def find_weights(weights: Path | None = None) -> Path:
    """The pretrained.pt to load: `weights`, $POLYVOX_SPEAKER_MODEL, or the model store's copy (sha256-checked)."""
    if weights is not None or os.environ.get(WEIGHTS_ENV):
        p = Path(weights or os.environ[WEIGHTS_ENV]).expanduser()
        if not p.exists():
            raise ModelError(
                f"speaker encoder weights not found: {p}", f"point {WEIGHTS_ENV} at resemblyzer's pretrained.pt"
            )
        return p
    from polyvox.models import MODELS, default_store

    if "resemblyzer" in MODELS:
        return default_store().path("resemblyzer")
    p = default_store().model_dir("resemblyzer") / "pretrained.pt"
    hint = "pip download --no-deps resemblyzer==0.1.4 and copy resemblyzer/pretrained.pt there, or set " + WEIGHTS_ENV
    if not p.exists():
        raise ModelError(f"the speaker encoder weights are not installed ({p} missing)", hint)
    if p.stat().st_size != WEIGHTS_SIZE or hashlib.sha256(p.read_bytes()).hexdigest() != WEIGHTS_SHA256:
        raise ModelError(f"{p} is corrupt (sha256 does not match resemblyzer 0.1.4's pretrained.pt)", hint)
    return p


class SpeakerEncoder:
    """audio -> (256,) unit speaker embedding. Weights load on first use, once; thread-safe after that."""

    def __init__(self, config: EncoderConfig | None = None) -> None:
        require("torch", "speaker labels", "unified")  # the CPU build: pip install torch==2.13.0
        self.config = config or EncoderConfig()
        self._net = None
        self._lock = threading.Lock()

    def _load(self):
        import torch

        path = find_weights(self.config.weights)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)["model_state"]
        except Exception as e:  # a truncated or foreign file: torch raises pickle/zip errors
            raise ModelError(
                f"cannot load speaker encoder weights {path}: {e}", f"re-fetch resemblyzer 0.1.4 or unset {WEIGHTS_ENV}"
            ) from e
        lstm = torch.nn.LSTM(N_MELS, HIDDEN, LAYERS, batch_first=True)
        linear = torch.nn.Linear(HIDDEN, EMBEDDING_DIM)
        lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
        linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
        return lstm.eval(), linear.eval()

    def embed(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """audio: (n,) float32 mono -> (EMBEDDING_DIM,) float32, L2-normalised (~16-30 ms per second of audio)."""
        import torch

        if self._net is None:
            with self._lock:
                if self._net is None:
                    self._net = self._load()
        lstm, linear = self._net
        wav = preprocess(resample(np.asarray(audio, dtype=np.float32), sample_rate, SAMPLE_RATE))
        slices = partial_slices(len(wav))
        wav = np.pad(wav, (0, max(0, slices[-1].stop * HOP - len(wav))))
        mel = mel_spectrogram(wav)  # (n_frames, N_MELS)
        mels = np.stack([mel[s] for s in slices])  # (n_partials, PARTIAL_FRAMES, N_MELS)
        with torch.inference_mode():
            _, (hidden, _) = lstm(torch.from_numpy(mels))  # hidden: (LAYERS, n_partials, HIDDEN)
            e = torch.relu(linear(hidden[-1]))  # (n_partials, EMBEDDING_DIM)
        e = e / torch.linalg.norm(e, dim=1, keepdim=True).clamp_min(1e-8)
        raw = e.mean(dim=0).numpy()
        return (raw / max(float(np.linalg.norm(raw)), 1e-8)).astype(np.float32)

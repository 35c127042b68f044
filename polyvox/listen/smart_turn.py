"""Smart Turn v3.2: does the user's turn, heard so far, sound finished?

The model (pipecat's BSD-2-Clause `smart-turn-v3.2-cpu.onnx`, a Whisper-tiny encoder + a classifier,
int8) reads Whisper's 80-bin log-mel of exactly the last 8 s of 16 kHz audio and returns the
probability that the speaker has finished their turn. Shorter audio is padded with zeros *in front*
(the turn's end always sits at the right edge of the window). Only the weights are taken from
pipecat; the features are computed here in numpy and were checked against transformers'
`WhisperFeatureExtractor(chunk_length=8)` (max difference 1.2e-7; tests/test_smart_turn.py).

    turn = SmartTurn.load()                       # store copy, sha256-verified (or POLYVOX_TURN_MODEL)
    p = turn.complete_probability(audio_16k)      # (n,) float32 -> P(turn complete) in [0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.errors import ModelError

MODEL = "smart-turn-v3.2"  # name in polyvox.models.registry
REPAIR = f"run: polyvox setup --model {MODEL} --force"

WINDOW_SECONDS = 8  # the model hears the last 8 s of the turn
N_SAMPLES = WINDOW_SECONDS * SAMPLE_RATE  # 128,000 samples in the window
N_FFT = 400  # 25 ms analysis frame (Whisper)
HOP = 160  # 10 ms between frames (Whisper)
N_MELS = 80  # mel bins (Whisper tiny/base)
N_FRAMES = N_SAMPLES // HOP  # 800 frames: the centred STFT gives 801, Whisper drops the last
LOG_FLOOR = 1e-10  # mel power floor before log10
DYNAMIC_RANGE = 8.0  # log10 units kept below the loudest bin (80 dB), as Whisper does
NORM_EPS = 1e-7  # variance floor of the waveform normalisation


@dataclass(frozen=True)
class SmartTurnConfig:
    """How to run the model."""

    model_path: Path | None = None  # the .onnx file; None = the store copy (or POLYVOX_TURN_MODEL)
    threads: int = 1  # onnxruntime intra-op threads: one decision is ~tens of ms, keep the other core free


# -- features ---------------------------------------------------------------------------------------


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mel per 200 Hz) below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    step = np.log(6.4) / 27.0  # log-frequency width of one mel above 1 kHz
    return np.where(f < 1000.0, f * 3.0 / 200.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / step)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    step = np.log(6.4) / 27.0
    return np.where(m < 15.0, m * 200.0 / 3.0, 1000.0 * np.exp((m - 15.0) * step))


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """(N_FFT // 2 + 1, N_MELS) = (201, 80) float64: Slaney-normalised triangles from 0 to 8 kHz."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))  # (82,)
    bins = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)  # (201,) centre frequency of each FFT bin
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]  # (80,) each
    rising = (bins[:, None] - lo) / (mid - lo)  # (201, 80)
    falling = (hi - bins[:, None]) / (hi - mid)
    tri = np.clip(np.minimum(rising, falling), 0.0, None)
    return tri * (2.0 / (hi - lo))  # equal area per filter


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    """(N_FFT,) periodic Hann window (torch.hann_window's default)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)


def fit_window(audio: np.ndarray) -> np.ndarray:
    """(n,) 16 kHz -> (N_SAMPLES,) float32: the last 8 s, or zeros in front of shorter audio."""
    x = np.asarray(audio, np.float32).reshape(-1)
    if len(x) >= N_SAMPLES:
        return x[-N_SAMPLES:].copy()
    return np.concatenate([np.zeros(N_SAMPLES - len(x), np.float32), x])


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(n,) float 16 kHz audio of the turn -> (N_MELS, N_FRAMES) = (80, 800) float32 model input.

    The window (`fit_window`) is normalised to zero mean and unit variance (zeros in front included,
    as the model was trained), framed by a centred STFT (reflect padding, periodic Hann, 400/160),
    turned into mel power, log10, floored 8 decades under its peak and scaled as Whisper does.
    """
    x = fit_window(audio)
    x = (x - x.mean()) / np.sqrt(x.var() + NORM_EPS)  # float32, like the reference
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")  # (N_SAMPLES + N_FFT,)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]  # (801, 400)
    power = np.abs(np.fft.rfft(frames * _hann(), axis=-1)) ** 2  # (801, 201)
    mel = np.log10(np.maximum(power @ mel_filters(), LOG_FLOOR))[:N_FRAMES]  # (800, 80)
    mel = np.maximum(mel, mel.max() - DYNAMIC_RANGE)
    return ((mel + 4.0) / 4.0).T.astype(np.float32)  # (80, 800)


# -- the model --------------------------------------------------------------------------------------


class SmartTurn:
    """The loaded model. `complete_probability` is safe to call from many threads at once (one
    onnxruntime session, run() is thread-safe; the features keep no state)."""

    def __init__(self, session, path: Path) -> None:
        self._session = session
        self.path = path
        inputs = [i.name for i in session.get_inputs()]
        if inputs != ["input_features"]:
            raise ModelError(f"{path} is not a Smart Turn v3 model (inputs {inputs})", REPAIR)
        self._output = session.get_outputs()[0].name

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int = 1) -> SmartTurn:
        """Load from `path`, else POLYVOX_TURN_MODEL, else the store (sha256-verified; a missing or
        corrupt file raises ModelError with the command that repairs it)."""
        import onnxruntime as ort

        if path is None:
            from polyvox.models import default_store

            path = default_store().path(MODEL)
        p = Path(path).expanduser()
        if not p.is_file():
            raise ModelError(f"Smart Turn model not found: {p}", f"run: polyvox setup --model {MODEL}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            session = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail / InvalidProtobuf types
            raise ModelError(f"cannot load the Smart Turn model {p}: {str(e).splitlines()[0][:160]}", REPAIR) from e
        return cls(session, p)

    @classmethod
    def from_config(cls, config: SmartTurnConfig) -> SmartTurn:
        return cls.load(config.model_path, config.threads)

    def complete_probability(self, audio_16k: np.ndarray) -> float:
        """audio_16k: (n,) float32 in [-1, 1], 16 kHz, the user's turn so far (its start, a little
        before the first word, to now; the last 8 s are used) -> P(the turn is complete), 0..1."""
        feats = log_mel(audio_16k)[None]  # (1, 80, 800)
        (out,) = self._session.run([self._output], {"input_features": feats})  # (1, 1), already a sigmoid
        return float(out.reshape(-1)[0])

    def __call__(self, audio_16k: np.ndarray) -> float:
        return self.complete_probability(audio_16k)

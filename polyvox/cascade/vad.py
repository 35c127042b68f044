"""Voice activity detection with Silero VAD v6 (ONNX; no torch/torchaudio needed).

The model scores 32 ms windows (512 samples at 16 kHz, plus 64 samples of context from the window
before) and carries a recurrent state (2, batch, 128). `SileroVAD.probabilities` scores a whole
signal; `VadStream` does the same incrementally with explicit state, so streaming == batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from polyvox.audio import SAMPLE_RATE

WINDOW = 512  # samples per decision at 16 kHz = 32 ms
CONTEXT = 64  # samples of the previous window the model sees (silero v5+ convention)
WINDOW_MS = WINDOW * 1000 / SAMPLE_RATE  # 32.0


@dataclass(frozen=True)
class VadOptions:
    """Segmenting speech from window probabilities."""

    threshold: float = 0.5  # a window is speech when its probability is >= threshold
    min_speech_ms: float = 200.0  # shorter bursts are dropped (clicks, coughs)
    min_silence_ms: float = 500.0  # silence this long ends a segment
    speech_pad_ms: float = 100.0  # kept around each segment so word edges are not clipped


@dataclass(frozen=True)
class Segment:
    """A stretch of speech, in samples at 16 kHz."""

    start: int
    end: int


@dataclass
class VadState:
    """Recurrent state of one stream: model state, 64-sample context, samples not yet scored."""

    rnn: np.ndarray = field(default_factory=lambda: np.zeros((2, 1, 128), np.float32))
    context: np.ndarray = field(default_factory=lambda: np.zeros(CONTEXT, np.float32))
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


class SileroVAD:
    """Silero VAD over ONNX Runtime; one session shared by all streams (run() is thread-safe)."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        import onnxruntime as ort

        if model_path is None:
            from polyvox.models import default_store

            model_path = default_store().path("silero-vad")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])
        names = {i.name for i in self._session.get_inputs()}
        if names != {"input", "state", "sr"}:
            raise ValueError(f"unexpected silero-vad inputs {sorted(names)} (want input, state, sr)")
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    def score(self, window: np.ndarray, state: VadState) -> float:
        """window: (512,) float32 -> speech probability; advances `state`."""
        x = np.concatenate([state.context, window.astype(np.float32, copy=False)])[None, :]  # (1, 576)
        prob, rnn = self._session.run(None, {"input": x, "state": state.rnn, "sr": self._sr})
        state.rnn = rnn
        state.context = window[-CONTEXT:].copy()
        return float(prob[0, 0])

    def stream(self) -> VadStream:
        return VadStream(self)

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """audio: (n,) float32 16 kHz -> (ceil(n / 512),) speech probability per 32 ms window."""
        s = self.stream()
        probs = s.feed(audio)
        return np.concatenate([probs, s.flush()])

    def segments(self, audio: np.ndarray, options: VadOptions | None = None) -> list[Segment]:
        """Speech segments of a whole signal (16 kHz)."""
        return segments_from_probabilities(self.probabilities(audio), len(audio), options or VadOptions())


class VadStream:
    """Incremental VAD for one audio stream: feed any number of samples, get one probability per window."""

    def __init__(self, vad: SileroVAD) -> None:
        self.vad = vad
        self.state = VadState()

    def reset(self) -> None:
        self.state = VadState()

    def feed(self, audio: np.ndarray) -> np.ndarray:
        """audio: (n,) float32 16 kHz -> (k,) probabilities for the k whole windows now complete."""
        buf = np.concatenate([self.state.pending, np.asarray(audio, np.float32)])
        k = len(buf) // WINDOW
        out = np.empty(k, np.float32)
        for i in range(k):
            out[i] = self.vad.score(buf[i * WINDOW : (i + 1) * WINDOW], self.state)
        self.state.pending = buf[k * WINDOW :]
        return out

    def flush(self) -> np.ndarray:
        """Score the last partial window (zero-padded), if any."""
        if len(self.state.pending) == 0:
            return np.zeros(0, np.float32)
        tail = np.zeros(WINDOW, np.float32)
        tail[: len(self.state.pending)] = self.state.pending
        self.state.pending = np.zeros(0, np.float32)
        return np.array([self.vad.score(tail, self.state)], np.float32)


def segments_from_probabilities(probs: np.ndarray, n_samples: int, options: VadOptions) -> list[Segment]:
    """Hysteresis segmentation: speech starts at >= threshold, ends after min_silence below threshold-0.15."""
    off = max(options.threshold - 0.15, 0.01)
    min_silence = int(options.min_silence_ms / WINDOW_MS)
    pad = int(options.speech_pad_ms * SAMPLE_RATE / 1000)
    raw: list[tuple[int, int]] = []
    start, quiet = -1, 0
    for i, p in enumerate(probs):
        if start < 0:
            if p >= options.threshold:
                start, quiet = i, 0
        elif p < off:
            quiet += 1
            if quiet >= min_silence:
                raw.append((start, i - quiet + 1))
                start = -1
        else:
            quiet = 0
    if start >= 0:
        raw.append((start, len(probs)))
    min_len = options.min_speech_ms / WINDOW_MS
    out = []
    for a, b in raw:
        if b - a < min_len:
            continue
        out.append(Segment(max(0, a * WINDOW - pad), min(n_samples, b * WINDOW + pad)))
    return out

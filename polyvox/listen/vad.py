"""Voice activity: speech probability per 32 ms window -> speech started / paused / resumed / stopped on a
stream's audio timeline. The one VAD state machine: the server's turn detection (`server_vad`) and the
streaming conversation (polyvox.conversation) both run it.

Two scorers behind one small interface (`SpeechScorer`): `EnergyScorer` (RMS level, no model) and
`SileroScorer` (silero-vad v6 ONNX, loaded once per process as `SileroModel`, state per stream).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from polyvox.audio import SAMPLE_RATE

log = logging.getLogger(__name__)

WINDOW = 512  # samples at 16 kHz: silero's window size
WINDOW_MS = WINDOW * 1000 / SAMPLE_RATE  # 32.0 ms per decision
HYSTERESIS = 0.15  # speech ends below threshold - 0.15 (silero's own neg_threshold rule)


@dataclass(frozen=True)
class VadConfig:
    """Server VAD parameters (protocol names and defaults), plus polyvox's debounce."""

    threshold: float = 0.5  # speech probability that starts speech (0..1)
    prefix_padding_ms: int = 300  # audio kept before the detected start
    silence_duration_ms: int = 500  # silence that ends speech
    min_speech_ms: int = 96  # 3 windows: speech shorter than this (a click, a knock) never starts a turn
    # a silence this long inside speech is a pause: end-of-turn models are asked, a reply may be prepared
    pause_ms: int = 192


class SpeechScorer(ABC):
    """Scores 16 kHz windows one by one: probability of speech in [0, 1]. One instance per stream."""

    @abstractmethod
    def __call__(self, window: np.ndarray) -> float:
        """window: (WINDOW,) float32 at 16 kHz -> P(speech)."""


class EnergyScorer(SpeechScorer):
    """RMS level mapped linearly from `floor_dbfs` (0.0) to `ceil_dbfs` (1.0): threshold 0.5 = -40 dBFS."""

    def __init__(self, floor_dbfs: float = -65.0, ceil_dbfs: float = -15.0) -> None:
        self.floor, self.span = floor_dbfs, ceil_dbfs - floor_dbfs

    def __call__(self, window: np.ndarray) -> float:
        rms = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
        dbfs = 20.0 * np.log10(max(rms, 1e-9))
        return float(np.clip((dbfs - self.floor) / self.span, 0.0, 1.0))


class SileroModel:
    """The silero-vad model, shared by every stream (polyvox.cascade.vad.SileroVAD; run() is thread-safe)."""

    def __init__(self, path: str) -> None:
        from polyvox.cascade.vad import SileroVAD

        self.vad = SileroVAD(path)

    @classmethod
    def load_default(cls) -> SileroModel | None:
        """The model from polyvox's store, or None (with a log line) when it is not installed."""
        try:
            from polyvox.models import default_store

            return cls(str(default_store().path("silero-vad")))
        except Exception as e:  # missing/corrupt model or onnxruntime trouble: fall back to energy
            log.warning("silero-vad unavailable (%s); server VAD uses the energy detector", e)
            return None

    def scorer(self) -> SileroScorer:
        return SileroScorer(self)


class SileroScorer(SpeechScorer):
    """Per-stream silero state: the recurrent state (2, 1, 128) and the last 64 samples of context."""

    def __init__(self, model: SileroModel) -> None:
        from polyvox.cascade.vad import VadState

        self.model = model
        self.state = VadState()

    def __call__(self, window: np.ndarray) -> float:
        return self.model.vad.score(window, self.state)


@dataclass(frozen=True)
class VadEvent:
    """Speech started / paused / resumed / stopped at `audio_ms` on the input timeline (ms of audio fed).

    "paused": `pause_ms` of silence inside speech (audio_ms: where the silence began, i.e. the end of the last
    voiced window); "resumed": speech again after a pause, before it stopped.
    """

    kind: Literal["started", "paused", "resumed", "stopped"]
    audio_ms: int


class TurnDetector:
    """Feeds 24 kHz input through a resampler into 32 ms windows and a start/stop state machine.

    Started is reported at the first speech window minus `prefix_padding_ms`; stopped once
    `silence_duration_ms` of windows score below threshold - HYSTERESIS, at the end of that silence
    (as the protocol's `audio_end_ms` does).
    """

    def __init__(self, config: VadConfig, scorer: SpeechScorer, input_rate: int, origin_ms: float = 0.0) -> None:
        import soxr

        self.config = config
        self.scorer = scorer
        self.resampler = (
            soxr.ResampleStream(input_rate, SAMPLE_RATE, 1, dtype="float32", quality="LQ")
            if input_rate != SAMPLE_RATE
            else None
        )
        self.pending = np.zeros(0, np.float32)  # 16 kHz samples not yet a whole window
        self.t_ms = origin_ms  # session time at the start of the next window
        self.speaking = False
        self.paused = False  # a "paused" was reported for the silence now running
        self.speech_run_ms = 0.0  # consecutive speech before a start is declared
        self.run_start_ms = 0.0
        self.silence_ms = 0.0  # consecutive silence while speaking
        self.last_speech_ms = origin_ms  # end of the last window scored as speech while speaking

    def reset_speech(self) -> None:
        """Forget the speech being tracked (its turn was ended by something else): the next speech starts anew."""
        self.speaking, self.paused, self.speech_run_ms, self.silence_ms = False, False, 0.0, 0.0

    def feed(self, samples: np.ndarray) -> list[VadEvent]:
        """samples: (n,) float32 at the input rate -> the events their windows produce, in order."""
        x = samples.astype(np.float32, copy=False)
        if self.resampler is not None:
            x = self.resampler.resample_chunk(x)
        buf = np.concatenate([self.pending, x]) if len(self.pending) else x
        n = len(buf) // WINDOW
        events: list[VadEvent] = []
        for i in range(n):
            p = self.scorer(buf[i * WINDOW : (i + 1) * WINDOW])
            if ev := self._step(p):
                events.append(ev)
            self.t_ms += WINDOW_MS
        self.pending = buf[n * WINDOW :].copy()
        return events

    def _step(self, p: float) -> VadEvent | None:
        c = self.config
        if not self.speaking:
            if p < c.threshold:
                self.speech_run_ms = 0.0
                return None
            if self.speech_run_ms == 0.0:
                self.run_start_ms = self.t_ms
            self.speech_run_ms += WINDOW_MS
            if self.speech_run_ms < max(c.min_speech_ms, WINDOW_MS):
                return None
            self.speaking, self.silence_ms, self.paused = True, 0.0, False
            self.last_speech_ms = self.t_ms + WINDOW_MS
            return VadEvent("started", max(0, round(self.run_start_ms - c.prefix_padding_ms)))
        if p >= max(c.threshold - HYSTERESIS, 0.01):
            self.silence_ms = 0.0
            self.last_speech_ms = self.t_ms + WINDOW_MS
            if self.paused:
                self.paused = False
                return VadEvent("resumed", round(self.t_ms))
            return None
        self.silence_ms += WINDOW_MS
        if self.silence_ms >= c.silence_duration_ms:
            self.speaking, self.speech_run_ms, self.paused = False, 0.0, False
            return VadEvent("stopped", round(self.t_ms + WINDOW_MS))
        if not self.paused and self.silence_ms >= c.pause_ms:
            self.paused = True
            return VadEvent("paused", round(self.last_speech_ms))
        return None


ScorerFactory = Callable[[], SpeechScorer]


class ScorerSource:
    """Makes a scorer per stream: silero when loaded, else energy. Build once per process."""

    def __init__(self, kind: Literal["auto", "silero", "energy"] = "auto") -> None:
        self.silero = SileroModel.load_default() if kind in ("auto", "silero") else None
        if kind == "silero" and self.silero is None:
            from polyvox.errors import ModelError

            raise ModelError("server VAD 'silero' needs the silero-vad model", "run: polyvox setup --model silero-vad")
        self.kind = "silero" if self.silero else "energy"

    def __call__(self) -> SpeechScorer:
        return self.silero.scorer() if self.silero else EnergyScorer()

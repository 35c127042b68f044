"""Emotion in: the user's emotion from prosody (how it was said) and keywords (what was said).

    rec = EmotionRecognizer()                                  # loads data/emotion_model.json (~10 kB)
    est = rec.predict(audio_16k, "I miss him so much", "en")   # EmotionEstimate(label="sadness", ...)

Model: a small network in numpy (weights trained by scripts/train_emotion.py on generated speech,
see corpus.py and docs/emotion.md). Inputs: the ProsodyFeatures of the utterance minus the speaker's
baseline (their running mean, `ProsodyBaseline`; for a new speaker see below), then,
for the "prosody+words" model, the lexical vector of the transcript. A speaker heard for the first
time has no baseline: their pitch level and loudness then say who they are and how far they sit from
the microphone (a woman's voice is ~7 semitones above the population's mean) rather than how they
feel, so the model file can name levels (`unknown_speaker_levels`) that are taken as the turn's own
(`NewSpeakerBaseline`); the other features are compared with those of the training voices most
like theirs (`VoicePrototypes`). Cost: ~10 ms per second of
audio (pitch tracking dominates), the network itself is microseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from polyvox.affect.features import PARSELMOUTH_EXTRA, PARSELMOUTH_FEATURE, ProsodyFeatures
from polyvox.affect.labels import EMOTIONS, NEUTRAL, Emotion
from polyvox.affect.lexicon import lexical_vector
from polyvox.audio import SAMPLE_RATE
from polyvox.errors import ModelError, require

MODEL_FILE = "emotion_model.json"
# Model inputs: every prosody feature but the duration (it measures the sentence, not the speaker).
PROSODY_INPUTS = tuple(n for n in ProsodyFeatures.names() if n != "duration_s")
# The share of user turns that sound neutral. The training corpus acts every label equally often
# (1/9 each); conversation is mostly neutral, and a recogniser tuned to the corpus hears an emotion in
# most neutral turns (docs/emotion.md). `EmotionRecognizer(neutral_prior=None)` keeps the corpus's.
NEUTRAL_PRIOR = 0.5
BASELINE_MAX_TURNS = 20  # the running mean forgets older turns beyond this (an exponential average)


VOICE_FEATURES = ("f0_mean_st", "tilt_db", "voiced_fraction")  # what a voice is matched on (see VoicePrototypes)


@dataclass(frozen=True)
class VoicePrototypes:
    """The training speakers' mean prosody. A new speaker is compared with the `k` training voices most
    like theirs (pitch level, spectral tilt, voicing), not with the population's mean: a Kokoro voice
    measured against a population of mostly espeak-ng voices sounds slow and dark, i.e. sad."""

    means: np.ndarray  # (n_speakers, n_features): each training speaker's mean, ProsodyFeatures.names() order
    k: int = 5

    @cached_property
    def _voices(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        """(VOICE_FEATURES' columns, the speakers' voices (n_speakers, n_voice), their spread (n_voice,))."""
        cols = [ProsodyFeatures.names().index(n) for n in VOICE_FEATURES]
        voice = self.means[:, cols]
        return cols, voice, voice.std(axis=0) + 1e-6

    def reference(self, features: ProsodyFeatures, exclude: int | None = None) -> ProsodyFeatures:
        """The mean of the k nearest speakers' means (`exclude`: a row of `means` to leave out)."""
        cols, voice, spread = self._voices
        d = (((voice - features.vector()[cols]) / spread) ** 2).sum(axis=1)
        if exclude is not None:
            d[exclude] = np.inf
        nearest = np.argsort(d)[: self.k]
        return ProsodyFeatures.from_vector(self.means[nearest].mean(axis=0))

    def to_json(self) -> dict[str, object]:
        return {"k": self.k, "means": np.round(self.means, 4).tolist()}

    @classmethod
    def from_json(cls, d: dict) -> VoicePrototypes:
        return cls(np.array(d["means"], dtype=np.float64), int(d["k"]))


@dataclass(frozen=True)
class NewSpeakerBaseline:
    """What the turn of a speaker without earlier turns is compared with: the mean of the training voices
    most like theirs (`prototypes`; without them the population's mean), but with `levels` (the features
    that tell the voice and the microphone rather than the emotion) taken as the turn's own."""

    population: ProsodyFeatures  # the training speakers' mean
    prototypes: VoicePrototypes | None = None
    levels: tuple[str, ...] = ()  # names among PROSODY_INPUTS

    def __call__(self, features: ProsodyFeatures, exclude: int | None = None) -> ProsodyFeatures:
        """The baseline for `features` (`exclude`: a prototype speaker to leave out, e.g. the turn's own)."""
        reference = self.prototypes.reference(features, exclude) if self.prototypes else self.population
        return replace(reference, **{n: getattr(features, n) for n in self.levels})


def with_prior(probs: np.ndarray, trained: np.ndarray, neutral_prior: float | None) -> np.ndarray:
    """(batch, n_labels) probabilities under the label prior of the corpus (`trained`, (n_labels,)) ->
    under a prior of `neutral_prior` for neutral and the rest shared equally (None: unchanged)."""
    if neutral_prior is None:
        return probs
    target = np.full(len(EMOTIONS), (1.0 - neutral_prior) / (len(EMOTIONS) - 1))
    target[EMOTIONS.index(NEUTRAL)] = neutral_prior
    q = probs * (target / trained)
    return q / q.sum(axis=-1, keepdims=True)


def prosody_input(features: ProsodyFeatures, baseline: ProsodyFeatures) -> np.ndarray:
    """(len(PROSODY_INPUTS),) float64: the utterance's prosody relative to the speaker's baseline."""
    return np.array([getattr(features, n) - getattr(baseline, n) for n in PROSODY_INPUTS], dtype=np.float64)


@dataclass
class ProsodyBaseline:
    """A speaker's usual prosody: the running mean of their turns' features (keep one per speaker id).

    Call `predict(..., baseline=b.mean)` first, then `b.update(est.features)`, so a turn is compared
    with the speaker's earlier turns. Serialisable for cross-session memory.
    """

    count: int = 0  # turns seen (capped at BASELINE_MAX_TURNS)
    sums: list[float] = field(default_factory=lambda: [0.0] * len(ProsodyFeatures.names()))

    def update(self, features: ProsodyFeatures) -> None:
        if features.duration_s <= 0:  # silence carries no prosody
            return
        if self.count >= BASELINE_MAX_TURNS:  # keep the sums those of BASELINE_MAX_TURNS turns
            self.sums = [s * (BASELINE_MAX_TURNS - 1) / BASELINE_MAX_TURNS for s in self.sums]
            self.count = BASELINE_MAX_TURNS - 1
        self.sums = [s + v for s, v in zip(self.sums, features.vector().tolist(), strict=True)]
        self.count += 1

    @property
    def mean(self) -> ProsodyFeatures | None:
        """The speaker's mean prosody, or None before the first turn."""
        return ProsodyFeatures.from_vector(np.array(self.sums) / self.count) if self.count else None

    def to_json(self) -> dict[str, object]:
        return {"count": self.count, "sums": [round(s, 4) for s in self.sums]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ProsodyBaseline:
        return cls(int(data["count"]), [float(s) for s in data["sums"]])  # type: ignore[arg-type, union-attr]


@dataclass(frozen=True)
class EmotionEstimate:
    """The recognised emotion of one user turn."""

    label: Emotion  # the most probable of EMOTIONS
    confidence: float  # its probability, 0..1 (chance is 1/9)
    probs: dict[str, float]  # every label's probability, summing to 1
    features: ProsodyFeatures  # the turn's prosody (reply_style mirrors it; feed it to ProsodyBaseline)
    source: Literal["prosody", "prosody+words"]  # which model decided (words need a transcript)

    def as_trace(self) -> dict[str, object]:
        """A compact JSON-able view for TurnResult.trace["emotion"]."""
        top = sorted(self.probs.items(), key=lambda kv: -kv[1])[:3]
        return {"label": self.label, "confidence": round(self.confidence, 3), "source": self.source,
                "top": {k: round(v, 3) for k, v in top}, "prosody": self.features.as_dict()}  # fmt: skip


@dataclass(frozen=True)
class Network:
    """Standardise, then dense layers with ReLU between them, then softmax (one layer = logistic regression)."""

    mean: np.ndarray  # (n_in,)
    std: np.ndarray  # (n_in,)
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # ((W (n_out, n_in), b (n_out,)), ...)

    def probs(self, x: np.ndarray) -> np.ndarray:
        """x: (batch, n_in) -> (batch, n_classes) probabilities."""
        h = (x - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i + 1 < len(self.layers):
                h = np.maximum(h, 0.0)
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return e / e.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, object]:
        r = lambda a: np.round(a, 5).tolist()  # noqa: E731
        return {"mean": r(self.mean), "std": r(self.std), "layers": [{"W": r(w), "b": r(b)} for w, b in self.layers]}

    @classmethod
    def from_json(cls, d: dict) -> Network:
        layers = tuple((np.array(layer["W"]), np.array(layer["b"])) for layer in d["layers"])
        return cls(np.array(d["mean"]), np.array(d["std"]), layers)


def default_model_path() -> Path:
    return Path(str(resources.files("polyvox.affect") / "data" / MODEL_FILE))


class EmotionRecognizer:
    """Prosody (+ transcript keywords) -> one of EMOTIONS with a confidence. Thread-safe after construction."""

    def __init__(self, model_path: str | Path | None = None, neutral_prior: float | None = NEUTRAL_PRIOR) -> None:
        """model_path: a model file from scripts/train_emotion.py (None: the packaged one).
        neutral_prior: how often users sound neutral, 0 < p < 1 (None: as often as in the corpus)."""
        if neutral_prior is not None and not 0.0 < neutral_prior < 1.0:
            raise ValueError(f"neutral_prior must be between 0 and 1 (exclusive), got {neutral_prior}")
        require("parselmouth", PARSELMOUTH_FEATURE, PARSELMOUTH_EXTRA)  # fail here, not mid-turn
        path = Path(model_path) if model_path else default_model_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(
                f"cannot read the emotion model {path}: {e}", "run: python scripts/train_emotion.py"
            ) from e
        if tuple(data["emotions"]) != EMOTIONS or tuple(data["prosody_inputs"]) != PROSODY_INPUTS:
            raise ModelError(f"{path} was trained for other labels or features", "run: python scripts/train_emotion.py")
        prototypes = data.get("voice_prototypes")  # absent in model files before version 2
        # Model files before version 2 compared unknown speakers' levels with the population's too.
        levels = tuple(data.get("unknown_speaker_levels", ()))
        if not set(levels) <= set(PROSODY_INPUTS):
            raise ModelError(f"{path} names unknown prosody features", "run: python scripts/train_emotion.py")
        self.new_speaker = NewSpeakerBaseline(
            ProsodyFeatures(**data["population_baseline"]),
            VoicePrototypes.from_json(prototypes) if prototypes else None,
            levels,
        )
        self.prosody_model = Network.from_json(data["models"]["prosody"])
        self.full_model = Network.from_json(data["models"]["prosody+words"])
        self.metrics: dict = data.get("metrics", {})
        self.label_prior = np.array(data.get("label_prior", [1.0 / len(EMOTIONS)] * len(EMOTIONS)))
        self.neutral_prior = neutral_prior

    def predict(
        self,
        audio: np.ndarray,
        transcript: str = "",
        language: str = "en",
        baseline: ProsodyFeatures | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> EmotionEstimate:
        """audio: (n,) float32 mono (the VAD-cropped user speech) -> the user's emotion.

        transcript/language: the ASR result ("" = prosody only). baseline: the speaker's mean prosody
        (`ProsodyBaseline.mean`); None (a new speaker) compares with the training voices most like
        theirs, which is less accurate (`NewSpeakerBaseline`).
        """
        features = ProsodyFeatures.from_audio(audio, sample_rate)
        return self.predict_features(features, transcript, language, baseline)

    def predict_features(
        self, features: ProsodyFeatures, transcript: str = "", language: str = "en",
        baseline: ProsodyFeatures | None = None,
    ) -> EmotionEstimate:  # fmt: skip
        """As `predict`, from features already measured."""
        if features.duration_s <= 0:  # nothing voiced: no evidence either way
            probs = {e: float(e == NEUTRAL) for e in EMOTIONS}
            return EmotionEstimate(NEUTRAL, 1.0, probs, features, "prosody")
        if baseline is None:
            baseline = self.new_speaker(features)
        x = prosody_input(features, baseline)
        if transcript.strip():
            p = self.full_model.probs(np.concatenate([x, lexical_vector(transcript, language)])[None])[0]
            source: Literal["prosody", "prosody+words"] = "prosody+words"
        else:
            p, source = self.prosody_model.probs(x[None])[0], "prosody"
        p = with_prior(p, self.label_prior, self.neutral_prior)
        i = int(np.argmax(p))
        return EmotionEstimate(EMOTIONS[i], float(p[i]), dict(zip(EMOTIONS, p.tolist(), strict=True)), features, source)

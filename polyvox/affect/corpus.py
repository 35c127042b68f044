"""Generated emotional speech: the training and test data of the emotion recogniser.

No emotional-speech corpus or trained speech-emotion model is available offline, so polyvox acts the
emotions itself: espeak-ng (formant voices, 11 variants) and Kokoro-82M (5 voice styles) speak the
sentences of texts.py with per-emotion prosody (`ACTING`: rate, pitch, loudness, pitch range, pauses,
after the acoustic profiles summarised by Juslin & Laukka 2003), randomly varied per utterance, and
with a random per-voice pitch, rate and microphone-gain offset. The test split holds out voices
(TEST_VOICES) and sentences (texts.py), so a score on it is on unseen speakers and unseen words.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from xml.sax.saxutils import escape

import numpy as np

from polyvox.affect.labels import EMOTIONS, NEUTRAL
from polyvox.affect.texts import CORPUS_LANGUAGES, EMOTION_TEXTS, NEUTRAL_QUESTIONS, NEUTRAL_TEXTS
from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, resample

if TYPE_CHECKING:
    from polyvox.cascade.tts import KokoroTTS


@dataclass(frozen=True)
class Acting:
    """How an emotion is acted, relative to the voice's neutral delivery."""

    speed: float  # speaking-rate multiplier
    pitch_st: float  # pitch shift, semitones
    energy_db: float  # loudness change, dB
    range: str  # espeak-ng SSML pitch range: x-low | low | medium | high | x-high (Kokoro ignores it)
    pause_ms: float  # silence after a sentence (half after a comma)


ACTING: dict[str, Acting] = {
    "neutral": Acting(1.00, 0.0, 0.0, "medium", 180),
    "joy": Acting(1.12, 3.0, 3.0, "x-high", 120),
    "sadness": Acting(0.78, -2.5, -6.0, "x-low", 450),
    "anger": Acting(1.15, 1.5, 7.0, "high", 100),
    "fear": Acting(1.25, 4.0, -2.0, "low", 220),
    "surprise": Acting(1.00, 5.0, 3.0, "x-high", 200),
    "disgust": Acting(0.85, -2.0, -1.0, "low", 320),
    "trust": Acting(0.90, -1.0, -3.0, "low", 260),
    "anticipation": Acting(1.08, 1.5, 1.0, "high", 150),
}
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
KOKORO_CORPUS_LANGUAGES = ("en", "es", "fr", "hi")  # de is espeak-only in polyvox (tts/languages.py)
TEST_VOICES = frozenset({"m3", "m7", "f3", "f5", "jf_gongitsune", "jf_tebukuro"})  # held out speakers
NEUTRAL_CONTENT_P = 0.4  # share of emotional renditions that speak a neutral sentence (prosody is the only cue)
NEUTRAL_QUESTION_P = 0.4  # share of neutral sentences that are questions (drawn apart: the rest stays as it was)
ESPEAK_WPM = 175  # espeak-ng's default rate = speed 1.0
ESPEAK_ST_PER_P = 0.155  # espeak-ng -p: semitones per unit around the default 50 (measured)
SILENCE_S = 0.25  # padding before and after each utterance, as after a VAD crop
NOISE_DBFS = -66.0  # background noise floor added to every utterance


@dataclass(frozen=True)
class Rendition:
    """One generated utterance: what is said, by whom, how."""

    text: str
    language: str  # ISO 639-1
    emotion: str  # one of EMOTIONS
    engine: Literal["espeak", "kokoro"]
    voice: str  # espeak variant (ESPEAK_VARIANTS) or Kokoro voice (KOKORO_VOICES)
    speed: float
    pitch_st: float
    energy_db: float  # acted loudness plus the voice's microphone gain
    range: str
    pause_ms: float
    split: Literal["train", "test"]
    neutral_content: bool  # the sentence itself carries no emotion
    seed: int  # noise seed

    @property
    def speaker(self) -> str:
        """The speaker this utterance belongs to (its prosody baseline is the mean over the speaker)."""
        return f"{self.engine}:{self.voice}:{self.language}"


def plan(seed: int = 0, train_per_cell: int = 2, test_per_cell: int = 1) -> list[Rendition]:
    """Every utterance of the corpus, deterministic for `seed`.

    A cell is (language, voice, emotion); espeak cells get `train_per_cell` renditions for training
    voices, `test_per_cell` for held-out ones; Kokoro cells (slower to render) one each.
    """
    rng = np.random.default_rng(seed)
    questions = np.random.default_rng([seed, 1])  # its own stream: adding questions changed no other rendition
    out: list[Rendition] = []
    for lang in CORPUS_LANGUAGES:
        voices = [("espeak", v) for v in ESPEAK_VARIANTS]
        if lang in KOKORO_CORPUS_LANGUAGES:
            voices += [("kokoro", v) for v in KOKORO_VOICES]
        for engine, voice in voices:
            split: Literal["train", "test"] = "test" if voice in TEST_VOICES else "train"
            base_pitch, base_gain, base_speed = rng.normal(0, 1.5), rng.uniform(-8, 4), np.exp(rng.normal(0, 0.05))
            n = 1 if engine == "kokoro" else (train_per_cell if split == "train" else test_per_cell)
            for emotion in EMOTIONS:
                for _ in range(n):
                    text, neutral_content = _pick_text(rng, lang, emotion, split, questions)
                    a = ACTING[emotion]
                    out.append(
                        Rendition(
                            text=text,
                            language=lang,
                            emotion=emotion,
                            engine=engine,  # type: ignore[arg-type]
                            voice=voice,
                            speed=float(base_speed * a.speed * np.exp(rng.normal(0, 0.06))),
                            pitch_st=float(base_pitch + a.pitch_st + rng.normal(0, 0.8)),
                            energy_db=float(base_gain + a.energy_db + rng.normal(0, 1.5)),
                            range=a.range,
                            pause_ms=float(a.pause_ms * np.exp(rng.normal(0, 0.2))),
                            split=split,
                            neutral_content=neutral_content,
                            seed=int(rng.integers(1 << 31)),
                        )
                    )
    return out


def _pick_text(
    rng: np.random.Generator, lang: str, emotion: str, split: str, questions: np.random.Generator
) -> tuple[str, bool]:
    """(text, neutral content) of one rendition; `questions` decides which neutral sentences are questions."""
    neutral_ids = (3,) if split == "test" else (0, 1, 2)
    emotion_ids = (2,) if split == "test" else (0, 1)
    if emotion == NEUTRAL or rng.random() < NEUTRAL_CONTENT_P:
        statement = NEUTRAL_TEXTS[lang][int(rng.choice(neutral_ids))]  # drawn either way: `rng` stays in step
        if questions.random() < NEUTRAL_QUESTION_P:
            return NEUTRAL_QUESTIONS[lang][2 if split == "test" else int(questions.integers(2))], True
        return statement, True
    return EMOTION_TEXTS[lang][emotion][int(rng.choice(emotion_ids))], False


def render(r: Rendition, kokoro: KokoroTTS | None = None) -> np.ndarray:
    """The utterance as (n,) float32 at 16 kHz, padded with SILENCE_S of noise floor on both sides."""
    if r.engine == "kokoro":
        from polyvox.cascade.tts import KokoroTTS, Prosody

        tts = kokoro or KokoroTTS()
        x = tts.synthesize(r.text, r.language, r.voice, Prosody(r.speed, r.pitch_st, 0.0, r.pause_ms))
        x = resample(x, OUTPUT_SAMPLE_RATE, SAMPLE_RATE)
    else:
        x = _espeak(r)
    x = _normalise(x) * np.float32(10 ** (r.energy_db / 20))
    pad = np.zeros(round(SILENCE_S * SAMPLE_RATE), np.float32)
    x = np.concatenate([pad, x, pad])
    noise = np.random.default_rng(r.seed).normal(0, 10 ** (NOISE_DBFS / 20), len(x)).astype(np.float32)
    return np.clip(x + noise, -1.0, 1.0)


def _normalise(x: np.ndarray, target_dbfs: float = -23.0) -> np.ndarray:
    """Scale to a common speech level first, so loudness differences are the acted ones only."""
    rms = float(np.sqrt(np.mean(x**2))) if len(x) else 0.0
    return (x * (10 ** (target_dbfs / 20) / rms)).astype(np.float32) if rms > 0 else x


def _espeak(r: Rendition) -> np.ndarray:
    """espeak-ng with SSML (pitch range, pauses as <break>), rate -s and pitch -p: (n,) float32 at 16 kHz."""
    from polyvox.cascade.tts import split_clauses
    from polyvox.cascade.tts.espeak import find_espeak, read_wav
    from polyvox.cascade.tts.languages import espeak_voice

    parts = []
    for c in split_clauses(r.text):
        pause = r.pause_ms if c.sentence_end else r.pause_ms / 2
        parts.append(f'{escape(c.text + c.punct)}<break time="{pause:.0f}ms"/>')
    ssml = f'<speak><prosody range="{r.range}">{" ".join(parts)}</prosody></speak>'
    wpm = int(np.clip(ESPEAK_WPM * r.speed, 80, 450))
    pitch = int(np.clip(50 + r.pitch_st / ESPEAK_ST_PER_P, 0, 99))
    voice = f"{espeak_voice(r.language)}+{r.voice}"
    cmd = [find_espeak(), "-m", "--stdout", "-v", voice, "-s", str(wpm), "-p", str(pitch), "--stdin"]
    out = subprocess.run(cmd, input=ssml.encode("utf-8"), capture_output=True, check=True, timeout=60).stdout
    x, sr = read_wav(out)
    return resample(x, sr, SAMPLE_RATE)


@dataclass(frozen=True)
class Passage:
    """A long turn: several utterances of one speaker in one emotion, spoken one after another."""

    parts: tuple[int, ...]  # indices into the plan's renditions, in speaking order (may repeat)
    gaps_s: tuple[float, ...]  # silence between consecutive parts, len(parts) - 1
    seed: int  # noise seed of the gaps


def passages(rs: list[Rendition], seed: int = 1, parts: tuple[int, int] = (3, 6)) -> list[Passage]:
    """One passage per (speaker, emotion) cell of `rs`: 3-6 of the cell's utterances (drawn with
    replacement) with 0.1-0.6 s between them. The recogniser meets 10-60 s turns (read questions,
    long requests) that the 1-3 s utterances alone do not cover: more pauses, a wider pitch range.
    """
    rng = np.random.default_rng(seed)
    cells: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rs):
        cells.setdefault((r.speaker, r.emotion), []).append(i)
    out = []
    for idx in cells.values():
        n = int(rng.integers(parts[0], parts[1] + 1))
        chosen = tuple(int(i) for i in rng.choice(idx, size=n, replace=True))
        gaps = tuple(float(g) for g in rng.uniform(0.1, 0.6, size=n - 1))
        out.append(Passage(chosen, gaps, int(rng.integers(1 << 31))))
    return out


def join(clips: list[np.ndarray], p: Passage) -> np.ndarray:
    """The passage's (n,) float32 16 kHz audio from its parts' `render` output, in order.

    Each part's padding is trimmed and the gaps filled with the noise floor; the ends keep theirs.
    """
    pad = round(SILENCE_S * SAMPLE_RATE)
    noise = np.random.default_rng(p.seed)
    pieces = [clips[0][:-pad]]
    for clip, gap in zip(clips[1:], p.gaps_s, strict=True):
        pieces.append(noise.normal(0, 10 ** (NOISE_DBFS / 20), round(gap * SAMPLE_RATE)).astype(np.float32))
        pieces.append(clip[pad:-pad])
    pieces.append(clips[-1][-pad:])
    return np.concatenate(pieces)

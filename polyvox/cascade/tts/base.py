"""The TTS interface, prosody options and the clause-level audio shaping every engine shares.

Audio out of every engine: mono float32 in [-1, 1] at OUTPUT_SAMPLE_RATE (24 kHz), shape (n_samples,).

An engine implements `check(lang, voice)` and `render(clause, lang, voice, prosody)`, which voices one clause
(at most a sentence) raw. The base class splits text into clauses, trims each rendered clause's
leading/trailing near-silence, applies gain, and appends the pause that follows the clause, so
`synthesize(text) == concatenate(stream(text))` for every engine.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE

FRAME = OUTPUT_SAMPLE_RATE // 100  # 240 samples = 10 ms: the trimming frame
TRIM_REL_DB = -40.0  # a frame this far below the clause's loudest frame counts as silence
TRIM_ABS_DBFS = -55.0  # ...and so does any frame below this absolute level
TRIM_MARGIN = 3 * FRAME  # 30 ms kept before the first and after the last voiced frame
MIN_CLAUSE_CHARS = 8  # a later comma clause shorter than this is voiced with the next one (". Yes, I can.")
MAX_PITCH_SEMITONES = 6.0  # beyond ±6 st a voice sounds like another (cartoonish) speaker


@dataclass(frozen=True)
class Prosody:
    """How to speak: the knobs the "emotion out" feature turns."""

    speed: float = 1.0  # speaking-rate multiplier (1.3 = 30% faster); engines clamp to what they support
    pitch_semitones: float = 0.0  # pitch shift, clamped to ±MAX_PITCH_SEMITONES (formants kept)
    energy_db: float = 0.0  # gain in dB applied to the waveform (clipped at full scale)
    pause_ms: float = 200.0  # silence after a sentence; a comma/clause break gets half of it


DEFAULT_PROSODY = Prosody()


@dataclass(frozen=True)
class Clause:
    """A piece of text voiced in one engine call, with the punctuation that ends it."""

    text: str  # without the final punctuation, stripped
    punct: str  # the ending punctuation in ASCII form (". , ! ? ; :") or "" at the end of text
    sentence_end: bool  # True after . ! ? 。！？ ؟ । (a longer pause follows)


# Sentence enders and clause breaks across scripts, mapped to the ASCII mark Kokoro's vocab knows.
_SENTENCE = {
    ".": ".",
    "!": "!",
    "?": "?",
    "。": ".",
    "！": "!",
    "？": "?",
    "؟": "?",
    "।": ".",
    "॥": ".",
    "…": ".",
    "۔": ".",
    "။": ".",
}
_CLAUSE = {
    ",": ",",
    ";": ";",
    ":": ":",
    "、": ",",
    "，": ",",
    "；": ";",
    "：": ":",
    "،": ",",
    "؛": ";",
    "—": ",",
    "–": ",",
}
_BREAK = re.compile("([" + re.escape("".join(_SENTENCE) + "".join(_CLAUSE)) + r"]+)(?=\s|$|[^\x00-\x7f])")


def split_clauses(text: str) -> list[Clause]:
    """Split at sentence and clause punctuation followed by space, end of text or a non-ASCII char.

    "3.5" and "e.g.x" stay whole (the mark must be followed by a space or end); CJK/Devanagari
    marks are followed directly by text. Comma clauses shorter than MIN_CLAUSE_CHARS join the next,
    except the first clause, which stays alone so the first audio is ready soonest ("Sure," first).
    """
    parts = _BREAK.split(text.strip())
    clauses: list[Clause] = []
    carry = ""
    for i in range(0, len(parts), 2):
        body = (carry + " " + parts[i].strip()).strip() if carry else parts[i].strip()
        marks = parts[i + 1] if i + 1 < len(parts) else ""
        carry = ""
        end = next((_SENTENCE[m] for m in marks if m in _SENTENCE), "")
        punct = end or next((_CLAUSE[m] for m in marks if m in _CLAUSE), "")
        if not any(ch.isalnum() for ch in body):
            continue  # punctuation only ("...", "?!")
        if clauses and punct and not end and len(body) < MIN_CLAUSE_CHARS and i + 2 < len(parts):
            carry = body + marks  # keep the comma inside the next clause's text
            continue
        clauses.append(Clause(body, punct, bool(end)))
    if carry and any(ch.isalnum() for ch in carry):
        clauses.append(Clause(carry, "", False))
    return clauses


def trim_silence(x: np.ndarray) -> np.ndarray:
    """x: (n,) float32 at 24 kHz -> x without leading/trailing near-silence (TRIM_MARGIN kept)."""
    n = len(x) // FRAME
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * FRAME].reshape(n, FRAME) ** 2, axis=1) + 1e-12)  # (n_frames,)
    thresh = max(float(rms.max()) * 10 ** (TRIM_REL_DB / 20), 10 ** (TRIM_ABS_DBFS / 20))
    voiced = np.flatnonzero(rms > thresh)
    if len(voiced) == 0:
        return x[:0]
    start = max(0, voiced[0] * FRAME - TRIM_MARGIN)
    stop = min(len(x), (voiced[-1] + 1) * FRAME + TRIM_MARGIN)
    return x[start:stop]


def apply_gain(x: np.ndarray, energy_db: float) -> np.ndarray:
    """x: (n,) float32 -> x * 10^(energy_db/20), clipped to [-1, 1]."""
    if energy_db == 0.0:
        return x
    return np.clip(x * np.float32(10 ** (energy_db / 20)), -1.0, 1.0).astype(np.float32)


def pitch_ratio(prosody: Prosody) -> float:
    """Frequency ratio of the (clamped) pitch shift: 2^(semitones/12)."""
    st = float(np.clip(prosody.pitch_semitones, -MAX_PITCH_SEMITONES, MAX_PITCH_SEMITONES))
    return float(2.0 ** (st / 12.0))


def psola_shift(x: np.ndarray, sr: int, ratio: float) -> np.ndarray:
    """x (n,) at sr with its pitch times `ratio`, same length and formants (Praat's PSOLA resynthesis).

    Unlike resampling (which polyvox used before) the vocal tract stays where it was: Whisper misheard
    Kokoro's "Option A/B" 6 times in 24 after a 0.7-semitone resampling shift, once after a
    1.5-semitone PSOLA shift (RTF ~0.015).
    Audio too short to track a pitch in (< 0.1 s) comes back unchanged.
    """
    if ratio == 1.0 or len(x) < sr // 10:
        return x.astype(np.float32, copy=False)
    import parselmouth
    from parselmouth.praat import call

    snd = parselmouth.Sound(x.astype(np.float64), sr)
    try:
        manipulation = call(snd, "To Manipulation", 0.01, 75, 600)
        tier = call(manipulation, "Extract pitch tier")
        call(tier, "Multiply frequencies", snd.xmin, snd.xmax, float(ratio))
        call([tier, manipulation], "Replace pitch tier")
        out = call(manipulation, "Get resynthesis (overlap-add)").values[0]
    except parselmouth.PraatError:  # nothing voiced to shift
        return x.astype(np.float32, copy=False)
    return out[: len(x)].astype(np.float32)


class TTS(ABC):
    """Text to 24 kHz speech. Subclasses implement `render`; `stream`/`synthesize` come from here."""

    sample_rate: int = OUTPUT_SAMPLE_RATE

    @abstractmethod
    def languages(self) -> tuple[str, ...]:
        """ISO 639-1 codes this engine voices."""

    @abstractmethod
    def render(self, clause: Clause, lang: str, voice: str | None, prosody: Prosody) -> np.ndarray:
        """Voice one clause: (n,) float32 at 24 kHz, speed and pitch applied, untrimmed, no gain."""

    def stream(
        self, text: str, lang: str, voice: str | None = None, prosody: Prosody = DEFAULT_PROSODY
    ) -> Iterator[np.ndarray]:
        """Yield (n_i,) float32 24 kHz chunks, one per clause, each followed by its pause.

        The first chunk is ready after one clause is voiced. Nothing is yielded for empty text.
        """
        self.check(lang, voice)
        clauses = split_clauses(text)
        for i, clause in enumerate(clauses):
            audio = apply_gain(trim_silence(self.render(clause, lang, voice, prosody)), prosody.energy_db)
            if i + 1 < len(clauses):
                pause_ms = prosody.pause_ms if clause.sentence_end else prosody.pause_ms / 2
                pause = np.zeros(round(max(pause_ms, 0.0) * self.sample_rate / 1000), np.float32)
                audio = np.concatenate([audio, pause])
            yield audio

    def synthesize(
        self, text: str, lang: str, voice: str | None = None, prosody: Prosody = DEFAULT_PROSODY
    ) -> np.ndarray:
        """The whole text as one (n,) float32 array at 24 kHz (empty for empty text)."""
        chunks = list(self.stream(text, lang, voice, prosody))
        return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)

    @abstractmethod
    def check(self, lang: str, voice: str | None) -> None:
        """Raise PolyvoxError for a language or voice this engine cannot use (before any work)."""

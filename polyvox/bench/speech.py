"""Prompt speech (text -> input audio, rendered once and cached) and reply transcripts (audio -> text).

Prompts are voiced by polyvox's MultilingualTTS with optional prosody (emotional delivery): Kokoro where it
is intelligible, English included (not the Piper voice that speaks the replies, so the user does not sound
like the assistant and cached prompts keep their voice), espeak-ng elsewhere. The cache key is the text,
language and prosody, so a resumed or repeated run reuses the same audio. Replies are transcribed with
faster-whisper (Whisper base), which also identifies the reply's language.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, load_audio, resample, save_audio

LEAD_S = 0.3  # silence before the spoken prompt (a VAD needs some context)
TAIL_S = 0.6  # silence after it (end of speech is detectable)


@dataclass(frozen=True)
class Delivery:
    """How a prompt is spoken (mirrors polyvox.cascade.tts.Prosody, kept here so data files stay plain)."""

    speed: float = 1.0
    pitch_semitones: float = 0.0
    energy_db: float = 0.0


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str  # Whisper's language ID of the reply
    language_probability: float


class Speech:
    """Renders prompts (cached under `cache_dir`) and transcribes replies. Models load on first use."""

    def __init__(self, cache_dir: Path, tts=None, asr=None) -> None:
        self.cache_dir = Path(cache_dir)
        self._tts, self._asr = tts, asr

    @classmethod
    def for_target(cls, cache_dir: Path, target) -> Speech:
        """Reuse the models of an in-process cascade engine (no second copy in memory)."""
        engine = getattr(target, "engine", None)
        return cls(cache_dir, getattr(engine, "tts", None), getattr(engine, "asr", None))

    @property
    def tts(self):
        if self._tts is None:
            from polyvox.cascade.tts import MultilingualTTS

            self._tts = MultilingualTTS()
        return self._tts

    @property
    def asr(self):
        if self._asr is None:
            from polyvox.cascade.asr import WhisperASR

            self._asr = WhisperASR()
        return self._asr

    @property
    def prompt_tts(self):
        """The TTS voicing prompts: `tts`, with Kokoro instead of the default Piper voice for English."""
        from polyvox.cascade.tts import MultilingualTTS

        tts = self.tts
        if isinstance(tts, MultilingualTTS) and tts.piper_default:
            tts = MultilingualTTS(tts.kokoro, tts.espeak, tts.piper, piper_default=False)  # shares the loaded models
        return tts

    def render(self, text: str, language: str = "en", delivery: Delivery | None = None) -> np.ndarray:
        """Speak `text`: (n,) float32 at 16 kHz with LEAD_S/TAIL_S silence around it (cached as wav)."""
        delivery = delivery or Delivery()
        key = hashlib.sha256(json.dumps([text, language, asdict(delivery)]).encode()).hexdigest()[:20]
        path = self.cache_dir / f"{key}.wav"
        if not path.exists():
            from polyvox.cascade.tts import Prosody

            prosody = Prosody(delivery.speed, delivery.pitch_semitones, delivery.energy_db)
            voiced = self.prompt_tts.synthesize(text, language, prosody=prosody)  # (n,) 24 kHz
            if len(voiced) == 0:
                raise ValueError(f"the TTS produced no audio for {text[:60]!r} ({language})")
            pad = [np.zeros(int(s * OUTPUT_SAMPLE_RATE), np.float32) for s in (LEAD_S, TAIL_S)]
            save_audio(path, np.concatenate([pad[0], voiced, pad[1]]), OUTPUT_SAMPLE_RATE)
        return load_audio(path, SAMPLE_RATE).samples

    def transcribe(self, audio: np.ndarray, sample_rate: int, language: str | None = None) -> Transcript:
        """Reply audio -> Transcript (language ID unless `language` pins it). Silence -> empty text."""
        if len(audio) < sample_rate // 10 or float(np.max(np.abs(audio))) < 1e-3:
            return Transcript("", language or "", 0.0)
        tr = self.asr.transcribe(resample(np.asarray(audio, np.float32), sample_rate, SAMPLE_RATE), language=language)
        return Transcript(tr.text.strip(), tr.language, float(tr.language_probability))

"""Speech recognition with faster-whisper (CTranslate2 Whisper base, int8 on CPU) and language ID."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.errors import ModelError

WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper's fixed 30 s input window


@dataclass(frozen=True)
class AsrOptions:
    """Decoding options for Whisper."""

    beam_size: int = 1  # greedy: ~2x faster than beam 5 on base, small WER cost on short turns
    compute_type: str = "int8"  # CTranslate2 weight type on CPU
    cpu_threads: int = 2
    temperature: float = 0.0
    # Encoder windows for short turns. Whisper pads every input to 30 s; a turn of up to w - 1 s is padded
    # to the smallest window w listed here instead (whisper.cpp's audio_ctx idea): on 2 cores the encoder
    # costs ~0.2 s at 10 s, ~0.3 s at 15 s, ~0.75 s at 30 s. () = always 30 s. A 6 s window for turns of up to
    # 5 s: 12 English questions voiced by espeak-ng and Kokoro, WER 7.4 % either way, 186 ms vs 229 ms median
    # (a 5 s window: WER 18 %).
    short_windows_s: tuple[float, ...] = (6.0, 10.0, 15.0)


@dataclass(frozen=True)
class Transcription:
    """What was said and in which language."""

    text: str
    language: str  # ISO 639-1 code
    language_probability: float  # language ID's own probability for `language`
    # language ID's likeliest allowed language when another was taken (the conversation's language outweighed
    # it, or its words came out in Latin letters); None when it was taken or the language was pinned
    heard_as: str | None = None


# Whisper writes these in their own scripts (romanised Hindi or Marathi is common, romanised Japanese was not
# seen): a turn decoded in one of them that came out in Latin letters only was another language.
OWN_SCRIPT_LANGUAGES = frozenset({"ja", "zh", "ko", "yue"})


def _in_order(
    ranked: list[tuple[str, float]], allowed, prior: Mapping[str, float] | None = None
) -> list[tuple[str, float]]:
    """`ranked` [(code, probability)] (best first) within `allowed` (all when none is; the best when none of it
    is), ordered by probability times `prior`'s weight for the code (1 when it names none)."""
    pool = [(c, p) for c, p in ranked if not allowed or c in allowed] or ranked[:1]
    weights = prior or {}
    return sorted(pool, key=lambda cp: -cp[1] * weights.get(cp[0], 1.0))  # stable: best-first among equals


def _latin_only(text: str) -> bool:
    """Some letters, all of them Latin (a-z with accents)."""
    import unicodedata

    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and all(unicodedata.name(c, "").startswith("LATIN") for c in letters)


def _choose(
    order: list[tuple[str, float]], text_in: Callable[[str], str], prior: Mapping[str, float] | None
) -> Transcription:
    """The first language of `order` (see _in_order), unless it is written in its own script, the words
    `text_in(code)` decoded came out in Latin letters and the conversation is not in it: then the next
    language of `order` that is not, with the same words."""
    lang, prob = order[0]
    text = text_in(lang)
    if lang in OWN_SCRIPT_LANGUAGES and lang not in (prior or {}) and _latin_only(text):
        lang, prob = next(((c, p) for c, p in order if c not in OWN_SCRIPT_LANGUAGES), (lang, prob))
    heard = max(order, key=lambda cp: cp[1])[0]
    return Transcription(text, lang, prob, heard if heard != lang else None)


def _compression_ratio(text: str) -> float:
    """len(text) / len(zlib(text)): high for degenerate, repeating output."""
    import zlib

    raw = text.encode("utf-8")
    return len(raw) / max(len(zlib.compress(raw)), 1) if raw else 0.0


class WhisperASR:
    """faster-whisper over the packaged model, or the user's own (POLYVOX_ASR_MODEL: folder or hub id)."""

    def __init__(self, model: str | Path | None = None, options: AsrOptions | None = None) -> None:
        from faster_whisper import WhisperModel

        self.options = options or AsrOptions()
        if model is None:
            from polyvox.models import default_store

            store = default_store()
            user = store.override("whisper-base")
            # a value that is not a local path is a model size / hub id (for users who have network)
            model = user if user and not Path(user).expanduser().exists() else store.path("whisper-base")
        try:
            self._model = WhisperModel(
                str(model), device="cpu", compute_type=self.options.compute_type, cpu_threads=self.options.cpu_threads
            )
        except Exception as e:
            raise ModelError(f"cannot load the Whisper model at {model}: {e}", "run: polyvox setup --force") from e

    def transcribe(
        self,
        audio: np.ndarray,
        language: str | None = None,
        allowed: frozenset[str] | set[str] | None = None,
        prior: Mapping[str, float] | None = None,
    ) -> Transcription:
        """audio: (n,) float32 16 kHz mono -> Transcription.

        `language` pins it (skips language ID). `allowed` limits language ID to languages the rest of the
        pipeline can speak: the most probable allowed language is taken (short robotic or accented
        speech is often misjudged as a language nobody spoke). `prior` {code: weight} multiplies language
        ID's probabilities first (the conversation's language: langprior.ConversationLanguage).

        A turn of up to 30 s is encoded once and the encoder output serves both language ID and
        decoding (faster-whisper's transcribe() encodes twice when it has to detect the language,
        ~0.4 s extra on 2 cores). Longer audio goes through transcribe() in 30 s windows.
        """
        audio = np.asarray(audio, np.float32)
        if language is not None and language not in self.languages:
            language = None  # Whisper cannot decode in it (e.g. Odia): recognise freely, the reply stays pinned
        if len(audio) > WINDOW_SAMPLES or not self._model.model.is_multilingual:
            return self._transcribe_long(audio, language, allowed, prior)
        from faster_whisper.audio import pad_or_trim

        seconds = len(audio) / SAMPLE_RATE
        window_s = min((w for w in self.options.short_windows_s if seconds <= w - 1), default=30.0)
        frames = int(window_s * 100)  # 10 ms mel hop
        features = pad_or_trim(self._model.feature_extractor(audio), frames)  # (n_mels, frames)
        encoded = self._model.encode(features)
        if language is not None:
            return Transcription(self._decode_encoded(encoded, language), language, 1.0)
        ranked = [(tok[2:-2], float(p)) for tok, p in self._model.model.detect_language(encoded)[0]]
        return _choose(_in_order(ranked, allowed, prior), lambda code: self._decode_encoded(encoded, code), prior)

    @property
    def languages(self) -> frozenset[str]:
        """The language codes Whisper can transcribe (99 for the multilingual models)."""
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        return frozenset(_LANGUAGE_CODES)

    def _decode_encoded(self, encoded, language: str) -> str:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        tok = Tokenizer(self._model.hf_tokenizer, True, task="transcribe", language=language)
        prompt = [*tok.sot_sequence, tok.no_timestamps]
        suppress = get_suppressed_tokens(tok, (-1,))
        text = ""
        # greedy first; a repetition loop ("पर पर पर …", compression ratio > 2.4 as in Whisper's own
        # fallback rule) is decoded again with n-gram repeats forbidden
        for no_repeat in (0, 3):
            result = self._model.model.generate(
                encoded,
                [prompt],
                beam_size=self.options.beam_size,
                max_length=self._model.max_length,
                suppress_blank=True,
                suppress_tokens=suppress,
                no_repeat_ngram_size=no_repeat,
            )[0]
            text = tok.decode(result.sequences_ids[0]).strip()
            if _compression_ratio(text) <= 2.4:
                break
        return text

    def _transcribe_long(self, audio: np.ndarray, language: str | None, allowed, prior) -> Transcription:
        text, info = self._decode(audio, language)
        if language is not None:
            return Transcription(text, language, 1.0)
        ranked = info.all_language_probs or [(info.language, float(info.language_probability))]
        return _choose(
            _in_order(ranked, allowed, prior),
            lambda code: text if code == info.language else self._decode(audio, code)[0],
            prior,
        )

    def _decode(self, audio: np.ndarray, language: str | None):
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=self.options.beam_size,
            temperature=self.options.temperature,
            condition_on_previous_text=False,
            # timestamps let each 30 s window resume after its last complete segment; without them a window
            # the model ends early loses the rest of its speech (word error rate on 30-60 s spoken prompts:
            # 0.35-0.57 without, 0.07-0.17 with)
            without_timestamps=False,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip(), info

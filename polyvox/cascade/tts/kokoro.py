"""Kokoro-82M (int8 ONNX, onnxruntime on CPU) voicing espeak-ng IPA.

Model inputs (names read from the session):
    tokens: (1, n_ids + 2) int64  [[0, *ids, 0]], n_ids <= MAX_IDS (vocab.json ids)
    style:  (1, 256) float32      voices[voice][min(n_ids, 509)]  (voices: (510, 1, 256) each)
    speed:  (1,) float32          speaking-rate multiplier
Output: audio (n_samples,) float32 at 24 kHz.

Text becomes phonemes with `espeak-ng --ipa=3` (ties as U+200D); `to_kokoro_phonemes` maps that
onto Kokoro's vocabulary the way misaki's espeak fallback does (diphthongs and affricates become
Kokoro's single letters, English r-colouring is spelled out) and drops what the vocab lacks.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE
from polyvox.cascade.tts.base import TTS, Clause, Prosody, pitch_ratio, psola_shift
from polyvox.cascade.tts.espeak import EspeakConfig, phonemize
from polyvox.cascade.tts.languages import KOKORO_LANGUAGES, espeak_voice, primary
from polyvox.errors import ModelError, PolyvoxError

MAX_IDS = 510  # phoneme ids per model call (the style table has 510 rows); longer clauses are split
MIN_SPEED, MAX_SPEED = 0.5, 2.0  # outside this Kokoro slurs or mumbles
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
DEFAULT_VOICE = "jf_nezumi"  # exact Whisper round trip on en and es (jf_alpha was not; see LANGUAGES.md)

TIE = "\u200d"  # espeak-ng --ipa=3 joins the letters of one phoneme with a zero-width joiner
# espeak IPA (tie written "^") -> Kokoro phoneme, for every language (misaki's EspeakG2P table).
COMMON = {
    "a^ɪ": "I",
    "a^ʊ": "W",
    "e^ɪ": "A",
    "o^ʊ": "O",
    "ə^ʊ": "Q",
    "ɔ^ɪ": "Y",
    "d^ʒ": "ʤ",
    "t^ʃ": "ʧ",
    "d^z": "ʣ",
    "t^s": "ʦ",
    "t^ɕ": "ʨ",
    "d^ʑ": "ʥ",
}
# English only (misaki's espeak fallback for en-us): r-colouring and reductions Kokoro spells out.
ENGLISH = {
    "ɝ": "ɜɹ",
    "ɚ": "əɹ",
    "ɜː": "ɜɹ",
    "ə^l": "ᵊl",
    "ɪ^ə": "iə",
    "ʊ^ə": "ʊə",
    "r": "ɹ",
    "ɐ": "ə",
    "x": "k",
    "ç": "k",
    "e": "A",
}


@dataclass(frozen=True)
class KokoroConfig:
    """Where the Kokoro weights are and how to run them."""

    model_dir: Path | None = None  # folder with kokoro-v1.0.int8.onnx, vocab.json, voices.npz; None = store
    threads: int = 2  # onnxruntime intra-op threads (the target machine has 2 cores)
    # idle intra-op threads spin for work (onnxruntime's default): a little faster alone, but while other
    # sessions' LLM / TTS run on the same 2 cores the spinning steals their time
    spin: bool = True
    voice: str = DEFAULT_VOICE  # style used when synthesize() gets voice=None
    # Pitch is shifted by PSOLA (formants stay); still, Whisper misheard Kokoro's "Option A/B" 1 time in 24
    # at +1.5 semitones and 3 in 24 at +3 (0 unshifted), so Kokoro takes half the requested shift, at most
    # ±1.5 st (the emotions keep their order: surprise +3 -> +1.5, joy +2 -> +1, sadness -1.5 -> -0.75)
    pitch_scale: float = 0.5
    max_pitch_semitones: float = 1.5
    espeak: EspeakConfig = field(default_factory=EspeakConfig)  # the phonemizer
    languages: frozenset[str] = KOKORO_LANGUAGES  # ISO 639-1 codes it accepts (the survey tries all)


def _replace_all(ipa: str, table: dict[str, str]) -> str:
    for old in sorted(table, key=len, reverse=True):  # longest first: "e^ɪ" before "e"
        ipa = ipa.replace(old, table[old])
    return ipa


def to_kokoro_phonemes(ipa: str, lang: str, vocab: dict[str, int]) -> str:
    """espeak-ng --ipa=3 output -> a string whose every character is in Kokoro's vocab.

    "ha‍ʊ" -> "hW", "t‍ʃˈɜːt‍ʃ" -> "ʧˈɜɹʧ" (en). Characters outside the vocab are decomposed
    (NFD: "ä" -> "a" + U+0308) and only their in-vocab parts kept; tone digits and the like go.
    """
    ipa = unicodedata.normalize("NFC", ipa).replace(TIE, "^")
    table = {**COMMON, **ENGLISH} if primary(lang) == "en" else COMMON
    ipa = _replace_all(ipa, table).replace("^", "")
    out = []
    for ch in ipa:
        if ch in vocab:
            out.append(ch)
        else:
            out.extend(c for c in unicodedata.normalize("NFD", ch) if c in vocab)
    return " ".join("".join(out).split())


def split_ids(phonemes: str, vocab: dict[str, int], limit: int = MAX_IDS) -> list[list[int]]:
    """Phoneme string -> id lists of at most `limit` ids, cut at spaces (words) where possible."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for word in phonemes.split(" "):
        ids = [vocab[c] for c in word]
        extra = ids if not current else [vocab[" "], *ids]
        if current and len(current) + len(extra) > limit:
            chunks.append(current)
            extra = ids
            current = []
        current.extend(extra)
        while len(current) > limit:  # one "word" longer than the limit (no spaces): hard cut
            chunks.append(current[:limit])
            current = current[limit:]
    if current:
        chunks.append(current)
    return chunks


class _Model:
    """The loaded session, vocab and voices. Built once; `run` is safe from many threads."""

    def __init__(self, model_dir: Path, threads: int, spin: bool = True) -> None:
        import onnxruntime as ort

        onnx = model_dir / "kokoro-v1.0.int8.onnx"
        for f in (onnx, model_dir / "vocab.json", model_dir / "voices.npz"):
            if not f.exists():
                raise ModelError(f"Kokoro file missing: {f}", "run: polyvox setup --model kokoro-82m")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            self.session = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
            hint = "run: polyvox setup --model kokoro-82m --force"
            raise ModelError(f"cannot load {onnx.name}: {e}", hint) from e
        names = [i.name for i in self.session.get_inputs()]
        self.tokens_name = next(n for n in names if n in ("tokens", "input_ids"))
        self.style_name = next(n for n in names if n in ("style", "ref_s"))
        self.speed_name = next(n for n in names if n == "speed")
        raw = json.loads((model_dir / "vocab.json").read_text(encoding="utf-8"))
        self.vocab: dict[str, int] = raw.get("vocab", raw)
        with np.load(model_dir / "voices.npz") as z:
            self.voices = {k: z[k].astype(np.float32) for k in z.files}  # each (510, 1, 256)

    def run(self, ids: list[int], voice: str, speed: float) -> np.ndarray:
        """ids (n <= 510) -> (n_samples,) float32 at 24 kHz."""
        style = self.voices[voice][min(len(ids), MAX_IDS - 1)].reshape(1, 256)  # (1, 256)
        feeds = {
            self.tokens_name: np.array([[0, *ids, 0]], dtype=np.int64),  # (1, n + 2)
            self.style_name: style,
            self.speed_name: np.array([speed], dtype=np.float32),  # (1,)
        }
        return self.session.run(None, feeds)[0].reshape(-1).astype(np.float32)  # (n_samples,)


class KokoroTTS(TTS):
    """Kokoro-82M with espeak-ng IPA input: natural voice for the languages in KOKORO_LANGUAGES.

    voice: one of VOICES (all five are Japanese speaker styles; they carry over to other
    languages with an accent). Prosody: speed natively (0.5–2.0), pitch by PSOLA resynthesis (half the
    requested shift, ±1.5 semitones at most: see KokoroConfig), gain and pauses in the base class.
    The ONNX session is loaded on first use, once, under a lock.
    """

    def __init__(self, config: KokoroConfig | None = None) -> None:
        self.config = config or KokoroConfig()
        self._model: _Model | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> _Model:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    model_dir = self.config.model_dir
                    if model_dir is None:
                        from polyvox.models import default_store

                        model_dir = default_store().path("kokoro-82m")
                    self._model = _Model(Path(model_dir), self.config.threads, self.config.spin)
        return self._model

    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.config.languages))

    def check(self, lang: str, voice: str | None) -> None:
        espeak_voice(lang, self.languages())
        if voice is not None and voice not in VOICES:
            raise PolyvoxError(f"unknown Kokoro voice '{voice}'", f"use one of: {', '.join(VOICES)}")

    def phonemes(self, clause: Clause, lang: str) -> str:
        """The Kokoro phoneme string for a clause, ending punctuation included ("hˈɛloʊ wˈɜɹld.")."""
        voice = espeak_voice(lang, self.languages())
        ipa = phonemize(clause.text, voice, self.config.espeak, keep_foreign=primary(lang) != "ja")
        ps = to_kokoro_phonemes(ipa, lang, self.model.vocab)
        return ps + clause.punct if ps else ""

    def render(self, clause: Clause, lang: str, voice: str | None, prosody: Prosody) -> np.ndarray:
        """One clause -> (n,) float32 at 24 kHz."""
        ps = self.phonemes(clause, lang)
        if not ps:
            return np.zeros(0, np.float32)
        limit = self.config.max_pitch_semitones
        st = float(np.clip(prosody.pitch_semitones * self.config.pitch_scale, -limit, limit))
        ratio = pitch_ratio(replace(prosody, pitch_semitones=st))
        speed = float(np.clip(prosody.speed, MIN_SPEED, MAX_SPEED))
        model = self.model
        parts = [model.run(ids, voice or self.config.voice, speed) for ids in split_ids(ps, model.vocab)]
        return psola_shift(np.concatenate(parts), OUTPUT_SAMPLE_RATE, ratio)

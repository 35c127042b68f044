"""Piper voices (VITS, ONNX) run by polyvox itself: espeak-ng IPA -> phoneme ids -> onnxruntime.

Why polyvox's own runner: Piper's runtime `piper-tts` is GPL-3. `piper-onnx` 1.0.6 (MIT, ~90 lines)
phonemizes through `phonemizer-fork` (GPL-3+) and `espeakng-loader` (a 20 MB libespeak-ng build of its own),
voices a whole text in one call (no clause streaming) and has no error handling; polyvox already gets IPA from
the espeak-ng binary (espeak.py), so what is left is Piper's id convention and one session call.

A voice is two files, `<name>.onnx` and `<name>.onnx.json` beside it. From the json:
    audio.sample_rate   22,050 Hz for "medium" voices
    espeak.voice        the espeak-ng voice its training phonemes came from ("en-us")
    phoneme_id_map      {symbol: [ids]}, a symbol being one Unicode codepoint of the IPA (after NFD)
    inference           noise_scale 0.667, length_scale 1, noise_w 0.8: the voice's defaults

Model inputs (Piper's export):
    input:          (1, n) int64   ids of [^ _ s1 _ s2 _ ... sk _ $]: BOS "^", PAD "_" after every symbol, EOS "$"
    input_lengths:  (1,) int64     [n]
    scales:         (3,) float32   [noise_scale, length_scale, noise_w]
    sid:            (1,) int64     the speaker, multi-speaker voices only
Output: (1, 1, n_samples) float32 at audio.sample_rate; resampled here to 24 kHz.

Phonemes follow Piper's training data: espeak-ng IPA without ties, words separated by " ", a clause's
punctuation kept ("," ";" ":" followed by a space; ". ! ?" at the end), split into codepoints after NFD so
stress marks and diacritics are symbols of their own; a symbol not in the map is dropped.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, resample
from polyvox.cascade.tts.base import MAX_PITCH_SEMITONES, TTS, Clause, Prosody, pitch_ratio, psola_shift
from polyvox.cascade.tts.espeak import EspeakConfig, PhonemizerPipe
from polyvox.cascade.tts.languages import espeak_voice
from polyvox.errors import ModelError, PolyvoxError

MODEL_NAME = "piper-joe"  # the packaged voice in polyvox.models.registry
BOS, EOS, PAD = "^", "$", "_"  # Piper's begin, end and in-between symbols
MAX_SYMBOLS = 400  # phoneme symbols per model call (~6 s of speech); a longer clause is cut at words
MAX_WORD_CHARS = 40  # a longer "word" (a hash, base64, a run of letters) is not spoken
MIN_SPEED, MAX_SPEED = 0.5, 2.0  # speaking rate bounds (see PiperConfig.speed_exponent)
_URL = re.compile(r"\b(?:https?://|www\.)([^\s/?#]+)\S*", re.IGNORECASE)  # say the host only
_SAID_SYMBOLS = "°©®™§¶"  # symbols (category So, like emoji) that espeak-ng reads as words ("degrees")
_MARK = re.compile(r"[,;:.!?](?=\s)")  # where espeak-ng starts a new clause line inside a clause's text
# The script a voice's letters are in, by language family (everything not listed is Latin).
SCRIPTS = {"ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "sr": "CYRILLIC", "kk": "CYRILLIC",
           "el": "GREEK", "ar": "ARABIC", "fa": "ARABIC", "hi": "DEVANAGARI", "ne": "DEVANAGARI",
           "ka": "GEORGIAN", "zh": "CJK"}  # fmt: skip


@dataclass(frozen=True)
class PiperConfig:
    """Which Piper voice and how to run it."""

    model: Path | None = None  # the voice's .onnx (its .onnx.json beside it) or a folder with one; None = store
    name: str = "joe"  # what `voice=` selects this voice by
    languages: frozenset[str] = frozenset({"en"})  # ISO 639-1 codes it speaks (en_US-joe-medium: English)
    threads: int = 2  # onnxruntime intra-op threads (the target machine has 2 cores)
    spin: bool = True  # idle intra-op threads spin (see KokoroConfig.spin)
    # length_scale = the voice's / speed ** this: each phoneme's frame count is rounded up, so about 30 % of a
    # clause's length does not follow length_scale; with 1.5, speed 0.85 / 1.3 gave 1.17-1.20 / 0.75-0.81 of
    # the length (asked: 1.18 / 0.77) over three sentences, with 1.0 only 1.01-1.10 / 0.84-0.92
    speed_exponent: float = 1.5
    # Pitch by PSOLA, as Kokoro: half the requested shift, ±1.5 semitones at most, so emotions keep their
    # order (joy +2 -> +1, sadness -1.5 -> -0.75) without hurting intelligibility.
    pitch_scale: float = 0.5
    max_pitch_semitones: float = 1.5
    # Liveliness: the pitch shift asked for (÷ MAX_PITCH_SEMITONES, in [-1, 1]) also scales noise_scale
    # and noise_w by 1 ± this, so lively styles (joy, surprise) vary more in pitch and timing, sad ones less.
    liveliness: float = 0.25
    noise_scale: float | None = None  # variation of the sampled speech; None = the voice's own (0.667 for joe)
    noise_w: float | None = None  # variation of phoneme durations; None = the voice's own (0.8 for joe)
    gain_db: float = 4.5  # joe is ~5 dB quieter than Kokoro (RMS of the same sentences); this evens them
    espeak: EspeakConfig = field(default_factory=EspeakConfig)  # the phonemizer


@dataclass(frozen=True)
class VoiceInfo:
    """What a voice's .onnx.json says (the fields polyvox uses)."""

    sample_rate: int  # Hz of the model's output
    espeak_voice: str  # espeak-ng voice of its phonemes
    language: str  # language family ("en")
    phoneme_id_map: dict[str, list[int]]  # one IPA codepoint -> its id(s)
    noise_scale: float  # the voice's default variation of the sampled speech
    length_scale: float  # the voice's default duration multiplier (> 1: slower)
    noise_w: float  # the voice's default variation of phoneme durations
    num_speakers: int  # > 1: the model takes a `sid`

    @classmethod
    def from_json(cls, raw: dict) -> VoiceInfo:
        inference = raw.get("inference", {})
        id_map = {str(k): [int(i) for i in v] for k, v in raw["phoneme_id_map"].items()}
        if not all(s in id_map for s in (BOS, EOS, PAD)):
            raise KeyError("phoneme_id_map lacks ^ $ _")
        return cls(
            sample_rate=int(raw["audio"]["sample_rate"]),
            espeak_voice=str(raw["espeak"]["voice"]),
            language=str(raw.get("language", {}).get("family", "")),
            phoneme_id_map=id_map,
            noise_scale=float(inference.get("noise_scale", 0.667)),
            length_scale=float(inference.get("length_scale", 1.0)),
            noise_w=float(inference.get("noise_w", 0.8)),
            num_speakers=int(raw.get("num_speakers", 1)),
        )


def speakable(text: str, script: str = "LATIN", max_word: int = MAX_WORD_CHARS) -> str:
    """What of `text` a voice reading `script` can say: URLs become their host, and emoji, symbols, letters
    of other scripts and words longer than `max_word` go.

    "See https://www.example.com/a?b=1 🙂" -> "See example.com"; "Tokyo 東京" -> "Tokyo" (Latin voice).
    """
    text = _URL.sub(lambda m: m.group(1).removeprefix("www."), unicodedata.normalize("NFC", text))
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] == "L":
            ok = ch.isascii() or unicodedata.name(ch, "").startswith(script)
        else:
            ok = cat[0] in "NPZ" or cat in ("Sm", "Sc") or ch in _SAID_SYMBOLS or ch.isspace()
        kept.append(ch if ok else " ")
    words = [w for w in "".join(kept).split() if len(w) <= max_word]
    return " ".join(words)


def clause_phonemes(clause_text: str, punct: str, lines: list[str]) -> str:
    """A clause's IPA in Piper's form from espeak-ng's lines for it: words spaced, inner and final marks kept.

    "Yes, I can" + "." with lines ["jˈɛs", "aɪ kæn"] -> "jˈɛs, aɪ kæn." (espeak-ng gives one line per inner
    clause; the marks that ended them are put back when the count matches, else the lines are joined by spaces).
    """
    if not lines:
        return ""
    marks = _MARK.findall(clause_text + " ")[: len(lines) - 1]
    if len(marks) == len(lines) - 1:
        text = "".join(line + mark + " " for line, mark in zip(lines, marks, strict=False)) + lines[-1]
    else:
        text = " ".join(lines)
    return text + punct


def phoneme_ids(phonemes: str, id_map: dict[str, list[int]]) -> list[int]:
    """Piper's convention: BOS, PAD, then each known codepoint (after NFD) followed by PAD, then EOS."""
    ids = [*id_map[BOS], *id_map[PAD]]
    for symbol in unicodedata.normalize("NFD", phonemes):
        if symbol in id_map:
            ids += id_map[symbol]
            ids += id_map[PAD]
    ids += id_map[EOS]
    return ids


def split_phonemes(phonemes: str, limit: int = MAX_SYMBOLS) -> list[str]:
    """Cut a phoneme string at spaces into pieces of at most `limit` codepoints (a longer word alone)."""
    pieces: list[str] = []
    current = ""
    for word in phonemes.split(" "):
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current.strip():
        pieces.append(current)
    return [p[i : i + limit] for p in pieces for i in range(0, len(p), limit)]


def voice_files(path: Path) -> tuple[Path, Path]:
    """(.onnx, .onnx.json) for a voice path: the .onnx itself, or a folder holding exactly one .onnx."""
    if path.is_dir():
        found = sorted(path.glob("*.onnx"))
        if len(found) != 1:
            raise ModelError(
                f"{path} holds {len(found)} .onnx files, not one Piper voice",
                "point POLYVOX_PIPER_MODEL at the voice's .onnx (its .onnx.json beside it)",
            )
        path = found[0]
    return path, path.with_name(path.name + ".json")


class _Voice:
    """The loaded session and voice info. Built once; `run` is safe from many threads."""

    def __init__(self, onnx: Path, config: PiperConfig, hint: str) -> None:
        import onnxruntime as ort

        onnx, meta = voice_files(onnx)
        for f in (onnx, meta):
            if not f.exists():
                raise ModelError(f"Piper voice file missing: {f}", hint)
        try:
            self.info = VoiceInfo.from_json(json.loads(meta.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ModelError(f"cannot read the Piper voice config {meta.name}: {e!r}", hint) from e
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = config.threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if config.spin else "0")
        try:
            self.session = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ModelError(f"cannot load {onnx.name}: {str(e)[:160]}", hint) from e
        self.inputs = {i.name for i in self.session.get_inputs()}

    def run(self, ids: list[int], scales: tuple[float, float, float]) -> np.ndarray:
        """ids (n,) and (noise_scale, length_scale, noise_w) -> (n_samples,) float32 at info.sample_rate."""
        feeds = {
            "input": np.array([ids], dtype=np.int64),  # (1, n)
            "input_lengths": np.array([len(ids)], dtype=np.int64),  # (1,)
            "scales": np.array(scales, dtype=np.float32),  # (3,)
        }
        if "sid" in self.inputs:
            feeds["sid"] = np.zeros(1, dtype=np.int64)  # (1,): the first speaker
        return self.session.run(None, feeds)[0].reshape(-1).astype(np.float32)  # (n_samples,)


class PiperTTS(TTS):
    """A Piper voice (default: the packaged en_US-joe-medium) fed espeak-ng IPA, RTF ~0.05 on 2 cores.

    voice: None or the config's name ("joe"). Prosody: speed via length_scale, pitch by PSOLA (half the
    requested shift, ±1.5 st) with liveliness on noise_scale/noise_w, gain and pauses in the base class.
    The ONNX session is loaded on first use, once, under a lock.
    """

    def __init__(self, config: PiperConfig | None = None) -> None:
        self.config = config or PiperConfig()
        self._voice: _Voice | None = None
        self._pipe: PhonemizerPipe | None = None  # espeak-ng kept running for this voice's phonemes
        self._lock = threading.Lock()

    @property
    def voice(self) -> _Voice:
        if self._voice is None:
            with self._lock:
                if self._voice is None:
                    path = self.config.model
                    hint = f"run: polyvox setup --model {MODEL_NAME} --force"
                    if path is None:
                        from polyvox.models import default_store

                        store = default_store()
                        if store.override(MODEL_NAME):
                            hint = "point POLYVOX_PIPER_MODEL at a Piper .onnx with its .onnx.json beside it"
                        path = store.path(MODEL_NAME)
                    else:
                        hint = "point PiperConfig.model at a Piper .onnx with its .onnx.json beside it"
                    self._voice = _Voice(Path(path), self.config, hint)
        return self._voice

    def voices(self) -> tuple[str, ...]:
        """The names `voice=` accepts."""
        return (self.config.name,)

    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.config.languages))

    def check(self, lang: str, voice: str | None) -> None:
        espeak_voice(lang, self.languages())
        if voice is not None and voice not in self.voices():
            raise PolyvoxError(f"unknown Piper voice '{voice}'", f"use: {', '.join(self.voices())}")

    def phonemes(self, clause: Clause) -> str:
        """The clause in Piper's phoneme form ("həlˈoʊ wˈɜːld."), "" when nothing in it can be said."""
        info = self.voice.info
        text = speakable(clause.text, SCRIPTS.get(info.language, "LATIN"))
        if not any(ch.isalnum() for ch in text):
            return ""
        if self._pipe is None:
            with self._lock:
                self._pipe = self._pipe or PhonemizerPipe(info.espeak_voice, self.config.espeak)
        return clause_phonemes(text, clause.punct, self._pipe.phonemize(text))

    def scales(self, prosody: Prosody) -> tuple[float, float, float]:
        """(noise_scale, length_scale, noise_w) for a prosody: speed -> length, pitch shift -> liveliness."""
        info = self.voice.info
        speed = float(np.clip(prosody.speed, MIN_SPEED, MAX_SPEED))
        lively = 1.0 + self.config.liveliness * float(np.clip(prosody.pitch_semitones / MAX_PITCH_SEMITONES, -1, 1))
        cfg = self.config
        noise_scale = info.noise_scale if cfg.noise_scale is None else cfg.noise_scale
        noise_w = info.noise_w if cfg.noise_w is None else cfg.noise_w
        return noise_scale * lively, info.length_scale / speed**cfg.speed_exponent, noise_w * lively

    def render(self, clause: Clause, lang: str, voice: str | None, prosody: Prosody) -> np.ndarray:
        """One clause -> (n,) float32 at 24 kHz."""
        ps = self.phonemes(clause)
        if not ps:
            return np.zeros(0, np.float32)
        model, scales = self.voice, self.scales(prosody)
        parts = [model.run(phoneme_ids(piece, model.info.phoneme_id_map), scales) for piece in split_phonemes(ps)]
        x = np.concatenate(parts) * np.float32(10 ** (self.config.gain_db / 20))  # (n,) at the voice's rate
        limit = self.config.max_pitch_semitones
        st = float(np.clip(prosody.pitch_semitones * self.config.pitch_scale, -limit, limit))
        x = psola_shift(x, model.info.sample_rate, pitch_ratio(replace(prosody, pitch_semitones=st)))
        return np.clip(resample(x, model.info.sample_rate, OUTPUT_SAMPLE_RATE), -1.0, 1.0)

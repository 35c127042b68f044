"""Piper voice (en_US-joe-medium) run by polyvox: phoneme ids, text it cannot say, streaming, model errors.

Audio everywhere: (n,) float32 at 24 kHz. Tests that voice speech skip when the packaged voice is not installed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from polyvox.audio import OUTPUT_SAMPLE_RATE
from polyvox.cascade.tts import KokoroTTS, MultilingualTTS, PiperConfig, PiperTTS, Prosody
from polyvox.cascade.tts.espeak import PhonemizerPipe, phonemize_clauses
from polyvox.cascade.tts.piper import (
    MODEL_NAME,
    clause_phonemes,
    phoneme_ids,
    speakable,
    split_phonemes,
    voice_files,
)
from polyvox.errors import ModelError, PolyvoxError

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

TOY_MAP = {"_": [0], "^": [1], "$": [2], " ": [3], ".": [10], "a": [14], "b": [15], "ˈ": [120], "\u0303": [141]}


@pytest.fixture(scope="module")
def piper() -> PiperTTS:
    tts = PiperTTS()
    try:
        _ = tts.voice
    except ModelError as e:
        pytest.skip(f"Piper voice not installed: {e}")
    return tts


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


# -- text and phoneme plumbing (no model) ------------------------------------------------------------
def test_phoneme_ids_follow_pipers_bos_pad_eos_convention():
    # ^ _ then every known symbol followed by _, then $; "ã" decomposes (NFD) into a + U+0303; "?" is unknown
    assert phoneme_ids("ˈab ã?", TOY_MAP) == [1, 0, 120, 0, 14, 0, 15, 0, 3, 0, 14, 0, 141, 0, 2]
    assert phoneme_ids("", TOY_MAP) == [1, 0, 2]


def test_speakable_drops_what_a_latin_voice_cannot_say():
    assert speakable("See https://www.example.com/a?b=1 now 🙂") == "See example.com now"
    assert speakable("Tokyo 東京 and Москва, ok") == "Tokyo and , ok"
    assert speakable("pay 5 $ + tax, 100%") == "pay 5 $ + tax, 100%"
    assert speakable("a " + "x" * 41 + " b") == "a b"
    assert speakable("Москва", script="CYRILLIC") == "Москва"
    assert speakable("🙂🎉") == "" and speakable("It is 20°C.") == "It is 20°C."


def test_clause_phonemes_keep_inner_and_final_punctuation():
    lines = phonemize_clauses("Yes, I can", "en-us")
    assert len(lines) == 2 and "\u200d" not in "".join(lines)  # no ties: Piper's symbols are codepoints
    assert clause_phonemes("Yes, I can", ".", lines) == f"{lines[0]}, {lines[1]}."
    assert clause_phonemes("Yes, I can", "?", ["jɛs aɪ kæn"]) == "jɛs aɪ kæn?"  # lines and marks disagree
    assert clause_phonemes("", ".", []) == ""


def test_phonemizer_pipe_matches_one_espeak_call_per_clause():
    pipe = PhonemizerPipe("en-us")
    for text in ("Hello there", "Yes, I can do that. Okay!", "zqxjvk one", "3.5 kg, 42 %"):
        assert pipe.phonemize(text) == phonemize_clauses(text.replace("zqxjvk", ""), "en-us"), text
    assert pipe.phonemize("  ") == []
    long = "word " * 2000  # 10,000 characters: one espeak-ng call of its own
    assert pipe.phonemize(long) == phonemize_clauses(long, "en-us")
    pipe.close()  # killed: the next call starts espeak-ng again
    assert pipe.phonemize("Hello there") == phonemize_clauses("Hello there", "en-us")
    pipe.close()


def test_split_phonemes_cuts_at_words_within_the_limit():
    pieces = split_phonemes(" ".join(["abcd"] * 50), limit=22)
    assert all(len(p) <= 22 for p in pieces) and " ".join(pieces) == " ".join(["abcd"] * 50)
    assert split_phonemes("x" * 50, limit=20) == ["x" * 20, "x" * 20, "x" * 10]


# -- errors --------------------------------------------------------------------------------------------
def test_missing_voice_says_how_to_repair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path))
    monkeypatch.delenv("POLYVOX_PIPER_MODEL", raising=False)
    with pytest.raises(ModelError) as e:
        PiperTTS().synthesize("Hello.", "en")
    assert f"polyvox setup --model {MODEL_NAME}" in e.value.hint
    with pytest.raises(ModelError, match="missing"):
        PiperTTS(PiperConfig(model=tmp_path / "nothing.onnx")).synthesize("Hello.", "en")


def test_corrupt_voice_files_are_a_clear_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from polyvox.models.registry import MODELS

    (tmp_path / "v.onnx").write_bytes(b"not an onnx model")
    (tmp_path / "v.onnx.json").write_text("{broken")
    with pytest.raises(ModelError, match="cannot read"):
        PiperTTS(PiperConfig(model=tmp_path / "v.onnx")).synthesize("Hello.", "en")
    meta = {"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"}, "phoneme_id_map": TOY_MAP}
    (tmp_path / "v.onnx.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"cannot load v\.onnx"):
        PiperTTS(PiperConfig(model=tmp_path)).synthesize("Hello.", "en")  # a folder with one voice
    # the packaged voice with a wrong byte: refused by its sha256, with the --force repair
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("POLYVOX_PIPER_MODEL", raising=False)
    d = tmp_path / "home" / "models" / MODEL_NAME
    d.mkdir(parents=True)
    for f in MODELS[MODEL_NAME].files:
        (d / f.name).write_bytes(b"x")
    with pytest.raises(ModelError) as e:
        PiperTTS().synthesize("Hello.", "en")
    assert "corrupt" in e.value.message and "--force" in e.value.hint


def test_voice_files_of_a_folder(tmp_path: Path):
    with pytest.raises(ModelError, match=r"0 \.onnx"):
        voice_files(tmp_path)
    (tmp_path / "a.onnx").write_bytes(b"")
    assert voice_files(tmp_path) == (tmp_path / "a.onnx", tmp_path / "a.onnx.json")


def test_unknown_voice_or_language_is_refused_before_any_work():
    tts = PiperTTS(PiperConfig(model=Path("/nonexistent.onnx")))
    with pytest.raises(PolyvoxError, match="Piper voice 'nobody'"):
        tts.check("en", "nobody")
    with pytest.raises(PolyvoxError, match="does not support language 'de'"):
        tts.check("de", None)


def test_multilingual_falls_back_to_kokoro_when_the_piper_voice_is_missing(tmp_path: Path):
    tts = MultilingualTTS(piper=PiperTTS(PiperConfig(model=tmp_path / "gone.onnx")))
    assert isinstance(tts.engine_for("en"), KokoroTTS)
    with pytest.raises(ModelError):  # named explicitly, the missing voice is an error
        tts.engine_for("en", "joe").synthesize("Hi.", "en", "joe")
    assert isinstance(MultilingualTTS(piper_default=False).engine_for("en"), KokoroTTS)


# -- the packaged voice --------------------------------------------------------------------------------
def test_short_synthesis_is_speech_at_24_khz(piper):
    audio = piper.synthesize("Hello there, my friend.", "en")
    assert piper.sample_rate == OUTPUT_SAMPLE_RATE and audio.dtype == np.float32 and audio.ndim == 1
    assert 0.6 < len(audio) / OUTPUT_SAMPLE_RATE < 3.0  # ~1.3 s of speech
    assert 0.05 < np.abs(audio).max() <= 1.0 and rms(audio) > 0.01


def test_stream_yields_one_chunk_per_clause(piper):
    chunks = list(piper.stream("Good morning. How are you today? I am fine.", "en"))
    assert len(chunks) == 3 and all(c.dtype == np.float32 and rms(c) > 0.01 for c in chunks)
    assert list(piper.stream("", "en")) == [] and list(piper.stream(" ?! ", "en")) == []


@pytest.mark.parametrize(
    "text",
    ["🙂🎉", "Look at https://example.com/some/path?x=1 now.", "東京 Москва", "a" * 500, "x" * 30 + " " + "y" * 30,
     "Numbers: 3.14, 1,000,000 and 42%!", "\x00\x07 tab\tnew\nline"],
)  # fmt: skip
def test_bad_text_never_crashes(piper, text):
    audio = piper.synthesize(text, "en")
    assert audio.dtype == np.float32 and audio.ndim == 1 and np.isfinite(audio).all()


def test_concurrent_synthesis_from_threads(piper):
    from concurrent.futures import ThreadPoolExecutor

    texts = ["Hi there, how are you?", "The park is nice today.", "Let me check that for you.", "Good night."]
    with ThreadPoolExecutor(4) as pool:
        out = list(pool.map(lambda t: piper.synthesize(t, "en"), texts))
    assert all(rms(x) > 0.01 for x in out)
    assert len(out[3]) < len(out[2])  # each thread got its own text's phonemes back


def test_prosody_speed_pitch_and_energy(piper):
    text = "Thank you for telling me about it."
    normal = piper.synthesize(text, "en")
    assert len(piper.synthesize(text, "en", prosody=Prosody(speed=1.4))) < 0.85 * len(normal)
    assert rms(piper.synthesize(text, "en", prosody=Prosody(energy_db=-6))) < 0.7 * rms(normal)
    high = piper.synthesize(text, "en", prosody=Prosody(pitch_semitones=3))
    assert abs(len(high) - len(normal)) < 0.25 * len(normal)
    ns, ls, nw = piper.scales(Prosody(speed=2.0, pitch_semitones=6.0))
    info = piper.voice.info
    assert ls == pytest.approx(info.length_scale / 2**1.5) and ns > info.noise_scale and nw > info.noise_w


def test_reply_emotions_keep_their_order_in_pitch_pace_and_loudness(piper):
    from polyvox.affect.style import REPLY_PROSODY
    from polyvox.bench.acoustics import measure

    text = "Thank you for telling me about it, I will gladly help you with that."
    REPLY_EMOTIONS = ("joy", "neutral", "sadness")

    def median_f0_st(x: np.ndarray) -> float:  # the median: creaky phrase ends are tracked as F0 outliers
        import parselmouth

        f0 = parselmouth.Sound(x.astype(np.float64), OUTPUT_SAMPLE_RATE).to_pitch(0.01, 60, 400)
        hz = f0.selected_array["frequency"]
        return float(12 * np.log2(np.median(hz[hz > 0]) / 100))

    # Piper samples each rendering (one neutral rendering came out 2 st low): the median of five per emotion
    voiced = {e: [piper.synthesize(text, "en", prosody=REPLY_PROSODY[e]) for _ in range(5)] for e in REPLY_EMOTIONS}
    f0 = {e: float(np.median([median_f0_st(x) for x in xs])) for e, xs in voiced.items()}
    size = {e: float(np.median([len(x) for x in xs])) for e, xs in voiced.items()}
    level = {
        e: float(np.median([measure(x, OUTPUT_SAMPLE_RATE).loudness_dbfs for x in xs])) for e, xs in voiced.items()
    }
    assert f0["joy"] > f0["neutral"] + 0.4 and f0["neutral"] > f0["sadness"] + 0.1, f0  # +1 / -0.75 st asked
    assert size["joy"] < size["neutral"] < size["sadness"], size
    assert level["joy"] > level["neutral"] > level["sadness"] + 3, level


def test_multilingual_routes_english_to_piper_and_keeps_kokoro_selectable(piper):
    tts = MultilingualTTS(piper=piper)
    assert tts.engine_for("en") is piper and tts.engine_for("en-GB", "joe") is piper
    assert tts.engine_for("en", "jf_nezumi") is tts.kokoro and tts.engine_for("es") is tts.kokoro
    assert "joe" in tts.voices() and "jf_nezumi" in tts.voices()
    with pytest.raises(PolyvoxError):
        tts.check("es", "joe")  # the joe voice speaks English only

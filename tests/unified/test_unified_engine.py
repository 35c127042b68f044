"""UnifiedEngine end to end on the untrained tiny model, model-info, text vocabulary and phonemes."""

from __future__ import annotations

import argparse
import shutil

import numpy as np
import pytest
from unified_helpers import speechlike

from polyvox.engine import CancelToken, Turn
from polyvox.errors import AudioInputError, PolyvoxError
from polyvox.events import AudioChunk, TextDelta, TurnDone, UserTranscript
from polyvox.unified import load_engine
from polyvox.unified.commands import model_info, register
from polyvox.unified.phonemes import IPA_INVENTORY, LANGUAGES, language_index, phonemize
from polyvox.unified.text import TextVocab


@pytest.fixture(scope="module")
def engine():
    return load_engine(None, "tiny")


def test_untrained_engine_runs_end_to_end(engine, capsys) -> None:
    turn = Turn(audio=speechlike(5)[0].numpy(), max_reply_tokens=6)
    events = list(engine.stream(turn))
    assert isinstance(events[0], UserTranscript) and isinstance(events[-1], TurnDone)
    chunks = [e for e in events if isinstance(e, AudioChunk)]
    assert chunks and all(c.sample_rate == engine.output_sample_rate == 24_000 for c in chunks)
    assert all(c.samples.dtype == np.float32 and len(c.samples) == 1920 for c in chunks)
    assert all(np.abs(c.samples).max() <= 1.0 for c in chunks)
    result = events[-1].result
    assert "untrained" in result.trace["warning"] and result.engine == "unified"
    assert result.reply_text == "".join(e.text for e in events if isinstance(e, TextDelta))
    t = result.timings
    assert 0 < t.asr_ms <= t.llm_first_token_ms <= t.tts_first_audio_ms <= t.total_ms
    assert result.audio_seconds == pytest.approx(len(chunks) * 0.08)
    # 5 steps of audio, then silence until the end-of-turn head fires (at most as many again)
    assert result.language in LANGUAGES and 5 <= result.trace["steps_listen"] <= 10


def test_untrained_warning_on_stderr(capsys) -> None:
    load_engine(None, "tiny")
    assert "untrained" in capsys.readouterr().err


def test_text_turn_pinned_language_and_cancel(engine) -> None:
    result, audio = engine.run(Turn(text="hi", language="de", max_reply_tokens=3))
    assert result.user_transcript == "hi" and result.language == "de" and len(audio) <= 3 * 1920
    cancel = CancelToken()
    cancel.set()
    result, audio = engine.run(Turn(audio=np.zeros(16_000, np.float32)), cancel)
    assert result.cancelled and len(audio) == 0


@pytest.mark.parametrize(
    ("turn", "match"),
    [
        (Turn(audio=np.zeros(100, np.int16)), "float"),
        (Turn(audio=np.array([0.0, np.nan], np.float32)), "NaN"),
        (Turn(audio=np.zeros(0, np.float32)), "non-empty"),
        (Turn(), "neither audio nor text"),
    ],
)
def test_bad_turns_raise_audio_input_errors(engine, turn: Turn, match: str) -> None:
    with pytest.raises(AudioInputError, match=match):
        list(engine.stream(turn))


def test_unknown_voice_and_language(engine) -> None:
    with pytest.raises(PolyvoxError, match="unknown voice"):
        engine.run(Turn(text="x", voice="nobody", max_reply_tokens=1))
    with pytest.raises(PolyvoxError, match="not one of"):
        engine.run(Turn(text="x", language="xx", max_reply_tokens=1))


def test_model_info_counts_250b_on_meta_device() -> None:
    info = model_info("250b")
    assert abs(info.params["total"] - 250e9) / 250e9 < 0.05
    assert info.params["core"] > 0.95 * info.params["total"]
    tiny = model_info("tiny").params["total"]
    assert tiny < 1_000_000 and 5e6 < model_info("default").params["total"] * 4 < 60e6  # ≤ 60 MB at fp32


def test_register_adds_model_info(capsys) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["model-info", "--config", "tiny"])
    assert args.func(args) == 0
    assert "config tiny" in capsys.readouterr().out


def test_text_vocab_round_trip_and_phonemes() -> None:
    vocab = TextVocab()
    ids = vocab.encode("Grüße, 你好")
    assert vocab.decode(ids) == "Grüße, 你好"
    ipa = vocab.encode_phonemes("həlˈəʊ")
    assert ipa[0] == vocab.special["<ipa>"] and all(vocab.is_phoneme(t) for t in ipa[1:-1])
    assert vocab.decode(ipa) == "həlˈəʊ"
    assert len(LANGUAGES) >= 100 and language_index("zh") == LANGUAGES.index("cmn")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_phoneme_inventory_covers_espeak_output() -> None:
    samples = {
        "en": "The quick brown fox.",
        "de": "Schöne Grüße aus München",
        "fr": "Où êtes-vous?",
        "ru": "Привет, мир",
        "cmn": "你好世界",
        "ar": "مرحبا بالعالم",
        "hi": "नमस्ते दुनिया",
        "vi": "xin chào thế giới",
        "yue": "你好",
    }
    inventory = set(IPA_INVENTORY)
    for lang, text in samples.items():
        ipa = phonemize(text, lang)
        assert ipa, lang
        missing = set(ipa) - inventory
        assert not missing, f"{lang}: {missing}"

"""The end-of-turn policy (polyvox.listen.endpoint) with a fake completeness model: no model, no audio."""

from __future__ import annotations

import numpy as np
import pytest

from polyvox.listen.endpoint import (
    DEFAULT_SILENCE_MS,
    EAGERNESS,
    WINDOW_MS,
    Decision,
    EndOfTurn,
    EndOfTurnConfig,
    SemanticTiming,
)

AUDIO = np.zeros(16_000, np.float32)


class FakeModel:
    """Answers the probabilities it is given, in order (the last one repeats); records each call."""

    def __init__(self, *answers: float) -> None:
        self.answers = list(answers)
        self.calls: list[int] = []  # length of the audio it was asked about

    def __call__(self, audio_16k: np.ndarray) -> float:
        self.calls.append(len(audio_16k))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def feed(eot: EndOfTurn, pattern: str) -> list[Decision]:
    """pattern: one character per 32 ms window, 's' speech, '.' silence."""
    return [eot.update(c == "s", AUDIO) for c in pattern]


def windows(ms: float) -> int:
    return int(np.ceil(ms / WINDOW_MS))


def first_end(decisions: list[Decision]) -> int | None:
    return next((i for i, d in enumerate(decisions) if d.ended), None)


TIMING = SemanticTiming(ask_after_ms=200, threshold=0.5, max_wait_ms=2000, retry_ms=None)


def semantic(model: FakeModel, **changes) -> EndOfTurn:
    return EndOfTurn(EndOfTurnConfig(timing=SemanticTiming(**{**TIMING.__dict__, **changes})), model)


def test_asks_after_the_pause_and_ends_on_complete():
    model = FakeModel(0.9)
    ds = feed(semantic(model), "s" * 10 + "." * 20)
    end = first_end(ds)
    assert end == 10 + windows(200) - 1  # the window at which 200 ms of silence is reached
    assert ds[end].reason == "smart_turn_complete" and ds[end].probability == 0.9
    assert len(model.calls) == 1 and ds[end].silence_ms >= 200


def test_incomplete_waits_up_to_the_cap():
    model = FakeModel(0.1)
    ds = feed(semantic(model), "s" * 10 + "." * 100)
    end = first_end(ds)
    assert end == 10 + windows(2000) - 1 and ds[end].reason == "cap"
    assert len(model.calls) == 1  # retry_ms=None: asked once per pause
    assert ds[10 + windows(200) - 1].probability == 0.1 and not ds[10 + windows(200) - 1].ended


def test_retry_asks_again_and_can_end_before_the_cap():
    model = FakeModel(0.1, 0.2, 0.8)
    ds = feed(semantic(model, retry_ms=300), "s" * 5 + "." * 100)
    end = first_end(ds)
    assert ds[end].reason == "smart_turn_complete" and len(model.calls) == 3
    assert 200 + 2 * 300 <= ds[end].silence_ms < 200 + 2 * 300 + WINDOW_MS


def test_new_speech_resets_the_pause():
    model = FakeModel(0.1, 0.1, 0.9)
    ds = feed(semantic(model, max_wait_ms=1000), "s" * 5 + "." * 25 + "s" * 5 + "." * 25 + "sss" + "." * 10)
    ends = [i for i, d in enumerate(ds) if d.ended]
    assert len(ends) == 1 and ds[ends[0]].reason == "smart_turn_complete"  # 2 pauses of 800 ms: no cap
    assert len(model.calls) == 3
    assert ends[0] == 5 + 25 + 5 + 25 + 3 + windows(200) - 1


def test_threshold_is_inclusive_and_silence_before_speech_is_not_a_turn():
    model = FakeModel(0.5)
    eot = semantic(model)
    assert not any(d.ended for d in feed(eot, "." * 200)) and not model.calls
    assert first_end(feed(eot, "s" + "." * 10)) is not None


def test_the_state_resets_after_an_end():
    model = FakeModel(0.9)
    eot = semantic(model)
    assert first_end(feed(eot, "ss" + "." * 10)) is not None
    assert not eot.in_turn and eot.asks == 0
    assert not any(d.ended for d in feed(eot, "." * 100))  # no new speech, no new turn
    assert first_end(feed(eot, "s" + "." * 10)) is not None and len(model.calls) == 2


def test_audio_is_read_lazily_only_when_asking():
    model, reads = FakeModel(0.9), []

    def audio() -> np.ndarray:
        reads.append(1)
        return np.zeros(8000, np.float32)

    eot = semantic(model)
    ds = [eot.update(c == "s", audio) for c in "s" * 20 + "." * 10]
    assert first_end(ds) is not None and len(reads) == 1 and model.calls == [8000]


def test_server_vad_ends_on_silence_without_a_model():
    eot = EndOfTurn(EndOfTurnConfig(mode="server_vad", silence_ms=500))
    ds = feed(eot, "s" * 10 + "." * 8 + "s" * 3 + "." * 30)  # 256 ms gap: not the end
    end = first_end(ds)
    assert end == 10 + 8 + 3 + windows(500) - 1 and ds[end].reason == "silence"
    assert ds[end].silence_ms >= 500


def test_semantic_needs_a_model_and_audio():
    with pytest.raises(ValueError, match="model"):
        EndOfTurn(EndOfTurnConfig(mode="semantic_vad"))
    eot = semantic(FakeModel(0.9))
    with pytest.raises(ValueError, match="audio"):
        for c in "s" + "." * 10:
            eot.update(c == "s")


def test_from_realtime():
    c = EndOfTurnConfig.from_realtime({"type": "server_vad", "silence_duration_ms": 800, "threshold": 0.6})
    assert c.mode == "server_vad" and c.silence_ms == 800
    assert EndOfTurnConfig.from_realtime({"type": "server_vad"}).silence_ms == DEFAULT_SILENCE_MS
    for eagerness in ("low", "medium", "high", "auto"):
        c = EndOfTurnConfig.from_realtime({"type": "semantic_vad", "eagerness": eagerness})
        assert c.mode == "semantic_vad" and c.semantic == EAGERNESS[eagerness]
    assert EndOfTurnConfig.from_realtime({"type": "semantic_vad"}).semantic == EAGERNESS["auto"]
    caps = [EAGERNESS[e].max_wait_ms for e in ("high", "medium", "low")]
    assert caps == sorted(caps)  # lower eagerness waits longer
    with pytest.raises(ValueError, match="eagerness"):
        EndOfTurnConfig.from_realtime({"type": "semantic_vad", "eagerness": "eager"})
    with pytest.raises(ValueError, match="type"):
        EndOfTurnConfig.from_realtime({"type": "push_to_talk"})


def test_with_timing_overrides_one_number():
    c = EndOfTurnConfig(mode="server_vad").with_timing(max_wait_ms=1500)
    assert c.mode == "semantic_vad" and c.semantic.max_wait_ms == 1500
    assert c.semantic.ask_after_ms == EAGERNESS["auto"].ask_after_ms

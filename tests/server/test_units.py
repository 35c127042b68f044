"""Unit tests of the transport-free pieces: event parsing/building, turn detection, conversation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from openai.types import realtime as rt
from realtime_helpers import RATE

from polyvox.audio import load_audio
from polyvox.listen.vad import EnergyScorer, SileroModel, TurnDetector, VadConfig
from polyvox.server.conversation import Conversation, Item
from polyvox.server.protocol import CLIENT_EVENTS, ProtocolError, build, decode_pcm16, parse_client_event
from polyvox.server.testing import tone


def test_client_events_come_from_the_openai_union():
    assert {
        "session.update",
        "input_audio_buffer.append",
        "response.create",
        "response.cancel",
        "conversation.item.truncate",
        "output_audio_buffer.clear",
    } <= set(CLIENT_EVENTS)
    ev = parse_client_event(json.dumps({"type": "response.cancel", "event_id": "e1"}))
    assert isinstance(ev, rt.ResponseCancelEvent) and ev.event_id == "e1"


def test_build_validates_server_events():
    ev = build(rt.InputAudioBufferSpeechStartedEvent, audio_start_ms=5, item_id="item_1")
    data = json.loads(ev.text)
    assert data["type"] == "input_audio_buffer.speech_started" and data["event_id"].startswith("event_")
    with pytest.raises(ValueError):
        build(rt.InputAudioBufferSpeechStartedEvent, audio_start_ms="soon", item_id="item_1")


def test_decode_pcm16_limits():
    assert len(decode_pcm16("AAAAAA==", 100)) == 2
    with pytest.raises(ProtocolError, match="at most 4 bytes"):
        decode_pcm16("AAAAAAAAAAAA", 4)


def run(detector: TurnDetector, x: np.ndarray, chunk: int = 480) -> list:
    return [e for i in range(0, len(x), chunk) for e in detector.feed(x[i : i + chunk])]


def test_energy_vad_times_and_debounce():
    sil = np.zeros(RATE, np.float32)
    cfg = VadConfig(prefix_padding_ms=200, silence_duration_ms=400)
    evs = run(TurnDetector(cfg, EnergyScorer(), RATE), np.concatenate([sil, tone(1.0, RATE, 0.3), sil]))
    assert [e.kind for e in evs] == ["started", "paused", "stopped"]
    assert 750 <= evs[0].audio_ms <= 850  # speech at 1000 ms, minus 200 ms padding
    assert 1990 <= evs[1].audio_ms <= 2050  # the pause starts where the speech ends (2000 ms)
    assert 2400 <= evs[2].audio_ms <= 2500  # speech ends at 2000 ms, + 400 ms of silence
    click = np.concatenate([sil, tone(0.03, RATE, 0.5), sil])  # 30 ms: below min_speech_ms
    assert run(TurnDetector(cfg, EnergyScorer(), RATE), click) == []
    quiet = np.concatenate([sil, tone(1.0, RATE, 0.001), sil])  # -63 dBFS: under the threshold
    assert run(TurnDetector(cfg, EnergyScorer(), RATE), quiet) == []


def test_silero_vad_on_speech(say):
    model = SileroModel.load_default()
    if model is None:
        pytest.skip("silero-vad model not installed")
    speech = load_audio(say("Hello there, how are you today?"), RATE).samples
    sil = np.zeros(RATE, np.float32)
    evs = run(TurnDetector(VadConfig(), model.scorer(), RATE), np.concatenate([sil, speech, sil]))
    assert [e.kind for e in evs if e.kind not in ("paused", "resumed")] == ["started", "stopped"]
    assert 400 <= evs[0].audio_ms <= 1200
    assert run(TurnDetector(VadConfig(), model.scorer(), RATE), tone(2.0, RATE, 0.3)) == []  # a tone is not speech


def test_conversation_turns_and_truncate():
    conv = Conversation(max_items=3)
    conv.add(Item("a", "message", role="user", text="hi"))
    turn, pending = conv.build_turn()
    assert turn.text == "hi" and turn.history == [] and pending == []
    reply = Item(
        "b",
        "message",
        role="assistant",
        text="one two three",
        has_audio=True,
        audio_ms=300,
        spans=[(100, "one"), (200, " two"), (300, " three")],
    )
    conv.add(reply)
    reply.truncate(250)
    assert reply.text == "one two" and reply.audio_ms == 250
    audio = np.ones(1600, np.float32)
    conv.add(Item("c", "message", role="user", audio=audio, has_audio=True))
    conv.add(Item("d", "message", role="user", audio=audio, has_audio=True))  # over max_items: "a" goes
    turn, pending = conv.build_turn()
    assert [i.id for i in pending] == ["c", "d"] and len(turn.audio) == 1600 * 2 + 3200
    assert [(m.role, m.content) for m in turn.history] == [("assistant", "one two")]
    with pytest.raises(ProtocolError):
        conv.add(Item("e", "message", role="user", text="x"), previous_item_id="nope")

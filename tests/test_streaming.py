"""The streaming conversation (polyvox.conversation): turns heard live, replies prepared at pauses and dropped
when the user goes on, semantic end of turn, barge-in and backchannels. Model-free (tones and the energy VAD);
the real cascade streams in tests/test_cascade.py."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from polyvox.audio import SAMPLE_RATE
from polyvox.conversation import ConversationSession, ListenOptions, is_backchannel, is_echo
from polyvox.engine import Conversation, Turn
from polyvox.events import (
    AudioChunk,
    BargeIn,
    EndOfTurn,
    PartialTranscript,
    SpeechStarted,
    TurnDone,
    UserTranscript,
)
from polyvox.listen.endpoint import EndOfTurnConfig, SemanticTiming, unfinished
from polyvox.listen.vad import EnergyScorer
from polyvox.server.testing import ScriptedEngine, tone

CHUNK = SAMPLE_RATE // 50  # 20 ms


class ListeningEngine(ScriptedEngine):
    """ScriptedEngine that also transcribes: "said N ms" (or `words` when set) for the audio it is given."""

    def __init__(self, words: str | None = None, **kw) -> None:
        super().__init__(**kw)
        self.words = words
        self.transcribed: list[int] = []

    def transcribe(self, speech, conversation, language=None, final=True):
        self.transcribed.append(len(speech))
        return UserTranscript(self.words or f"said {len(speech) * 1000 // SAMPLE_RATE} ms", "en", 0.9)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def voiced(seconds: float) -> np.ndarray:
    return tone(seconds, SAMPLE_RATE, 0.3, 300.0)


class Recorder:
    def __init__(self) -> None:
        self.events: list = []
        self.lock = threading.Lock()

    def __call__(self, ev) -> None:
        with self.lock:
            self.events.append(ev)

    def of(self, kind) -> list:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, kind, n: int = 1, timeout: float = 5.0) -> list:
        end = time.monotonic() + timeout
        while len(self.of(kind)) < n:
            assert time.monotonic() < end, f"no {kind.__name__} within {timeout} s: {self.events}"
            time.sleep(0.005)
        return self.of(kind)


def session(engine, options: ListenOptions | None = None, judge=None, realtime: bool = False):
    rec = Recorder()
    s = ConversationSession(
        engine,
        lambda speech, heard: Turn(audio=speech, transcript=heard),
        rec,
        EnergyScorer(),
        options or ListenOptions(end_of_turn=EndOfTurnConfig(mode="server_vad", silence_ms=500)),
        judge,
        Conversation(),
    )
    return s, rec


def push(s: ConversationSession, x: np.ndarray, realtime: bool = False) -> None:
    for i in range(0, len(x), CHUNK):
        s.push(x[i : i + CHUNK])
        if realtime:
            time.sleep(CHUNK / SAMPLE_RATE)


def test_a_turn_is_heard_ended_and_answered():
    engine = ListeningEngine(reply="hi there")
    s, rec = session(engine)
    push(s, np.concatenate([silence(0.3), voiced(1.0), silence(0.8)]))
    done = rec.wait_for(TurnDone)[0].result
    (end,) = rec.of(EndOfTurn)
    assert end.reason == "silence" and 1280 <= end.audio_ms <= 1340  # the last voiced window, not the silence after
    assert 1780 <= end.decided_ms <= 1900  # decided after the 500 ms of silence
    assert rec.of(SpeechStarted)[0].audio_ms <= 300
    assert done.reply_text == "hi there" and "latency_ms" in done.trace
    kinds = [type(e).__name__ for e in rec.events]
    assert kinds.index("EndOfTurn") < kinds.index("UserTranscript") < kinds.index("AudioChunk")
    assert engine.turns[0].transcript.text.startswith("said")  # the engine did not transcribe again
    s.close()


def test_partials_while_speaking():
    engine = ListeningEngine()
    opts = ListenOptions(end_of_turn=EndOfTurnConfig(mode="server_vad", silence_ms=500), partial_every_ms=400)
    s, rec = session(engine, opts)
    push(s, np.concatenate([silence(0.2), voiced(2.0)]), realtime=True)
    partials = rec.wait_for(PartialTranscript, 2)
    assert not rec.of(EndOfTurn) and partials[0].audio_ms < partials[-1].audio_ms  # growing, before the end
    s.close()


def test_the_reply_is_prepared_at_the_pause_and_dropped_when_the_user_goes_on():
    engine = ListeningEngine(reply="an answer")
    s, rec = session(engine, ListenOptions(end_of_turn=EndOfTurnConfig(mode="server_vad", silence_ms=900)))
    push(s, np.concatenate([silence(0.2), voiced(0.8), silence(0.5)]), realtime=True)  # a pause, not an end
    assert len(engine.turns) == 1  # prepared at the pause ...
    assert not rec.of(AudioChunk) and not rec.of(EndOfTurn)  # ... and held back
    push(s, np.concatenate([voiced(0.6), silence(1.2)]), realtime=True)  # the user goes on, then stops
    done = rec.wait_for(TurnDone)
    assert len(done) == 1 and len(engine.turns) == 2  # the first preparation was dropped unheard
    assert len(rec.of(UserTranscript)) == 1
    heard_ms = int(engine.turns[-1].transcript.text.split()[1])
    assert heard_ms > 1500 and len(engine.turns[-1].audio) > 1.5 * SAMPLE_RATE  # the whole turn, both parts
    s.close()


def test_the_reply_prepared_at_the_pause_is_released_at_the_end():
    engine = ListeningEngine(reply="quick")
    s, rec = session(engine)
    push(s, np.concatenate([silence(0.2), voiced(0.8)]))
    push(s, silence(0.3), realtime=True)  # the pause: transcript and reply prepared while silence goes on
    time.sleep(0.2)
    assert len(engine.turns) == 1 and not rec.of(AudioChunk)
    push(s, silence(0.5), realtime=True)
    rec.wait_for(TurnDone)
    assert len(engine.turns) == 1  # the prepared reply is the one heard
    s.close()


SEMANTIC = ListenOptions(
    end_of_turn=EndOfTurnConfig(
        mode="semantic_vad",
        timing=SemanticTiming(ask_after_ms=200, threshold=0.5, max_wait_ms=900, retry_ms=None, unfinished_wait_ms=2000),
    )
)


def test_semantic_end_of_turn_ends_at_the_pause_when_the_model_and_the_words_agree():
    s, rec = session(ListeningEngine(words="Book a table for four."), SEMANTIC, judge=lambda audio: 0.9)
    push(s, np.concatenate([silence(0.2), voiced(0.8), silence(0.6)]), realtime=True)
    (end,) = rec.wait_for(EndOfTurn)
    assert end.reason == "semantic" and end.decided_ms - end.audio_ms < 600
    rec.wait_for(TurnDone)
    s.close()


def test_semantic_end_of_turn_waits_for_the_cap_when_the_model_doubts():
    s, rec = session(ListeningEngine(words="Book a table."), SEMANTIC, judge=lambda audio: 0.1)
    push(s, np.concatenate([silence(0.2), voiced(0.8), silence(0.7)]), realtime=True)
    assert not rec.of(EndOfTurn)
    push(s, silence(0.5), realtime=True)
    (end,) = rec.wait_for(EndOfTurn)
    assert end.reason == "cap" and 850 <= end.decided_ms - end.audio_ms <= 1100
    s.close()


def test_unfinished_words_wait_longer_even_when_the_model_says_complete():
    s, rec = session(ListeningEngine(words="I'd like to book a table for"), SEMANTIC, judge=lambda audio: 0.99)
    push(s, np.concatenate([silence(0.2), voiced(0.8), silence(1.5)]), realtime=True)
    assert not rec.of(EndOfTurn)  # a pause of 1.5 s after "for": still the user's turn
    push(s, silence(0.8), realtime=True)
    (end,) = rec.wait_for(EndOfTurn)
    assert end.reason == "cap" and end.decided_ms - end.audio_ms >= 1900
    s.close()


@pytest.mark.parametrize(
    "text, language, expected",
    [
        ("I'd like to book a table for", "en", True),
        ("I'd like to book a table for.", "en", True),
        ("Can you tell me how to get to the...", "en", True),
        ("Thank you.", "en", False),
        ("What is the capital of France?", "en", False),
        ("Quisiera reservar una mesa para", "es", True),
        ("Je voudrais réserver une table pour", "fr", True),
        ("Ich möchte einen Tisch für", "de", True),
        ("Ich möchte einen Tisch.", "de", False),
        ("well,", "en", True),
    ],
)
def test_unfinished(text, language, expected):
    assert unfinished(text, language) is expected


def test_speech_over_the_reply_barges_in_but_a_backchannel_does_not():
    slow = dict(reply=" ".join(f"w{i}" for i in range(40)), delay_s=0.05)
    engine = ListeningEngine(**slow)
    s, rec = session(engine)
    push(s, np.concatenate([silence(0.2), voiced(0.6), silence(0.7)]), realtime=True)
    rec.wait_for(AudioChunk)
    s.speaking_reply = True
    push(s, voiced(0.6), realtime=True)
    rec.wait_for(BargeIn)
    done = rec.wait_for(TurnDone)[0].result
    assert done.cancelled and len(done.reply_text.split()) < 40
    s.close()

    engine = ListeningEngine(words="mm-hm", **slow)
    s, rec = session(engine)
    push(s, np.concatenate([silence(0.2), voiced(0.6), silence(0.7)]), realtime=True)
    rec.wait_for(AudioChunk)
    s.speaking_reply = True
    push(s, np.concatenate([voiced(0.5), silence(0.7)]), realtime=True)
    done = rec.wait_for(TurnDone)[0].result
    assert not rec.of(BargeIn) and not done.cancelled  # the reply went on
    assert len(rec.of(EndOfTurn)) == 1  # and "mm-hm" was not answered
    s.close()


@pytest.mark.parametrize(
    "text, expected",
    [("Mm-hm.", True), ("yeah", True), ("Okay, right.", True), ("Yeah, but wait", False), ("Stop!", False)],
)
def test_backchannel_words(text, expected):
    assert is_backchannel(text) is expected


def test_the_reply_heard_back_through_a_speaker_does_not_interrupt_it():
    engine = ListeningEngine(words="w3 w4 w5", reply=" ".join(f"w{i}" for i in range(40)), delay_s=0.05)
    s, rec = session(engine)
    push(s, np.concatenate([silence(0.2), voiced(0.6), silence(0.7)]), realtime=True)
    rec.wait_for(AudioChunk, 4)
    s.speaking_reply = True
    push(s, np.concatenate([voiced(0.6), silence(0.7)]), realtime=True)  # "w3 w4 w5": its own words
    done = rec.wait_for(TurnDone)[0].result
    assert not rec.of(BargeIn) and not done.cancelled
    s.close()
    assert is_echo("Paris is the capital", "The capital of France is Paris. Paris is the capital of art.")
    assert not is_echo("No, stop, I meant Spain", "The capital of France is Paris.")
    assert not is_echo("Wait, stop. Tell me about Spain.", "Let me tell you about a knight. Stop me if you wait.")


def test_streaming_equals_batch():
    """The same audio in 20 ms chunks or in one push: the same turn boundaries and the same transcript."""
    x = np.concatenate([silence(0.3), voiced(0.7), silence(0.3), voiced(0.4), silence(0.9)])
    heard = []
    for chunked in (True, False):
        engine = ListeningEngine()
        s, rec = session(engine)
        if chunked:
            push(s, x)
        else:
            s.push(x)
        rec.wait_for(TurnDone)
        answered = engine.turns[-1]  # a reply prepared at the first pause may have been dropped (timing)
        heard.append((answered.transcript.text, [e.audio_ms for e in rec.of(EndOfTurn)]))
        s.close()
    assert heard[0] == heard[1]


def test_bad_input_is_survived():
    engine = ListeningEngine()
    s, rec = session(engine)
    s.push(np.full(333, np.nan, np.float32))  # NaN, odd length
    s.push(np.zeros(0, np.float32))
    with pytest.raises(Exception, match="mono"):
        s.push(np.zeros((2, 100), np.float32))
    push(s, np.concatenate([voiced(0.6), silence(0.8)]))
    assert rec.wait_for(TurnDone)[0].result.reply_text
    s.close()


def test_one_unclear_word_over_the_reply_waits_for_more_before_it_interrupts():
    slow = dict(reply=" ".join(f"w{i}" for i in range(60)), delay_s=0.05)
    s, rec = session(ListeningEngine(words="Life", **slow))  # "right" misheard: one word, no interruption word
    push(s, np.concatenate([silence(0.2), voiced(0.6), silence(0.7)]), realtime=True)
    rec.wait_for(AudioChunk)
    s.speaking_reply = True
    push(s, np.concatenate([voiced(0.5), silence(0.7)]), realtime=True)  # short: over before the second look
    assert not rec.of(BargeIn)
    push(s, np.concatenate([voiced(1.3), silence(0.2)]), realtime=True)  # goes on: the second look stops the reply
    rec.wait_for(BargeIn)
    s.close()
    s, rec = session(ListeningEngine(words="Stop!", **slow))
    push(s, np.concatenate([silence(0.2), voiced(0.6), silence(0.7)]), realtime=True)
    rec.wait_for(AudioChunk)
    s.speaking_reply = True
    push(s, np.concatenate([voiced(0.6), silence(0.3)]), realtime=True)  # "Stop!" interrupts at the first look
    rec.wait_for(BargeIn)
    s.close()

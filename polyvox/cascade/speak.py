"""One round of replying: LLM tokens (producer thread) → clauses → TTS audio, as events.

Generation and synthesis overlap: the LLM keeps producing into a queue while the TTS voices the
clause before. The generator's return value (via `yield from`) is the `SpokenReply`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from polyvox.cascade.llm import LlamaLLM, ParsedToolCall, PromptStats, ToolCallFilter, parse_tool_calls
from polyvox.cascade.text import ClauseSplitter, CodeFenceFilter, speakable
from polyvox.cascade.tts import DEFAULT_PROSODY, TTS, Prosody
from polyvox.engine import CancelToken
from polyvox.events import AudioChunk, Event, TextDelta, Timings

_DONE = object()
_SENTENCE_END = set(".!?。！？।؟…")


@dataclass
class SpokenReply:
    """What one round said (text, audio length) and which tools it asked for."""

    text: str = ""
    audio_samples: int = 0
    tool_calls: list[ParsedToolCall] = field(default_factory=list)


@dataclass(frozen=True)
class Voice:
    """How to speak the reply: TTS language, voice and prosody."""

    language: str
    voice: str | None = None
    prosody: Prosody = DEFAULT_PROSODY


def speak_reply(
    llm: LlamaLLM,
    tts: TTS,
    messages: list[dict[str, Any]],
    voice: Voice,
    cancel: CancelToken,
    timings: Timings,
    t0: float,
    tools: list[dict[str, Any]] | None = None,
    max_tokens: int = 160,
    audio_before: int = 0,
    session: str | None = None,
    stats: PromptStats | None = None,
) -> Generator[Event, None, SpokenReply]:
    """Stream the LLM's reply to `messages` as TextDelta and AudioChunk events (24 kHz).

    timings.llm_first_token_ms / tts_first_audio_ms are set (relative to t0) if not yet set.
    `audio_before`: samples already spoken this turn (a pause is put before this round's audio).
    `session`: the conversation (its llama.cpp evaluation is reused); `stats`: filled with the prompt's cost.
    """
    sr = tts.sample_rate
    tokens: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    # While the first clause is voiced the LLM waits, so the TTS has both cores: the first audio comes
    # ~0.4 s sooner on 2 cores; later clauses overlap with generation (audio is already playing).
    llm_may_run = threading.Event()
    llm_may_run.set()

    def ms() -> float:
        return (time.perf_counter() - t0) * 1000.0

    def produce() -> None:
        try:
            pieces = llm.stream_chat(
                messages, max_tokens=max_tokens, tools=tools, stop_flag=stop, session=session, stats=stats
            )
            for piece in pieces:
                tokens.put(piece)
                llm_may_run.wait()
        except BaseException as e:  # re-raised in the consumer
            tokens.put(e)
        finally:
            tokens.put(_DONE)

    producer = threading.Thread(target=produce, name="cascade-llm", daemon=True)
    producer.start()
    splitter, filt, fences = ClauseSplitter(), ToolCallFilter(tools_enabled=bool(tools)), CodeFenceFilter()
    reply = SpokenReply()
    parts: list[str] = []
    spoken_samples = audio_before
    previous_end = "." if audio_before else ""  # how the last spoken clause ended (sets the pause before the next)
    try:
        while True:
            item = tokens.get()
            if cancel.cancelled:
                break
            if item is _DONE:
                text = filt.flush()
                clauses = splitter.feed(fences.feed(text) + fences.flush()) + splitter.flush()
            elif isinstance(item, BaseException):
                raise item
            else:
                if not timings.llm_first_token_ms:
                    timings.llm_first_token_ms = ms()
                text = filt.feed(str(item))
                clauses = splitter.feed(fences.feed(text))
            if text:
                parts.append(text)
                yield TextDelta(text)
            for clause in clauses:
                said = speakable(clause)
                if not said:
                    continue
                # a pause before this clause: full after a sentence, half after a comma, none after a clause
                # cut only to start the audio early (no punctuation there)
                if previous_end and spoken_samples:
                    full = previous_end in _SENTENCE_END
                    pause_ms = voice.prosody.pause_ms if full else voice.prosody.pause_ms / 2
                    gap = np.zeros(int(pause_ms * sr / 1000), np.float32)
                    spoken_samples += len(gap)
                    yield AudioChunk(gap, sr, "")
                previous_end = said[-1] if not said[-1].isalnum() else ""
                first = not timings.tts_first_audio_ms
                if first:
                    llm_may_run.clear()
                for chunk in tts.stream(said, voice.language, voice=voice.voice, prosody=voice.prosody):
                    llm_may_run.set()
                    if cancel.cancelled:
                        break
                    if not timings.tts_first_audio_ms:
                        timings.tts_first_audio_ms = ms()
                    spoken_samples += len(chunk)
                    yield AudioChunk(chunk, sr, said)
                llm_may_run.set()
            if item is _DONE:
                break
    finally:
        stop.set()
        llm_may_run.set()
        producer.join(timeout=5)
    reply.text = "".join(parts).strip()
    reply.audio_samples = spoken_samples - audio_before
    _, reply.tool_calls = parse_tool_calls(filt.raw)
    return reply

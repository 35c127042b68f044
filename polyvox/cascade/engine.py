"""The cascade engine: VAD → ASR → LLM → TTS, streaming from the LLM's first clause to audio chunks.

    turn audio (16 kHz) ─ SileroVAD ─ crop to speech ─ WhisperASR ─ transcript + language
        ─ LlamaLLM.stream_chat (thread) ─ tokens ─ ClauseSplitter ─ TTS.stream ─ AudioChunk (24 kHz)

The LLM runs in a producer thread and the TTS speaks each clause as soon as it is complete, so
generation and synthesis overlap and the first audio comes after the first clause, not the reply.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.cascade.asr import AsrOptions, WhisperASR
from polyvox.cascade.languages import system_prompt
from polyvox.cascade.llm import LlamaLLM, LlmOptions, ToolCallFilter, parse_tool_calls
from polyvox.cascade.text import ClauseSplitter, speakable
from polyvox.cascade.vad import SileroVAD, VadOptions
from polyvox.engine import CancelToken, Engine, Turn
from polyvox.errors import AudioInputError, PolyvoxError
from polyvox.events import (
    AudioChunk,
    Event,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    Timings,
    ToolCall,
    TurnDone,
    TurnResult,
    UserTranscript,
)


@dataclass(frozen=True)
class CascadeConfig:
    """Everything the cascade needs to know; model locations come from the model store / env overrides."""

    vad: VadOptions = field(default_factory=VadOptions)
    asr: AsrOptions = field(default_factory=AsrOptions)
    llm: LlmOptions = field(default_factory=LlmOptions)
    use_fallback_llm: bool = False  # SmolLM2-135M instead of Qwen2.5-0.5B (faster, weaker, English)
    max_reply_tokens: int = 160
    # Languages the user may speak (ISO 639-1). Language ID picks the likeliest of these; None = every
    # language the TTS can voice. Naming the few expected languages avoids misfires on short turns.
    languages: tuple[str, ...] | None = None


_DONE = object()
_PAUSE_MS = 200.0  # silence between sentences of the reply
_SENTENCE_END = set(".!?。！？।؟…")


class CascadeEngine(Engine):
    """VAD → faster-whisper → llama.cpp → Kokoro/espeak-ng. Models load once, in the constructor."""

    name = "cascade"

    def __init__(self, config: CascadeConfig | None = None) -> None:
        from polyvox.cascade.tts import MultilingualTTS

        self.config = config or CascadeConfig()
        self.vad = SileroVAD()
        self.asr = WhisperASR(options=self.config.asr)
        self.llm = LlamaLLM(options=self.config.llm, fallback=self.config.use_fallback_llm)
        self.tts = MultilingualTTS()
        self.output_sample_rate = self.tts.sample_rate
        speakable = frozenset(self.tts.languages())  # languages the reply can be voiced in
        wanted = frozenset(self.config.languages or speakable)
        if unknown := wanted - speakable:
            raise PolyvoxError(
                f"cannot speak language(s) {', '.join(sorted(unknown))}", f"choose from {', '.join(sorted(speakable))}"
            )
        self._candidates = wanted

    def warmup(self) -> None:
        silence = np.zeros(SAMPLE_RATE // 2, np.float32)
        self.vad.probabilities(silence)
        self.asr.transcribe(silence, language="en")
        for _ in self.llm.stream_chat([{"role": "user", "content": "Hi"}], max_tokens=1):
            pass
        self.tts.synthesize("Hi.", "en")

    # -- stages -----------------------------------------------------------------------------------
    def _speech(self, turn: Turn) -> tuple[np.ndarray, float, float]:
        """Crop the turn's audio to the detected speech: (audio, start_ms, end_ms)."""
        audio = turn.audio
        if audio is None or len(audio) == 0:
            raise AudioInputError("the turn has no audio", "send some speech")
        if turn.sample_rate != SAMPLE_RATE:
            from polyvox.audio import resample

            audio = resample(audio, turn.sample_rate, SAMPLE_RATE)
        segs = self.vad.segments(audio, self.config.vad)
        if not segs:
            raise AudioInputError("no speech found in the input (only silence or noise)", "speak closer to the mic")
        a, b = segs[0].start, segs[-1].end
        return audio[a:b], a * 1000 / SAMPLE_RATE, b * 1000 / SAMPLE_RATE

    def _messages(self, turn: Turn, user_text: str, language: str) -> list[dict[str, Any]]:
        """Chat messages for the LLM.

        Tool traffic is folded into plain dialogue: a tool result is appended to the user message it
        answers ("(The function f returned: …)") and the assistant's call message is dropped. The 0.5B
        model answers from that reliably but loops, calling the tool again, on template-rendered tool
        messages (measured; see tests/test_cascade.py::test_tool_call_from_voice).
        """
        msgs: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(language, turn.instructions)}]
        last_user: dict[str, Any] | None = None
        for m in turn.history:
            if m.role == "system":
                continue
            if m.role == "tool":
                note = f"(The function {m.name or 'tool'} returned: {m.content}. Answer my question with this result.)"
                if last_user is not None:
                    last_user["content"] += "\n\n" + note
                else:
                    last_user = {"role": "user", "content": note}
                    msgs.append(last_user)
                continue
            content = m.content
            if m.role == "assistant":
                content, calls = parse_tool_calls(content)
                if calls and not content:
                    continue
            msgs.append({"role": m.role, "content": content})
            if m.role == "user":
                last_user = msgs[-1]
        if user_text:
            msgs.append({"role": "user", "content": user_text})
        return msgs

    # -- the turn ---------------------------------------------------------------------------------
    def stream(self, turn: Turn, cancel: CancelToken | None = None) -> Iterator[Event]:
        cancel = cancel or CancelToken()
        t0 = time.perf_counter()
        timings = Timings()

        def ms() -> float:
            return (time.perf_counter() - t0) * 1000.0

        if turn.text is not None:  # typed user message: no VAD/ASR
            user_text, language, lang_prob = turn.text.strip(), turn.language or "en", 1.0
        elif turn.audio is None and turn.history:  # continue after tool output (no new user input)
            user_text, language, lang_prob = "", turn.language or "en", 1.0
        else:
            speech, start_ms, end_ms = self._speech(turn)
            timings.vad_ms = ms()
            yield SpeechStarted(start_ms)
            yield SpeechStopped(end_ms)
            tr = self.asr.transcribe(speech, language=turn.language, allowed=self._candidates)
            timings.asr_ms = ms()
            if not tr.text:
                raise AudioInputError("speech was detected but no words could be recognised", "speak more clearly")
            user_text, language, lang_prob = tr.text, turn.language or tr.language, tr.language_probability
        yield UserTranscript(user_text, language, lang_prob)

        voice, warnings = turn.voice, []
        if voice is not None:
            try:
                self.tts.check(language, voice)
            except PolyvoxError as err:  # an unknown voice name must not cost the user the answer
                warnings.append(f"{err}; using the default voice")
                voice = None
        messages = self._messages(turn, user_text, language)
        # after a tool result, answer from it: offering the tools again makes the small model re-call them
        continuing = not user_text and bool(turn.history) and turn.history[-1].role == "tool"
        tools = None if continuing else (turn.tools or None)
        tokens: queue.Queue[object] = queue.Queue()
        stop = threading.Event()

        def produce() -> None:
            try:
                for piece in self.llm.stream_chat(
                    messages, max_tokens=turn.max_reply_tokens, tools=tools, stop_flag=stop
                ):
                    tokens.put(piece)
            except BaseException as e:  # re-raised in the consumer
                tokens.put(e)
            finally:
                tokens.put(_DONE)

        producer = threading.Thread(target=produce, name="cascade-llm", daemon=True)
        producer.start()
        splitter, filt = ClauseSplitter(), ToolCallFilter(tools_enabled=bool(tools))
        reply_parts: list[str] = []
        audio_samples = 0
        try:
            while True:
                item = tokens.get()
                if cancel.cancelled:
                    break
                if item is _DONE:
                    tail = filt.flush()
                    if tail:
                        reply_parts.append(tail)
                        yield TextDelta(tail)
                    clauses = splitter.feed(tail) + splitter.flush()
                elif isinstance(item, BaseException):
                    raise item
                else:
                    if not timings.llm_first_token_ms:
                        timings.llm_first_token_ms = ms()
                    spoken = filt.feed(str(item))
                    if spoken:
                        reply_parts.append(spoken)
                        yield TextDelta(spoken)
                    clauses = splitter.feed(spoken)
                for clause in clauses:
                    text = speakable(clause)
                    if not text:
                        continue
                    if audio_samples:  # a pause between clauses: full after a sentence, half after a comma
                        pause_ms = _PAUSE_MS if text[-1] in _SENTENCE_END else _PAUSE_MS / 2
                        gap = np.zeros(int(pause_ms * self.output_sample_rate / 1000), np.float32)
                        audio_samples += len(gap)
                        yield AudioChunk(gap, self.output_sample_rate, "")
                    for chunk in self.tts.stream(text, language, voice=voice):
                        if cancel.cancelled:
                            break
                        if not timings.tts_first_audio_ms:
                            timings.tts_first_audio_ms = ms()
                        audio_samples += len(chunk)
                        yield AudioChunk(chunk, self.output_sample_rate, text)
                if item is _DONE:
                    break
        finally:
            stop.set()
            producer.join(timeout=5)

        reply = "".join(reply_parts).strip()
        _, calls = parse_tool_calls(filt.raw)
        trace: dict[str, Any] = {"llm": self.llm.name, "language_probability": round(lang_prob, 3)}
        if warnings:
            trace["warning"] = "; ".join(warnings)
        for c in calls:
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            yield ToolCall(call_id, c.name, json.dumps(c.arguments, ensure_ascii=False))
        if calls:
            trace["tool_calls"] = [c.name for c in calls]
        timings.total_ms = ms()
        yield TurnDone(
            TurnResult(
                user_transcript=user_text,
                language=language,
                reply_text=reply,
                timings=timings,
                audio_seconds=audio_samples / self.output_sample_rate,
                cancelled=cancel.cancelled,
                engine=self.name,
                trace=trace,
            )
        )

"""The cascade engine: VAD → ASR → (emotion, speaker, memory) → LLM (+ tools) → TTS, streaming.

    turn audio (16 kHz) ─ SileroVAD ─ crop to speech ─ WhisperASR ─ transcript + language
        ├ EmotionRecognizer (prosody + words) ─ reply_style ─ TTS prosody + mood line for the LLM
        ├ SpeakerTracker (per conversation) ─ speaker id in the trace and the LLM context
        └ MemoryStore (per user, SQLite) ─ what is known about the user ─ system prompt; learns from the turn
    ─ speak_reply: LlamaLLM.stream_chat (thread) ─ clauses ─ TTS.stream ─ AudioChunk (24 kHz)
    ─ tool calls: engine tools (built-ins, user modules) run here and the reply continues; tools the
      caller declared in Turn.tools are handed back as ToolCall events (the Realtime client runs them).

Models load once, in the constructor; per-conversation state lives in Turn.conversation.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.cascade.asr import AsrOptions, WhisperASR
from polyvox.cascade.context import build_messages, build_system, fit_history, turn_note, with_note
from polyvox.cascade.langprior import LanguagePriorOptions
from polyvox.cascade.languages import filler, weak_language_warning
from polyvox.cascade.llm import LlamaLLM, LlmOptions, PromptStats
from polyvox.cascade.speak import SpokenReply, Voice, speak_reply
from polyvox.cascade.state import cascade_state
from polyvox.cascade.toolgate import rank_tools, select_tools
from polyvox.cascade.understand import Understanding, UnderstandingOptions
from polyvox.cascade.vad import SileroVAD, VadOptions
from polyvox.engine import CancelToken, Conversation, Engine, Message, Turn, last_user_turns, user_turn_starts
from polyvox.errors import AudioInputError, PolyvoxError
from polyvox.events import (
    AudioChunk,
    Event,
    SpeechStarted,
    SpeechStopped,
    Timings,
    ToolCall,
    TurnDone,
    TurnResult,
    UserTranscript,
)

CONTEXT_MARGIN_TOKENS = 32  # slack for the estimate of LlamaLLM.count_tokens
RECENT_ROOM_SHARE = 0.25  # of the prompt's room, kept for the last exchange before many client tools fill it


@dataclass(frozen=True)
class CascadeConfig:
    """Everything the cascade needs to know; model locations come from the model store / env overrides."""

    vad: VadOptions = field(default_factory=VadOptions)
    asr: AsrOptions = field(default_factory=AsrOptions)
    llm: LlmOptions = field(default_factory=LlmOptions)
    use_fallback_llm: bool = False  # SmolLM2-135M instead of Qwen2.5-0.5B (faster, weaker, English)
    # Languages the user may speak (ISO 639-1). Language ID picks the likeliest of these; None = every
    # language the TTS can voice. Naming the few expected languages avoids misfires on short turns.
    languages: tuple[str, ...] | None = None
    # The conversation's language weighs in on each turn's language ID (langprior: a short accented
    # English turn stays English unless the speech clearly says otherwise); weight=1 turns it off.
    language_prior: LanguagePriorOptions = field(default_factory=LanguagePriorOptions)
    understanding: UnderstandingOptions = field(default_factory=UnderstandingOptions)
    builtin_tools: bool = True  # calculator, unit conversion, time (+ memory recall with a user) run in-engine
    tools_module: str | None = None  # a Python file whose @tool functions the engine also runs
    max_tool_rounds: int = 3  # engine-tool calls answered per turn before the reply must be spoken
    tts_spin: bool = True  # the TTS's idle threads spin (faster alone; off when several sessions share the cores)
    # A conversation that outgrows the LLM's context loses its oldest turns this many at a time (see
    # context.fit_history: the prompt's start then stays cached for as many turns).
    history_drop_turns: int = 8
    # Where a turn's note (reply language, memory, speaker, mood: context.turn_note) goes: "question" puts it
    # with the user's words, after the dialogue, and each earlier turn keeps the note it had (CascadeState.
    # rendered), so the prompt is append-only and llama.cpp evaluates only the new turn (kv_cache keeps each
    # conversation's evaluation); "system" appends it to the system message, which re-evaluates the whole
    # dialogue whenever the mood, language or memory line changes (7.1 s vs 1.9 s median first audio over
    # 6-minute conversations, 2 cores).
    turn_note: Literal["system", "question"] = "question"
    # Prompts that offer only the engine's own tools (a calculator for "17 times 23", the clock for "today")
    # keep this many recent user turns of the dialogue: they run in the tool contexts, which do not hold the
    # conversation's tool-less turns, so a whole 30-minute dialogue would be evaluated again (1,000 tokens:
    # ~8 s on 2 cores) for a word the tool gate matched. The answer from a tool's result has it all again.
    tool_history_turns: int = 2


class CascadeEngine(Engine):
    """VAD → faster-whisper → llama.cpp → Piper/Kokoro/espeak-ng, with emotion, speakers, memory and tools."""

    name = "cascade"

    def __init__(self, config: CascadeConfig | None = None) -> None:
        from polyvox.cascade.tts import MultilingualTTS
        from polyvox.cascade.tts.kokoro import KokoroConfig, KokoroTTS
        from polyvox.cascade.tts.piper import PiperConfig, PiperTTS

        self.config = config or CascadeConfig()
        self.vad = SileroVAD()
        self.asr = WhisperASR(options=self.config.asr)
        self.llm = LlamaLLM(options=self.config.llm, fallback=self.config.use_fallback_llm)
        spin = self.config.tts_spin
        self.tts = MultilingualTTS(kokoro=KokoroTTS(KokoroConfig(spin=spin)), piper=PiperTTS(PiperConfig(spin=spin)))
        self.output_sample_rate = self.tts.sample_rate
        speakable = frozenset(self.tts.languages())  # languages the reply can be voiced in
        wanted = frozenset(self.config.languages or speakable)
        if unknown := wanted - speakable:
            raise PolyvoxError(
                f"cannot speak language(s) {', '.join(sorted(unknown))}", f"choose from {', '.join(sorted(speakable))}"
            )
        self._candidates = wanted
        self.understanding = Understanding(self.config.understanding)
        self._user_tools = []
        if self.config.tools_module:
            from polyvox.tools import load_tools_module

            self._user_tools = load_tools_module(self.config.tools_module)

    def warmup(self) -> None:
        silence = np.zeros(SAMPLE_RATE // 2, np.float32)
        self.vad.probabilities(silence)
        self.asr.transcribe(silence, language="en")
        self.llm.prime(build_messages(build_system(), [], "Hi"))  # caches the system prompt prefix
        self.tts.synthesize("Hi.", "en")
        self.understanding.warmup()

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

    def _tools(self, conv: Conversation) -> Any:
        """The engine-run tool registry for this conversation (memory tools need its user), or None."""
        if not (self.config.builtin_tools or self._user_tools):
            return None
        from polyvox.tools import ToolRegistry, default_registry

        if not self.config.builtin_tools:
            return ToolRegistry(self._user_tools)
        memory = self.understanding.memory if conv.user_id else None
        return default_registry(memory, conv.user_id, extra=self._user_tools)

    def _recognise(self, speech: np.ndarray, conv: Conversation, language: str | None, record: bool) -> Any:
        """WhisperASR on `speech` with the conversation's language prior; `record`: the turn's language
        joins the prior (final transcripts only: partials would count one turn several times)."""
        spoken = cascade_state(conv, self.config.language_prior).language
        tr = self.asr.transcribe(speech, language, self._candidates, prior=spoken.weights())
        if record and language is None and tr.text:
            spoken.record(tr.language)
        return tr

    def transcribe(
        self, speech: np.ndarray, conversation: Conversation, language: str | None = None, final: bool = True
    ) -> UserTranscript | None:
        tr = self._recognise(speech, conversation, language, record=False)  # the turn that answers it records
        return UserTranscript(tr.text, language or tr.language, tr.language_probability)

    def end_conversation(self, conversation: Conversation) -> None:
        self.llm.forget(conversation.id)

    # -- the turn ---------------------------------------------------------------------------------
    def stream(self, turn: Turn, cancel: CancelToken | None = None) -> Iterator[Event]:
        cancel = cancel or CancelToken()
        conv = turn.conversation or Conversation()
        t0 = time.perf_counter()
        timings = Timings()
        trace: dict[str, Any] = {"llm": self.llm.name}
        warnings: list[str] = []

        def ms() -> float:
            return (time.perf_counter() - t0) * 1000.0

        speech = None
        if turn.text is not None:  # typed user message: no VAD/ASR
            user_text, language, lang_prob = turn.text.strip(), turn.language or "en", 1.0
        elif turn.audio is None and turn.history:  # continue after tool output (no new user input)
            user_text, language, lang_prob = "", turn.language or "en", 1.0
        elif turn.transcript is not None and turn.audio is not None:  # a streaming listener transcribed it
            speech = turn.audio if turn.sample_rate == SAMPLE_RATE else self._speech(turn)[0]
            heard = turn.transcript
            if not heard.text:
                raise AudioInputError("speech was detected but no words could be recognised", "speak more clearly")
            user_text, language, lang_prob = heard.text, turn.language or heard.language, heard.language_probability
            if turn.language is None:
                cascade_state(conv, self.config.language_prior).language.record(heard.language)
            trace["listened"] = "streaming"
        else:
            speech, start_ms, end_ms = self._speech(turn)
            timings.vad_ms = ms()
            yield SpeechStarted(start_ms)
            yield SpeechStopped(end_ms)
            if turn.language and turn.language not in self.asr.languages:
                warnings.append(f"speech recognition has no '{turn.language}': transcribed without a language pin")
            tr = self._recognise(speech, conv, turn.language, record=True)
            timings.asr_ms = ms()
            if tr.heard_as is not None:  # what language ID alone would have taken (see WhisperASR.transcribe)
                trace["language_heard_as"] = tr.heard_as
            if not tr.text:
                raise AudioInputError("speech was detected but no words could be recognised", "speak more clearly")
            user_text, language, lang_prob = tr.text, turn.language or tr.language, tr.language_probability
        trace["language_probability"] = round(lang_prob, 3)
        yield UserTranscript(user_text, language, lang_prob)

        # what the voice says beyond the words: emotion, who is speaking; what memory knows
        detected = lang_prob if speech is not None else None  # typed text: the language is a default
        heard = self.understanding.hear(
            conv, speech, user_text, language, detected, turn.language is not None, self._candidates
        )
        trace.update(heard.trace)
        answer_language = heard.reply_language or language  # a stored preference decides an unsure turn
        reply_language = conv.translate_to or answer_language
        voice = Voice(reply_language, turn.voice, heard.prosody)
        if weak := weak_language_warning(reply_language):
            warnings.append(weak)
        if voice.voice is not None:
            try:
                self.tts.check(reply_language, voice.voice)
            except PolyvoxError as err:  # an unknown voice name must not cost the user the answer
                warnings.append(f"{err}; using the default voice")
                voice = Voice(reply_language, None, voice.prosody)

        if conv.translate_to and user_text:  # translation mode: the reply is the user's words, translated
            from polyvox.translate import translation_messages

            messages = translation_messages(user_text, language, conv.translate_to)
            reply = yield from speak_reply(
                self.llm, self.tts, messages, voice, cancel, timings, t0, max_tokens=turn.max_reply_tokens,
                session=conv.id,
            )  # fmt: skip
            trace["translated_to"] = conv.translate_to
        else:
            reply = yield from self._answer(
                turn, conv, user_text, answer_language, heard, voice, cancel, timings, t0, trace
            )

        if user_text and not cancel.cancelled:
            conv.turns += 1
            self.understanding.remember(conv, user_text, reply.text, language)
        if left_out := trace.get("tools_left_out"):
            warnings.append(
                f"{len(left_out)} tools were not offered to the LLM: they do not all fit its context of "
                f"{self.llm.options.n_ctx} tokens (the ones the user's words name least were left out; a larger "
                "CascadeConfig.llm.n_ctx fits more)"
            )
        if warnings:
            trace["warning"] = "; ".join(warnings)
        timings.total_ms = ms()
        yield TurnDone(
            TurnResult(
                user_transcript=user_text,
                language=reply_language,
                reply_text=reply.text,
                timings=timings,
                audio_seconds=reply.audio_samples / self.output_sample_rate,
                cancelled=cancel.cancelled,
                engine=self.name,
                trace=trace,
            )
        )

    def _room(self, max_tokens: int) -> int:
        """Prompt tokens the LLM's context holds beside `max_tokens` of reply (less the estimate's slack)."""
        return self.llm.options.n_ctx - max_tokens - CONTEXT_MARGIN_TOKENS

    def _fit_history(
        self, system: str, history: list[Message], ask: str, note: str, tools: list[dict] | None, max_tokens: int,
        rendered: dict[str, list[str]] | None = None,
    ) -> list[Message]:  # fmt: skip
        """The part of `history` that fits the LLM's context with the system prompt, `ask`, the note, `tools`
        and `max_tokens` of reply (fit_history: the oldest turns go first, history_drop_turns at a time)."""
        room = self._room(max_tokens)
        fits = lambda h: self.llm.count_tokens(build_messages(system, h, ask, note, rendered), tools or None) <= room  # noqa: E731
        return fit_history(history, fits, self.config.history_drop_turns, keep_last=not ask)

    def _fit_tools(
        self, system: str, history: list[Message], ask: str, note: str, tools: list[dict], max_tokens: int,
        trace: dict[str, Any], first: Sequence[str] = (),
    ) -> list[dict]:  # fmt: skip
        """`tools`, or as many of them as fit the LLM's context beside the system prompt, the turn's words and
        the last exchange of `history` (when that takes at most RECENT_ROOM_SHARE of the room: "move it
        there" needs it; older turns get what room the tools leave), the most relevant to the user's last
        words first (toolgate.rank_tools); the names left out go to trace["tools_left_out"].

        The kept tools come in the client's order, except that those named in `first` (the tools the
        conversation's previous tool prompt offered, in its order) lead: the schemas open the prompt, and
        llama.cpp reuses the evaluation of the prefix a prompt shares with the last one, so the tools both
        turns keep are not evaluated again (~125 tokens/s on 2 cores)."""
        room = self._room(max_tokens)
        starts = user_turn_starts(history)
        recent = history[starts[-1] :] if starts and ask else []  # no new words: the last turn is the request
        base = bare = build_messages(system, [], ask, note)
        if recent:
            with_recent = build_messages(system, recent, ask, note)
            if self.llm.count_tokens(with_recent) - self.llm.count_tokens(bare) <= RECENT_ROOM_SHARE * room:
                base = with_recent
        if self.llm.count_tokens(base, tools) <= room:
            return tools
        last_user = history[starts[-1]].content if starts else ""
        said, before = (ask, last_user) if ask else (last_user, "")
        chosen: list[dict] = []
        for tool in rank_tools(said, tools, before):
            if self.llm.count_tokens(base, [*chosen, tool]) <= room:
                chosen.append(tool)
        left_out = [t.get("function", t).get("name") for t in tools if t not in chosen]
        trace.setdefault("tools_left_out", []).extend(n for n in left_out if n not in trace["tools_left_out"])
        kept = [t for t in tools if t in chosen]  # in the client's order
        lead = {name: i for i, name in enumerate(first)}
        return sorted(kept, key=lambda t: lead.get(t.get("function", t).get("name"), len(lead)))  # stable

    def _filler(self, voice: Voice, trace: dict[str, Any], t0: float) -> Generator[Event, None, int]:
        """ "One moment." in the reply's language and voice, before a tool runs (no dead air while it does);
        returns the samples spoken. trace["filler_ms"]: when it began (the answer's own first audio is
        Timings.tts_first_audio_ms)."""
        said, n = filler(voice.language), 0
        try:
            for chunk in self.tts.stream(said, voice.language, voice=voice.voice, prosody=voice.prosody):
                trace.setdefault("filler_ms", round((time.perf_counter() - t0) * 1000, 1))
                n += len(chunk)
                yield AudioChunk(chunk, self.tts.sample_rate, said)
        except PolyvoxError as e:  # no filler is better than no answer
            trace.setdefault("notes", []).append(f"filler not spoken: {e}")
        if n:
            trace["filler"] = said
        return n

    def _check_fits(self, messages: list[dict[str, Any]], tools: list[dict] | None, max_tokens: int) -> None:
        """A clear error, instead of llama.cpp's, when even the shortest prompt cannot fit the context."""
        n_ctx = self.llm.options.n_ctx
        need = self.llm.count_tokens(messages, tools or None)
        if need + max_tokens > n_ctx:
            raise PolyvoxError(
                f"this turn needs about {need} prompt tokens and {max_tokens} for the reply, more than the LLM's "
                f"context of {n_ctx} tokens (the instructions, the user's words or a tool's output are too long)",
                "shorten the instructions or the tool output, ask for fewer reply tokens, "
                "or raise CascadeConfig.llm.n_ctx",
            )

    def _answer(self, turn, conv, user_text, language, heard, voice, cancel, timings, t0, trace):
        """Reply to the user; run engine tools and continue (up to max_tool_rounds); hand client tools back."""
        registry = self._tools(conv)
        engine_tools = select_tools(user_text, registry.schemas()) if registry is not None and user_text else []
        engine_tools = [t for t in engine_tools if t.get("function", t).get("name") not in heard.skip_tools]
        system = build_system(turn.instructions)
        note = turn_note(language, heard.mood, heard.memory, heard.speaker_line)
        history = list(turn.history)
        state = cascade_state(conv, self.config.language_prior)
        total = SpokenReply()
        ask = user_text  # the user's words, until they go into the history with a tool call
        refused = False  # the model called a tool nobody offered: answer again, without tools
        for round_ in range(self.config.max_tool_rounds + 1):
            # after a tool result, answer from it: offering the tools again makes the small model re-call them
            continuing = bool(history) and history[-1].role == "tool"
            last = round_ == self.config.max_tool_rounds
            offered = None if continuing or refused or last else (turn.tools + engine_tools)
            # Offered tools go into the prompt's first block (Qwen2.5's template), so a tool round and the answer
            # from its result lose the cached prefix anyway; their note stays in the system message (after
            # the question it kept the 0.5B model from calling the tool, after a result from using it).
            in_system = self.config.turn_note == "system" or offered or continuing
            top, end = (f"{system} {note}", "") if in_system else (system, note)
            if offered:
                before = state.tools_offered
                offered = self._fit_tools(top, history, ask, end, offered, turn.max_reply_tokens, trace, before)
                state.tools_offered = [t.get("function", t).get("name") for t in offered]
            dialogue = history
            if offered and not turn.tools and self.config.tool_history_turns is not None:
                dialogue = last_user_turns(history, self.config.tool_history_turns)
            kept = self._fit_history(top, dialogue, ask, end, offered, turn.max_reply_tokens, state.rendered)
            if len(kept) < len(dialogue):
                trace["history_dropped"] = len(dialogue) - len(kept)  # messages left out of the prompt
            messages = build_messages(top, kept, ask, end, state.rendered)
            self._check_fits(messages, offered, turn.max_reply_tokens)
            if ask and end:  # later turns render these words exactly so (the prompt stays append-only)
                state.remember_rendered(ask, with_note(end, ask))
            stats = PromptStats()
            reply = yield from speak_reply(
                self.llm, self.tts, messages, voice, cancel, timings, t0,
                tools=offered or None, max_tokens=turn.max_reply_tokens, audio_before=total.audio_samples,
                session=conv.id, stats=stats,
            )  # fmt: skip
            _add_prompt_stats(trace, stats)
            total.text = f"{total.text} {reply.text}".strip()
            total.audio_samples += reply.audio_samples
            if cancel.cancelled:
                break
            names = {t.get("function", t).get("name") for t in offered or []}
            calls = [c for c in reply.tool_calls if c.name in names]
            if invented := [c.name for c in reply.tool_calls if c.name not in names]:
                # the 0.5B model sometimes "calls" the answer ("What is my dog's name?" -> a tool named Rex)
                trace.setdefault("invented_tool_calls", []).extend(invented)
            if not calls:
                if invented and not reply.text and not refused:
                    refused = True
                    continue
                break
            if ask:
                history.append(Message("user", ask))
                ask = ""
            if registry is not None and not total.audio_samples and any(c.name in registry for c in calls):
                total.audio_samples += yield from self._filler(voice, trace, t0)  # the tool and its answer take a while
            client_calls = []
            for c in calls:
                call = ToolCall(f"call_{uuid.uuid4().hex[:12]}", c.name, json.dumps(c.arguments, ensure_ascii=False))
                yield call
                if registry is not None and c.name in registry:
                    outcome = registry.run_call(call)
                    yield outcome.event(call)
                    history += outcome.messages(call)
                    trace.setdefault("tools", []).append({"name": c.name, "ok": outcome.ok, "ms": round(outcome.ms)})
                else:
                    client_calls.append(c.name)
            if client_calls:  # the caller runs these and asks for the continuation
                trace["tool_calls"] = client_calls
                break
        return total


def _add_prompt_stats(trace: dict[str, Any], stats: PromptStats) -> None:
    """The trace's count of prompt tokens and of those evaluated (not found in the conversation's cache)."""
    trace["prompt_tokens"] = trace.get("prompt_tokens", 0) + stats.prompt_tokens
    trace["prompt_tokens_evaluated"] = trace.get("prompt_tokens_evaluated", 0) + stats.evaluated_tokens
    if stats.shifted:
        trace["prompt_tokens_shifted_out"] = trace.get("prompt_tokens_shifted_out", 0) + stats.shifted

"""The main job as a library function: spoken question file(s) in, spoken answer file out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyvox.audio import SAMPLE_RATE, Audio, load_audio, save_audio
from polyvox.engine import Conversation, Engine, Message, Turn
from polyvox.errors import PolyvoxError, UsageError
from polyvox.events import TurnResult


@dataclass(frozen=True)
class TalkOptions:
    """Per-conversation settings for `talk`."""

    language: str | None = None  # pin the reply language; None = the user's
    voice: str | None = None
    instructions: str | None = None
    max_reply_tokens: int = 160
    gap_seconds: float = 0.6  # silence between answers when several turns go into one file
    user_id: str | None = None  # durable memory: facts and voices of this user persist across runs
    translate_to: str | None = None  # translation mode: speak the user's words in this language


def create_engine(
    kind: str = "cascade",
    checkpoint: str | None = None,
    fallback_llm: bool = False,
    languages: tuple[str, ...] | None = None,
    tools_module: str | None = None,
    builtin_tools: bool = True,
    emotion: bool = True,
) -> Engine:
    """Build an engine by name: 'cascade' (VAD→ASR→LLM→TTS) or 'unified' (the end-to-end model)."""
    if kind == "cascade":
        from polyvox.cascade.engine import CascadeConfig, CascadeEngine
        from polyvox.cascade.understand import UnderstandingOptions

        return CascadeEngine(
            CascadeConfig(
                use_fallback_llm=fallback_llm,
                languages=languages,
                tools_module=tools_module,
                builtin_tools=builtin_tools,
                understanding=UnderstandingOptions(emotion=emotion),
            )
        )
    if kind == "unified":
        try:
            from polyvox.unified import load_engine
        except ImportError as e:
            raise PolyvoxError(f"the unified engine is unavailable ({e})", 'run: pip install "polyvox[unified]"') from e
        return load_engine(checkpoint)
    raise PolyvoxError(f"unknown engine '{kind}'", "use --engine cascade or --engine unified")


def talk(
    engine: Engine,
    inputs: list[str | Path | Audio],
    output: str | Path | None,
    options: TalkOptions | None = None,
    on_turn: Callable[[TurnResult], None] | None = None,
) -> list[TurnResult]:
    """Answer each input file as one user turn of a single conversation; write all answers to `output`."""
    options = options or TalkOptions()
    if options.user_id is not None:  # the library's edge: a bad id is refused before any turn, not mid-way
        from polyvox.memory.store import check_user_id

        try:
            check_user_id(options.user_id)
        except ValueError as e:
            raise UsageError(str(e), "user ids are 1-64 characters, used exactly as given") from None
    audios = [p if isinstance(p, Audio) else load_audio(p, SAMPLE_RATE) for p in inputs]
    history: list[Message] = []
    conversation = Conversation(user_id=options.user_id, translate_to=options.translate_to)
    results: list[TurnResult] = []
    pieces: list[np.ndarray] = []
    gap = np.zeros(int(options.gap_seconds * engine.output_sample_rate), np.float32)
    for audio in audios:
        turn = Turn(
            audio=audio.samples,
            sample_rate=audio.sample_rate,
            language=options.language,
            history=list(history),
            instructions=options.instructions,
            voice=options.voice,
            max_reply_tokens=options.max_reply_tokens,
            conversation=conversation,
        )
        result, reply = engine.run(turn)
        results.append(result)
        if pieces:
            pieces.append(gap)
        pieces.append(reply)
        history += [Message("user", result.user_transcript), Message("assistant", result.reply_text)]
        if on_turn:
            on_turn(result)
    if output is not None:
        save_audio(output, np.concatenate(pieces) if pieces else np.zeros(0, np.float32), engine.output_sample_rate)
    return results

"""Session configuration: the protocol's session object (merged by `session.update`) and the typed view
of it the server acts on, plus the server's fixed limits.

polyvox's own settings live in one extension object the stock client passes through unchanged:
`session.polyvox = {"translate_to": "es"}` (translation mode; null or absent = off). The connection URL's
`?translate_to=es` sets the same field when the session starts.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from openai.types.realtime import RealtimeSessionCreateRequest

from polyvox.audio import SAMPLE_RATE
from polyvox.listen.endpoint import EndOfTurnConfig
from polyvox.listen.vad import VadConfig
from polyvox.server.protocol import PCM_BYTES_PER_MS, PCM_RATE, ProtocolError

# semantic_vad without the end-of-turn model (Smart Turn not installed): its eagerness picks the silence
EAGERNESS_SILENCE_MS = {"low": 1200, "medium": 700, "auto": 700, "high": 350}
MAX_FRAME_BYTES = 4 << 20  # 4 MiB: a bigger WebSocket message is closed by the transport (1009)
OPENAI_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}
MERGED_KEYS = {"audio", "input", "output", "polyvox"}  # objects session.update merges into; others are replaced
EXTENSION_KEYS = {"translate_to"}  # what session.polyvox may hold


@dataclass(frozen=True)
class Limits:
    """What one session may do; anything beyond gets an `error` event (or, for a flood, a close)."""

    max_event_bytes: int = 1 << 20  # 1 MiB: one client message (bigger ones are refused unparsed)
    max_append_bytes: int = 480_000  # 10 s of 24 kHz pcm16 in one input_audio_buffer.append
    max_buffer_ms: int = 120_000  # 2 min of uncommitted input audio (manual mode; VAD mode trims)
    max_pending_audio_ms: int = 120_000  # user audio not yet answered (items + commits): more items are refused
    max_items: int = 500  # conversation items kept (oldest dropped first)
    events_per_second: float = 400.0  # sustained client event rate (audio at 20 ms chunks is 50/s)
    event_burst: float = 800.0  # events allowed at once above that rate
    max_pending_out: int = 4000  # server events queued for a client that does not read: then close
    send_timeout_s: float = 20.0  # a single send blocked this long (client never reads): close

    @property
    def max_append_ms(self) -> int:
        return self.max_append_bytes // PCM_BYTES_PER_MS


def check_item_audio(samples: int, pending: Iterable[Any], limits: Limits, event_id: str | None) -> None:
    """Refuse `conversation.item.create` audio (`samples` of 24 kHz pcm16) that would take the user audio
    waiting for an answer (`pending` items: 16 kHz samples each) past `max_pending_audio_ms`. Counted in
    samples, so no header, chunking or item count walks around it; once answered, audio is freed."""
    held = sum(len(i.audio) for i in pending if getattr(i, "audio", None) is not None)  # at SAMPLE_RATE
    limit = limits.max_pending_audio_ms * PCM_RATE // 1000  # in 24 kHz samples
    if samples + held * PCM_RATE // SAMPLE_RATE > limit:
        raise ProtocolError(
            "input_audio_too_long",
            f"audio items waiting for a response may hold at most {limits.max_pending_audio_ms / 1000:.0f} s in "
            f"all: this item has {samples / PCM_RATE:.1f} s, {held / SAMPLE_RATE:.1f} s already wait "
            "(send response.create first, or shorter audio)",
            "item.content",
            event_id,
        )


@dataclass(frozen=True)
class TurnDetectionConfig:
    """Server VAD on (the protocol's server_vad / semantic_vad)."""

    vad: VadConfig  # speech threshold, prefix padding
    end_of_turn: EndOfTurnConfig  # server_vad's silence, or semantic_vad's eagerness (listen.endpoint)
    create_response: bool = True  # respond when speech stops
    interrupt_response: bool = True  # speech during a response cancels it (barge-in)


@dataclass(frozen=True)
class SessionConfig:
    """The effective session, as the server uses it."""

    instructions: str | None  # system prompt; None = the engine's default
    voice: str | None  # passed to the engine as Turn.voice (None for OpenAI's built-in voice names)
    tools: tuple[dict[str, Any], ...]  # OpenAI function tool schemas
    tool_choice: str  # auto | none | required | <function name>
    output_modalities: tuple[str, ...]  # ("audio",) or ("text",)
    max_output_tokens: int | None  # None = the engine's default
    turn_detection: TurnDetectionConfig | None  # None = manual commit mode
    translate_to: str | None = None  # translation mode: every reply is the user's words in this language


def default_session(model: str) -> dict[str, Any]:
    """The session a new connection starts with (as in session.created)."""
    return {
        "type": "realtime",
        "model": model,
        "instructions": "",
        "output_modalities": ["audio"],
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": PCM_RATE},
                "transcription": {"model": "polyvox"},
                "noise_reduction": None,
                # semantic_vad: Smart Turn and the words at each pause (docs/bench_end_of_turn: fewer cut-ins into
                # a mid-sentence pause than server_vad's 500 ms, 41 % against 85 %, complete turns as soon)
                "turn_detection": {
                    "type": "semantic_vad",
                    "eagerness": "auto",
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": {"type": "audio/pcm", "rate": PCM_RATE}, "voice": "alloy", "speed": 1.0},
        },
    }


def _merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if k in MERGED_KEYS and isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def merge_update(
    current: dict[str, Any], update: Any, event_id: str | None, languages: Collection[str] | None = None
) -> dict[str, Any]:
    """Apply one `session.update` payload (a validated session model) to the session dict.

    Only fields present in the update change; `null` clears (e.g. turn_detection: null = manual mode).
    languages: what the engine can speak (a translation target outside it is refused).
    Raises ProtocolError for what polyvox cannot honour.
    """
    if not isinstance(update, RealtimeSessionCreateRequest):
        raise ProtocolError(
            "unsupported_session_type",
            "only realtime sessions are served (session.type 'realtime')",
            "session.type",
            event_id,
        )
    patch = update.model_dump(mode="json", exclude_unset=True)
    patch.pop("model", None)  # the model is fixed by the server
    merged = copy.deepcopy(current)
    _merge(merged, patch)
    for side in ("input", "output"):
        fmt = ((merged.get("audio") or {}).get(side) or {}).get("format") or {}
        if fmt.get("type", "audio/pcm") != "audio/pcm":
            raise ProtocolError(
                "unsupported_audio_format",
                f"audio.{side}.format: polyvox speaks audio/pcm (24 kHz pcm16) only",
                f"session.audio.{side}.format",
                event_id,
            )
    modalities = merged.get("output_modalities") or ["audio"]
    if len(modalities) != 1:
        raise ProtocolError(
            "invalid_value", "output_modalities must be ['audio'] or ['text']", "session.output_modalities", event_id
        )
    tokens = merged.get("max_output_tokens")
    if isinstance(tokens, int) and not 1 <= tokens <= 4096:
        raise ProtocolError(
            "invalid_value", "max_output_tokens must be 1..4096 or 'inf'", "session.max_output_tokens", event_id
        )
    td = ((merged.get("audio") or {}).get("input") or {}).get("turn_detection")
    if td and td.get("type") == "server_vad":
        _check_vad(td, event_id)
    if "polyvox" in merged:
        merged["polyvox"] = check_extension(merged["polyvox"], event_id, languages)
    RealtimeSessionCreateRequest.model_validate(merged)  # the merged whole is still a valid session
    return merged


def _check_vad(td: dict[str, Any], event_id: str | None) -> None:
    p = "session.audio.input.turn_detection"
    if td.get("threshold") is not None and not 0.0 <= td["threshold"] <= 1.0:
        raise ProtocolError("invalid_value", "threshold must be in [0, 1]", f"{p}.threshold", event_id)
    for name in ("prefix_padding_ms", "silence_duration_ms"):
        if td.get(name) is not None and not 0 <= td[name] <= 10_000:
            raise ProtocolError("invalid_value", f"{name} must be in [0, 10000]", f"{p}.{name}", event_id)


def check_extension(ext: Any, event_id: str | None, languages: Collection[str] | None = None) -> dict[str, Any]:
    """The validated `session.polyvox` object ({"translate_to": code or None}); ProtocolError otherwise."""
    from polyvox.translate import target_language

    if ext is None:
        return {"translate_to": None}
    if not isinstance(ext, dict):
        raise ProtocolError("invalid_value", "session.polyvox must be an object", "session.polyvox", event_id)
    if unknown := set(ext) - EXTENSION_KEYS:
        raise ProtocolError(
            "invalid_value",
            f"session.polyvox has no field {', '.join(sorted(unknown))[:80]}; known: {', '.join(EXTENSION_KEYS)}",
            "session.polyvox",
            event_id,
        )
    code = ext.get("translate_to")
    if code is None:
        return {"translate_to": None}
    try:
        return {"translate_to": target_language(code, languages)}
    except ValueError as e:
        raise ProtocolError("invalid_value", str(e), "session.polyvox.translate_to", event_id) from None


def _tool_name(tc: Any) -> str:
    if isinstance(tc, dict):
        return str(tc.get("name") or tc.get("server_label") or "auto")
    return str(tc or "auto")


def _turn_detection(td: dict[str, Any] | None) -> TurnDetectionConfig | None:
    if not td:
        return None
    d = VadConfig()
    if td.get("type") == "semantic_vad":
        vad = VadConfig(silence_duration_ms=EAGERNESS_SILENCE_MS.get(td.get("eagerness") or "auto", 700))
    else:
        vad = VadConfig(
            threshold=d.threshold if td.get("threshold") is None else float(td["threshold"]),
            prefix_padding_ms=d.prefix_padding_ms if td.get("prefix_padding_ms") is None else td["prefix_padding_ms"],
            silence_duration_ms=(
                d.silence_duration_ms if td.get("silence_duration_ms") is None else td["silence_duration_ms"]
            ),
        )
    try:
        end_of_turn = EndOfTurnConfig.from_realtime(td)
    except ValueError:  # merge_update checked the fields; an unknown eagerness falls back to the default
        end_of_turn = EndOfTurnConfig(mode="semantic_vad")
    return TurnDetectionConfig(
        vad=vad,
        end_of_turn=end_of_turn,
        create_response=td.get("create_response") is not False,
        interrupt_response=td.get("interrupt_response") is not False,
    )


def engine_voice(v: Any) -> str | None:
    """The protocol's voice -> Turn.voice: OpenAI's built-in names mean "the engine's default" (None)."""
    if isinstance(v, dict):
        v = v.get("id")
    v = getattr(v, "id", v)
    return None if not v or v in OPENAI_VOICES else str(v)


def session_config(s: dict[str, Any]) -> SessionConfig:
    """The typed view of a (merged, valid) session dict."""
    audio = s.get("audio") or {}
    tokens = s.get("max_output_tokens")
    tools = tuple(t for t in (s.get("tools") or []) if t.get("type", "function") == "function")
    return SessionConfig(
        instructions=s.get("instructions") or None,
        voice=engine_voice((audio.get("output") or {}).get("voice")),
        tools=tools,
        tool_choice=_tool_name(s.get("tool_choice")),
        output_modalities=tuple(s.get("output_modalities") or ["audio"]),
        max_output_tokens=tokens if isinstance(tokens, int) else None,
        turn_detection=_turn_detection((audio.get("input") or {}).get("turn_detection")),
        translate_to=(s.get("polyvox") or {}).get("translate_to"),
    )


def session_payload(s: dict[str, Any], session_id: str) -> RealtimeSessionCreateRequest:
    """The session object for session.created / session.updated (with GA's id and object)."""
    return RealtimeSessionCreateRequest.model_validate({**s, "id": session_id, "object": "realtime.session"})

"""The OpenAI Realtime protocol (GA event names): parse client events, build server events.

The schema is never hand-copied: client events are validated with the `openai.types.realtime`
pydantic models (dispatched on `type`), and every server event is constructed as (and so validated
against) its `openai.types.realtime` model before it is serialised.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
from openai.types.realtime import RealtimeClientEvent
from pydantic import BaseModel, ValidationError

from polyvox.audio import OUTPUT_SAMPLE_RATE

PCM_RATE = OUTPUT_SAMPLE_RATE  # 24 kHz: the only rate `audio/pcm` allows, in and out
PCM_BYTES_PER_MS = PCM_RATE * 2 // 1000  # 48 bytes: 16-bit mono at 24 kHz
MAX_NESTING = 64  # JSON objects/arrays inside each other in one event (a tool schema needs ~10; pydantic fails ~250)


def _client_event_models() -> dict[str, type[BaseModel]]:
    """`type` literal -> model class, read from the `RealtimeClientEvent` union itself."""
    union = get_args(RealtimeClientEvent)[0]  # Annotated[Union[...], PropertyInfo] -> Union[...]
    return {get_args(cls.model_fields["type"].annotation)[0]: cls for cls in get_args(union)}


CLIENT_EVENTS: dict[str, type[BaseModel]] = _client_event_models()


class ProtocolError(Exception):
    """A client event the server refuses; becomes an `error` server event (the connection stays up)."""

    def __init__(
        self,
        code: str,
        message: str,
        param: str | None = None,
        event_id: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.event_id = event_id
        self.type = type


def new_id(prefix: str) -> str:
    """A fresh id in OpenAI's style, e.g. `item_3f9a…` (22 hex digits)."""
    return f"{prefix}_{secrets.token_hex(11)}"


def parse_client_event(text: str | bytes) -> BaseModel:
    """One WebSocket message -> a validated client event model, or ProtocolError saying what is wrong."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ProtocolError("invalid_json", f"the message is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_event", "an event must be a JSON object")
    if (depth := nesting(data)) > MAX_NESTING:
        raise ProtocolError(
            "invalid_event",
            f"the event nests objects/arrays {depth} levels deep; at most {MAX_NESTING} are allowed",
            None,
            data.get("event_id") if isinstance(data.get("event_id"), str) else None,
        )
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_event", "the event has no string 'type'", "type", event_id)
    model = CLIENT_EVENTS.get(kind)
    if model is None:
        raise ProtocolError(
            "unknown_event", f"unknown event type '{kind[:80]}'; known: {', '.join(CLIENT_EVENTS)}", "type", event_id
        )
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        # drop union-member names (capitalised class names) from the location: session.instructions
        loc = [str(p) for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper())]
        param = ".".join(loc) or None
        raise ProtocolError("invalid_value", f"{kind}: {param}: {err['msg']}", param, event_id) from None


def nesting(value: Any) -> int:
    """How deeply JSON objects/arrays nest in `value` (0 for a scalar); iterative, so no depth can crash it."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((c, depth + 1) for c in children)
    return deepest


def from_exception(e: Exception, event_id: str | None) -> ProtocolError:
    """A validation failure found while handling an event (pydantic, ValueError, ...) as a client error."""
    if isinstance(e, ValidationError) and e.errors():
        err = e.errors()[0]
        param = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper())) or None
        return ProtocolError("invalid_value", f"{param}: {err['msg']}" if param else err["msg"], param, event_id)
    what = "the event nests too deeply" if isinstance(e, RecursionError) else str(e) or type(e).__name__
    return ProtocolError("invalid_value", f"the event cannot be used: {what[:300]}", None, event_id)


def decode_pcm16(b64: str, max_bytes: int, event_id: str | None = None) -> np.ndarray:
    """Base64 pcm16 (24 kHz mono LE) -> (n,) int16, refusing non-base64, odd or oversized payloads."""
    if len(b64) > (max_bytes * 4) // 3 + 4:
        raise ProtocolError(
            "audio_too_large",
            f"an audio chunk may hold at most {max_bytes} bytes ({max_bytes // PCM_BYTES_PER_MS} ms of pcm16)",
            "audio",
            event_id,
        )
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("invalid_audio", "audio is not valid base64", "audio", event_id) from None
    if len(raw) % 2:
        raise ProtocolError(
            "invalid_audio", "audio is not pcm16: odd number of bytes (send whole 16-bit samples)", "audio", event_id
        )
    return np.frombuffer(raw, dtype="<i2")


def encode_pcm16(x: np.ndarray) -> str:
    """(n,) float32 in [-1, 1] -> base64 little-endian pcm16."""
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2")
    return base64.b64encode(pcm.tobytes()).decode("ascii")


@dataclass(frozen=True)
class ServerEvent:
    """A serialised server event, tagged so the sender can drop stale audio after a cancel."""

    text: str  # the JSON sent on the wire
    type: str  # the event type, e.g. "response.output_audio.delta"
    response_id: str | None = None  # the response it belongs to: unsent audio deltas are dropped on cancel


def build(model: type[BaseModel], **fields: Any) -> ServerEvent:
    """Construct (and so validate) a server event model and serialise it; adds `type` and a fresh `event_id`."""
    kind = get_args(model.model_fields["type"].annotation)[0]
    ev = model(type=kind, event_id=new_id("event"), **fields)
    rid = fields.get("response_id")
    return ServerEvent(ev.model_dump_json(exclude_none=True), kind, rid if isinstance(rid, str) else None)


def error_event(err: ProtocolError) -> ServerEvent:
    from openai.types.realtime import RealtimeErrorEvent
    from openai.types.realtime.realtime_error import RealtimeError

    body = RealtimeError(type=err.type, code=err.code, message=err.message, param=err.param, event_id=err.event_id)
    return build(RealtimeErrorEvent, error=body)

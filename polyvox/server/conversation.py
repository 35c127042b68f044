"""One session's conversation: ordered items, their protocol form, and the engine `Turn` they make.

Mapping to the engine's chat form (polyvox.engine.Message):
- user message (text, or audio once transcribed)  -> Message("user", text)
- assistant message (transcript, truncated)        -> Message("assistant", text)
- function_call       -> Message("assistant", '{"name": fn, "arguments": {…}}', tool_call_id=call_id)
- function_call_output                             -> Message("tool", output, name=fn, tool_call_id=call_id)
- system message                                   -> Message("system", text)
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from openai.types.realtime import (
    RealtimeConversationItemAssistantMessage,
    RealtimeConversationItemFunctionCall,
    RealtimeConversationItemFunctionCallOutput,
    RealtimeConversationItemSystemMessage,
    RealtimeConversationItemUserMessage,
)
from pydantic import BaseModel

from polyvox.audio import SAMPLE_RATE
from polyvox.engine import Conversation as EngineConversation
from polyvox.engine import Message, Turn
from polyvox.server.protocol import ProtocolError

GAP = np.zeros(SAMPLE_RATE // 5, np.float32)  # 200 ms of silence between two pending audio items


@dataclass
class Item:
    """A conversation item and what the server knows about it beyond the protocol fields."""

    id: str
    type: Literal["message", "function_call", "function_call_output"]
    role: Literal["user", "assistant", "system"] | None = None
    text: str = ""  # text content, or the transcript of audio content
    audio: np.ndarray | None = None  # user audio (n,) float32 at 16 kHz, kept until transcribed
    has_audio: bool = False  # the content is audio (input_audio / output_audio) rather than text
    transcribed: bool = False  # user audio: the engine's transcript arrived
    name: str = ""  # function name (function_call / function_call_output)
    call_id: str = ""
    arguments: str = ""
    output: str = ""
    status: Literal["completed", "incomplete", "in_progress"] = "completed"
    audio_ms: float = 0.0  # assistant: duration of the audio sent
    spans: list[tuple[float, str]] = field(default_factory=list)  # assistant: (audio end ms, text spoken)

    def to_model(self) -> BaseModel:
        """The protocol's ConversationItem (audio bytes are never echoed back)."""
        base: dict[str, Any] = {"id": self.id, "object": "realtime.item", "status": self.status}
        if self.type == "function_call":
            return RealtimeConversationItemFunctionCall(
                type="function_call", name=self.name, call_id=self.call_id, arguments=self.arguments, **base
            )
        if self.type == "function_call_output":
            return RealtimeConversationItemFunctionCallOutput(
                type="function_call_output", call_id=self.call_id, output=self.output, **base
            )
        if self.role == "assistant":
            part = (
                {"type": "output_audio", "transcript": self.text}
                if self.has_audio
                else {"type": "output_text", "text": self.text}
            )
            return RealtimeConversationItemAssistantMessage(type="message", role="assistant", content=[part], **base)
        if self.role == "system":
            return RealtimeConversationItemSystemMessage(
                type="message", role="system", content=[{"type": "input_text", "text": self.text}], **base
            )
        part = (
            {"type": "input_audio", "transcript": self.text if self.transcribed else None}
            if self.has_audio
            else {"type": "input_text", "text": self.text}
        )
        return RealtimeConversationItemUserMessage(type="message", role="user", content=[part], **base)

    def heard_until(self, audio_end_ms: float) -> None:
        """The text only of what was heard by `audio_end_ms` (the server's own estimate after a barge-in);
        the audio and its alignment stay, so the client's `conversation.item.truncate` can still refine it."""
        if self.spans:
            self.text = "".join(t for end, t in self.spans if end <= audio_end_ms + 1e-6).strip()

    def truncate(self, audio_end_ms: float) -> None:
        """Keep only what the listener heard: audio up to `audio_end_ms` and the text spoken by then."""
        if self.spans:
            self.text = "".join(t for end, t in self.spans if end <= audio_end_ms + 1e-6).strip()
        elif self.audio_ms > 0:  # no alignment: cut the text in proportion to the audio kept
            keep = int(len(self.text) * min(1.0, audio_end_ms / self.audio_ms))
            self.text = self.text[:keep].rsplit(" ", 1)[0] if keep < len(self.text) else self.text
        self.audio_ms = min(self.audio_ms, audio_end_ms)
        self.spans = [(end, t) for end, t in self.spans if end <= audio_end_ms + 1e-6]


def item_from_model(m: BaseModel, item_id: str, audio: np.ndarray | None) -> Item:
    """A client's `conversation.item.create` item -> Item (audio: decoded user audio at 16 kHz, if any)."""
    kind = getattr(m, "type", None)
    if kind == "function_call":
        return Item(item_id, "function_call", name=m.name, call_id=m.call_id or "", arguments=m.arguments)
    if kind == "function_call_output":
        return Item(item_id, "function_call_output", call_id=m.call_id, output=m.output)
    role = getattr(m, "role", None)
    if kind != "message" or role not in ("user", "assistant", "system"):
        raise ProtocolError("unsupported_item", f"item type '{kind}' is not supported", "item.type")
    texts = [c.text or c.transcript or "" for c in m.content if getattr(c, "type", "") != "input_audio"]
    has_audio = audio is not None
    return Item(
        item_id,
        "message",
        role=role,
        text=" ".join(t for t in texts if t),
        audio=audio,
        has_audio=has_audio or any(getattr(c, "type", "") == "output_audio" for c in m.content),
    )


class Conversation:
    """Ordered items by id; bounded (oldest dropped first)."""

    def __init__(self, max_items: int) -> None:
        self.items: OrderedDict[str, Item] = OrderedDict()
        self.state = EngineConversation()  # the engine's per-session state (speakers, prosody baselines)
        self.max_items = max_items

    def last_id(self) -> str | None:
        return next(reversed(self.items)) if self.items else None

    def add(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Insert after `previous_item_id` (default: at the end); returns the id it follows."""
        if previous_item_id is not None and previous_item_id != "root" and previous_item_id not in self.items:
            raise ProtocolError(
                "item_not_found", f"previous_item_id '{previous_item_id}' not found", "previous_item_id"
            )
        if item.id in self.items:
            raise ProtocolError("duplicate_item_id", f"item '{item.id}' already exists", "item.id")
        if previous_item_id is None or previous_item_id == self.last_id():
            prev = self.last_id()
            self.items[item.id] = item
        else:
            order = list(self.items.values())
            at = 0 if previous_item_id == "root" else [i.id for i in order].index(previous_item_id) + 1
            order.insert(at, item)
            self.items = OrderedDict((i.id, i) for i in order)
            prev = None if at == 0 else order[at - 1].id
        while len(self.items) > self.max_items:
            self.items.popitem(last=False)
        return prev

    def get(self, item_id: str) -> Item:
        if item_id not in self.items:
            raise ProtocolError("item_not_found", f"item '{item_id}' not found", "item_id")
        return self.items[item_id]

    def delete(self, item_id: str) -> None:
        self.get(item_id)
        del self.items[item_id]

    def _tool_name(self, call_id: str) -> str:
        for i in self.items.values():
            if i.type == "function_call" and i.call_id == call_id:
                return i.name
        return ""

    def _message(self, i: Item) -> Message | None:
        if i.type == "function_call":
            try:
                args = json.loads(i.arguments or "{}")
            except ValueError:
                args = i.arguments  # passed on as the model wrote it
            return Message("assistant", json.dumps({"name": i.name, "arguments": args}), tool_call_id=i.call_id)
        if i.type == "function_call_output":
            return Message("tool", i.output, name=self._tool_name(i.call_id) or None, tool_call_id=i.call_id)
        if not i.text:
            return None
        return Message(i.role or "user", i.text)

    def history(self) -> list[Message]:
        """The conversation as the engine's messages (a snapshot; safe to call from a listener's thread)."""
        for _ in range(3):  # the event loop may add an item meanwhile: take the snapshot again
            try:
                items = list(self.items.values())
                break
            except RuntimeError:
                continue
        else:
            items = []
        return [m for i in items if (m := self._message(i)) is not None]

    def pending_audio(self) -> list[Item]:
        """User audio items the engine has not transcribed yet (answered by the next turn)."""
        return [i for i in self.items.values() if i.has_audio and i.role == "user" and not i.transcribed]

    def build_turn(self) -> tuple[Turn, list[Item]]:
        """The next engine turn from the conversation, and the user audio items it transcribes.

        Pending user audio -> Turn.audio (several are joined with 200 ms gaps); else a trailing user text
        message -> Turn.text; else (after a function_call_output, or an empty conversation) neither:
        the engine continues from `history` alone.
        """
        pending = [i for i in self.pending_audio() if i.audio is not None and len(i.audio)]
        items = [i for i in self.items.values() if i not in pending]
        turn = Turn(conversation=self.state)
        if pending:
            parts = [p for i in pending for p in (GAP, i.audio)][1:]
            turn.audio = np.concatenate(parts).astype(np.float32)
        elif items and items[-1].type == "message" and items[-1].role == "user" and items[-1].text:
            turn.text = items.pop().text
        turn.history = [m for i in items if (m := self._message(i)) is not None]
        return turn, pending

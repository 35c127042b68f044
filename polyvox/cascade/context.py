"""What the LLM is told: the system prompt (instructions, reply language, the user's mood, memory) and the
dialogue so far, with tool traffic folded into plain speech the 0.5B model handles."""

from __future__ import annotations

import json
from typing import Any

from polyvox.cascade.languages import system_prompt
from polyvox.cascade.llm import parse_tool_calls
from polyvox.engine import Message


def build_system(
    language: str,
    instructions: str | None = None,
    mood: str = "",
    memory: str = "",
    speaker: str = "",
) -> str:
    """The system message: instructions + reply-language rule, then what is known about user and mood."""
    parts = [system_prompt(language, instructions)]
    if memory:
        parts.append(memory)
    if speaker:
        parts.append(speaker)
    if mood:
        parts.append(mood)
    return " ".join(parts)


def result_words(content: str) -> str:
    """A tool's JSON result as words: its "text" field, else "key value" pairs; anything else unchanged.

    '{"expression": "2 + 3", "result": 5}' -> "expression 2 + 3, result 5".
    """
    try:
        value = json.loads(content)
    except ValueError:
        return content
    if not isinstance(value, dict) or not value:
        return content
    if isinstance(value.get("text"), str) and value["text"]:
        return value["text"]
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())


def build_messages(system: str, history: list[Message], user_text: str) -> list[dict[str, Any]]:
    """Chat messages for the LLM.

    Tool traffic is folded into plain dialogue: a tool result is appended to the user message it
    answers ("(The calculator tool gave: expression 2 + 3, result 5. …)", JSON flattened into words: given
    the JSON, the model sometimes read it out) and the assistant's call message is dropped. The 0.5B
    model answers from that reliably but loops, calling the tool again, on template-rendered tool
    messages (measured; see tests/test_cascade.py::test_tool_call_from_voice).
    """
    msgs: list[dict[str, Any]] = [{"role": "system", "content": system}]
    last_user: dict[str, Any] | None = None
    for m in history:
        if m.role == "system":
            continue
        if m.role == "tool":
            note = (
                f"(The {m.name or 'tool'} tool gave: {result_words(m.content)}. Answer my question with this "
                "result in one short sentence; do not mention the tool.)"
            )
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

"""What the LLM is told: the system prompt (instructions, reply language, the user's mood, memory) and the
dialogue so far, with tool traffic folded into plain speech the 0.5B model handles."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from polyvox.cascade.languages import DEFAULT_INSTRUCTIONS, language_rule
from polyvox.cascade.llm import parse_tool_calls
from polyvox.engine import Message, user_turn_starts


def build_system(instructions: str | None = None) -> str:
    """The conversation's system message: the session's instructions, the same on every turn.

    What changes from turn to turn is `turn_note`. The engine appends it here by default
    (CascadeConfig.turn_note="system"); llama.cpp reuses the KV cache of the prefix a prompt shares
    with the previous one, so a note up here re-evaluates the whole dialogue whenever the mood or
    language changes (6-15 s of first-token time after 40 turns on 2 cores), and "question" keeps it out.
    """
    return instructions or DEFAULT_INSTRUCTIONS


def turn_note(language: str, mood: str = "", memory: str = "", speaker: str = "") -> str:
    """This turn's note (build_messages puts it with the user's words): the reply-language rule, then
    what is known about the user, who is speaking, and their mood."""
    return " ".join(part for part in (language_rule(language), memory, speaker, mood) if part)


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


def build_messages(
    system: str,
    history: list[Message],
    user_text: str,
    note: str = "",
    rendered: Mapping[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """Chat messages for the LLM: `system`, the dialogue, and `note` (turn_note) in parentheses before
    the words of the last user message: what holds for this turn only, after the cached dialogue. (Of
    the places sampled with the 0.5B model — the system message 9/12, a system message before the
    question 4/12, after it 7/12, this 10/12 — this one kept the reply language and the mood
    instruction most often; a system message after the question turned one into a refusal.)

    Tool traffic is folded into plain dialogue: a tool result is appended to the user message it
    answers ("(The calculator tool gave: expression 2 + 3, result 5. …)", JSON flattened into words: given
    the JSON, the model sometimes read it out) and the assistant's call message is dropped. The 0.5B
    model answers from that reliably but loops, calling the tool again, on template-rendered tool
    messages (measured; see tests/test_cascade.py::test_tool_call_from_voice).

    `rendered` maps an earlier user message's words to the forms its turns put into the prompt, oldest first
    (their notes included: CascadeState.rendered; words said twice may have had two notes: the last
    occurrence in `history` takes the latest form), so the dialogue is rendered exactly as it was evaluated
    and the prompt only ever grows at its end (llama.cpp then evaluates just the new turn).
    """
    later: dict[str, int] = {}  # occurrences of the same words after this message
    occurrence: dict[int, int] = {}
    for i in range(len(history) - 1, -1, -1):
        if history[i].role == "user":
            occurrence[i] = later.get(history[i].content, 0)
            later[history[i].content] = occurrence[i] + 1
    msgs: list[dict[str, Any]] = [{"role": "system", "content": system}]
    last_user: dict[str, Any] | None = None
    for i, m in enumerate(history):
        if m.role == "system":
            continue
        if m.role == "tool":
            said = (
                f"(The {m.name or 'tool'} tool gave: {result_words(m.content)}. Answer my question with this "
                "result in one short sentence; do not mention the tool.)"
            )
            if last_user is not None:
                last_user["content"] += "\n\n" + said
            else:
                last_user = {"role": "user", "content": said}
                msgs.append(last_user)
            continue
        content = m.content
        if m.role == "user" and rendered and (forms := rendered.get(content)):
            content = forms[max(0, len(forms) - 1 - occurrence[i])]
        if m.role == "assistant":
            content, calls = parse_tool_calls(content)
            if calls and not content:
                continue
        msgs.append({"role": m.role, "content": content})
        if m.role == "user":
            last_user = msgs[-1]
    if user_text:
        msgs.append({"role": "user", "content": user_text})
    if note:
        at = next((i for i in range(len(msgs) - 1, 0, -1) if msgs[i]["role"] == "user"), None)
        if at is None:
            msgs.append({"role": "system", "content": note})
        else:
            if not msgs[at]["content"].startswith(f"({note})"):  # an earlier turn rendered with its note already
                msgs[at] = {"role": "user", "content": with_note(note, msgs[at]["content"])}
    return msgs


def with_note(note: str, words: str) -> str:
    """A user message with its turn's note before the words."""
    return f"({note})\n{words}" if note else words


def fit_history(
    history: list[Message], fits: Callable[[list[Message]], bool], block: int, keep_last: bool = False
) -> list[Message]:
    """`history` if it `fits` (the LLM's context), else without its oldest user turns (each with what
    followed it), dropped `block` turns at a time, fewest blocks first; when no such cut fits, the last
    user turn alone (what "it" or "there" in the new words refers to is mostly there); [] when that
    does not fit either.

    Dropping in blocks keeps the start of the prompt the same for about `block` turns after each cut,
    so llama.cpp, which reuses the KV cache of the prefix a prompt shares with the previous one,
    evaluates only each turn's new words; dropping one turn at a time would shift the whole dialogue,
    and re-evaluate it, on every turn. keep_last: never drop the last user turn (a reply continuing
    after its tool results needs it), even when it alone does not fit.
    """
    if fits(history):
        return history
    starts = user_turn_starts(history)
    for k in range(block, len(starts), block):
        if fits(kept := history[starts[k] :]):
            return kept
    if starts and (keep_last or fits(history[starts[-1] :])):  # the last exchange, where the blocks overshoot
        return history[starts[-1] :]
    return []

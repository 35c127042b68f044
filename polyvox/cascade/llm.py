"""The reasoning stage: a chat LLM in GGUF form run by llama-cpp-python, streaming tokens.

Default model: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M); SmolLM2-135M-Instruct is the fallback.
Tool calls follow Qwen2.5's chat template: the GGUF's template renders `tools`, the model answers
with `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, which `ToolCallParser` extracts.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyvox.cascade.kv_cache import ContextPool, shift_out
from polyvox.errors import ModelError


@dataclass(frozen=True)
class LlmOptions:
    """Generation settings."""

    n_ctx: int = 2048  # tokens of context: system prompt + a few turns of spoken dialogue
    n_threads: int = 2
    temperature: float = 0.3  # low: short factual spoken answers, little rambling
    top_p: float = 0.9
    repeat_penalty: float = 1.1
    seed: int = 0
    # llama.cpp contexts are single-threaded: `instances` contexts serve that many conversations at once
    # (the GGUF is memory-mapped, so an extra instance costs its KV cache and compute buffers: ~110 MB)
    instances: int = 1
    # prompts that offer tools run in contexts of their own: llama.cpp reuses the prefix a prompt shares with
    # the one its context evaluated last, and the tools' schemas (1,000+ tokens for a client with many) sit
    # at the prompt's start, so a tool-less prompt between two tool turns (the answer from a tool's result,
    # a turn that needs no tool) would make the next tool turn evaluate them all again (each context: ~110 MB
    # of private memory, its KV cache and compute buffers; BFCL multi-turn: first tokens after a case's first
    # turn 34% sooner)
    tool_contexts: bool = True


# Prompt tokens beyond the messages' own words (Qwen2.5's ChatML template; an upper estimate):
TEMPLATE_TOKENS_PER_MESSAGE = 6  # "<|im_start|>role\n" ... "<|im_end|>\n"
TOOLS_TEMPLATE_TOKENS = 90  # the "# Tools ... <tools></tools> ... <tool_call>" instructions (Qwen2.5: ~76)
TOKEN_COUNT_CACHE = 4096  # texts whose token counts are remembered


@dataclass
class PromptStats:
    """What one generation's prompt cost: its length, and how much of it the context had to evaluate."""

    prompt_tokens: int = 0  # the whole prompt
    evaluated_tokens: int = 0  # the part not found in the context's cache (the rest was reused)
    shifted: int = 0  # tokens of dropped turns taken out of the context's cache (kv_cache.shift_out)


@dataclass(frozen=True)
class ParsedToolCall:
    name: str
    arguments: dict[str, Any]


class LlamaLLM:
    """A GGUF chat model: a pool of `options.instances` llama.cpp contexts, one generation each at a time (and
    as many again for prompts that offer tools, with `options.tool_contexts`)."""

    def __init__(self, model: str | Path | None = None, options: LlmOptions | None = None, fallback: bool = False):
        try:
            import llama_cpp
        except ImportError as e:
            raise ModelError(
                "llama-cpp-python is not installed", "run: make setup (or pip install llama-cpp-python)"
            ) from e
        self.options = options or LlmOptions()
        if model is None:
            from polyvox.models import default_store

            model = default_store().path("smollm2-135m" if fallback else "qwen2.5-coder-0.5b")
        self.path = Path(model)
        self.instances = max(1, self.options.instances)  # the pool's size
        # contexts for prompts without tools, and (tool_contexts) for prompts with tools; each pool keeps every
        # conversation's own evaluation (kv_cache.ContextPool), so a turn evaluates only its new tokens
        self._pool = ContextPool([self._load(llama_cpp) for _ in range(self.instances)])
        self._tool_pool = (
            ContextPool([self._load(llama_cpp) for _ in range(self.instances)])
            if self.options.tool_contexts
            else self._pool
        )
        llm = self._pool.contexts[0]
        self._vocab = llm  # tokenizes for count_tokens (the vocabulary is read-only: safe beside a generation)
        self._token_counts: dict[str, int] = {}
        self.name = str(llm.metadata.get("general.name", self.path.stem))
        self._active = 0  # generations running now (over all contexts)
        self._active_lock = threading.Lock()

    def _pools(self) -> list[ContextPool]:
        """The context pools: one, or the tool-less one and the one for prompts with tools."""
        return [self._pool] if self._tool_pool is self._pool else [self._pool, self._tool_pool]

    def forget(self, session: str) -> None:
        """A conversation ended: free the llama.cpp state kept for it."""
        for pool in self._pools():
            pool.forget(session)

    def _load(self, llama_cpp: Any) -> Any:
        """One llama.cpp context of the model, counting the prompt tokens it evaluates (PromptStats)."""
        try:
            llm = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=self.options.n_ctx,
                n_threads=self.options.n_threads,
                n_threads_batch=self.options.n_threads,
                seed=self.options.seed,
                verbose=False,
            )
        except Exception as e:
            raise ModelError(
                f"cannot load the GGUF model {self.path}: {e}", "check the file or run polyvox setup"
            ) from e
        evaluate = llm.eval
        llm._polyvox_prompt_eval = None  # tokens the first eval() of a generation took: the prompt's uncached part

        def counting_eval(tokens: Any) -> None:
            if llm._polyvox_prompt_eval is None:
                llm._polyvox_prompt_eval = len(tokens)
            evaluate(tokens)

        llm.eval = counting_eval
        tokenize = llm.tokenize
        llm._polyvox_shift = None  # set during a generation: {"shifted": n}; the chat prompt is shifted in

        def shifting_tokenize(text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
            tokens = tokenize(text, add_bos, special)
            if special and llm._polyvox_shift is not None:  # the chat handler tokenizing the prompt
                llm._polyvox_shift["shifted"] += shift_out(llm, tokens)
            return tokens

        llm.tokenize = shifting_tokenize
        return llm

    def stream_chat(
        self,
        messages: list[dict[str, Any]],
        max_tokens: int = 160,
        tools: list[dict[str, Any]] | None = None,
        stop_flag: threading.Event | None = None,
        session: str | None = None,
        stats: PromptStats | None = None,
    ) -> Iterator[str]:
        """Yield the reply text piece by piece. Setting `stop_flag` ends generation at the next token.

        `session`: the conversation this prompt continues (its earlier evaluation is reused, kv_cache);
        `stats` is filled with the prompt's size and the part of it evaluated now.
        """
        pool = self._tool_pool if tools else self._pool
        llm = pool.acquire(session)  # waits while every context is busy with another conversation
        llm._polyvox_prompt_eval = None
        llm._polyvox_shift = {"shifted": 0} if session is not None else None
        with self._active_lock:
            self._active += 1
            busy = self._active > 1
        try:
            # alone, a generation takes every thread it is given; beside others, one each: llama.cpp's threads
            # spin while they wait, so 4 generations x 2 threads on 2 cores lose most of the time to spinning
            n = 1 if busy else self.options.n_threads
            _set_threads(llm, n)
            kwargs: dict[str, Any] = {}
            if tools:
                kwargs["tools"] = tools
            stream = llm.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                seed=self.options.seed,  # the same prompt gets the same reply, whatever ran in the context before
                temperature=self.options.temperature,
                top_p=self.options.top_p,
                repeat_penalty=self.options.repeat_penalty,
                stream=True,
                **kwargs,
            )
            try:
                for chunk in stream:
                    if stats is not None and not stats.prompt_tokens and llm._polyvox_prompt_eval is not None:
                        stats.evaluated_tokens = llm._polyvox_prompt_eval
                        stats.prompt_tokens = int(llm.n_tokens)
                        stats.shifted = llm._polyvox_shift["shifted"] if llm._polyvox_shift else 0
                    if stop_flag is not None and stop_flag.is_set():
                        break
                    delta = chunk["choices"][0].get("delta", {})
                    piece = delta.get("content")
                    if piece:
                        yield piece
            finally:
                close = getattr(stream, "close", None)
                if close:
                    close()
        finally:
            llm._polyvox_shift = None
            with self._active_lock:
                self._active -= 1
            pool.release(llm)

    def count_tokens(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        """About how many prompt tokens `messages` and the `tools` schemas take (each message's content
        tokenized, plus the chat template's tokens; an estimate from above, within a few tokens a message)."""
        n = sum(self._tokens(str(m.get("content") or "")) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages)
        if tools:
            n += self._tokens(json.dumps(tools, ensure_ascii=False)) + TOOLS_TEMPLATE_TOKENS
        return n

    def _tokens(self, text: str) -> int:
        """len(tokenize(text)), remembered: a conversation's history is counted again on every turn."""
        n = self._token_counts.get(text)
        if n is None:
            if len(self._token_counts) >= TOKEN_COUNT_CACHE:
                self._token_counts.clear()
            n = self._token_counts[text] = len(self._vocab.tokenize(text.encode("utf-8"), add_bos=False))
        return n

    def chat(self, messages: list[dict[str, Any]], max_tokens: int = 160, **kw: Any) -> str:
        return "".join(self.stream_chat(messages, max_tokens=max_tokens, **kw))

    def prime(self, messages: list[dict[str, Any]]) -> None:
        """Evaluate `messages` once in every tool-less context, so their common prefix (the system prompt) is cached.

        llama-cpp-python reuses the KV cache for the longest prefix a new prompt shares with the previous
        one, so a later turn evaluates only its own words: the first turn after start-up got its first
        token ~0.4 s sooner on 2 cores (the default system prompt is ~70 tokens). The tool contexts are left
        cold: a tool prompt shares only the system prompt's first words, the turn's note and the tools come next.
        """
        contexts = [self._pool.acquire(None) for _ in range(self.instances)]
        try:
            for llm in contexts:
                _set_threads(llm, self.options.n_threads)
                llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)
        finally:
            for llm in contexts:
                self._pool.release(llm)


def _set_threads(llm: Any, n: int) -> None:
    """Threads of one llama.cpp context for its next evaluations (generation and prompt)."""
    import llama_cpp

    if getattr(llm, "_polyvox_threads", None) != n:
        llama_cpp.llama_set_n_threads(llm.ctx, n, n)
        llm._polyvox_threads = n


_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)
_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)\s*```", re.S)


def _as_call(obj: Any) -> ParsedToolCall | None:
    if not isinstance(obj, dict) or "name" not in obj:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        args = json.loads(args)
    if not isinstance(args, dict):
        return None
    return ParsedToolCall(str(obj["name"]), args)


def parse_tool_calls(text: str) -> tuple[str, list[ParsedToolCall]]:
    """Split model output into (spoken text, tool calls).

    Qwen2.5 wraps calls in <tool_call>…</tool_call>; llama.cpp drops those special tokens from the
    text, so bare JSON objects {"name": …, "arguments": …} at the start of the output count too.
    Malformed calls are left in the text.
    """
    calls: list[ParsedToolCall] = []

    def take(m: re.Match[str]) -> str:
        try:
            call = _as_call(json.loads(m.group(1)))
        except ValueError:
            call = None
        if call is None:
            return m.group(0)
        calls.append(call)
        return ""

    rest = _TOOL_CALL.sub(take, text).strip()
    fenced = _FENCE.match(rest)  # the model sometimes wraps a bare call in a ```json fence
    if fenced and fenced.group(1).lstrip().startswith("{"):
        rest = (fenced.group(1) + rest[fenced.end() :]).strip()
    decoder = json.JSONDecoder()
    while rest.startswith("{"):
        try:
            obj, end = decoder.raw_decode(rest)
            call = _as_call(obj)
        except ValueError:
            break
        if call is None:
            break
        calls.append(call)
        rest = rest[end:].strip()
    return rest, calls


class ToolCallFilter:
    """Streaming filter: passes spoken text through, holds back tool calls.

    Held back: anything inside <tool_call>…</tool_call>, and — when tools are enabled — output that
    starts with "{" (a bare JSON call, see parse_tool_calls) until the end of the reply.
    """

    OPEN, CLOSE = "<tool_call>", "</tool_call>"

    def __init__(self, tools_enabled: bool = False) -> None:
        self.tools_enabled = tools_enabled
        self.buffer = ""
        self.raw = ""  # everything seen, for parse_tool_calls at the end
        self._json_mode: bool | None = None if tools_enabled else False

    def feed(self, piece: str) -> str:
        """Returns the part of the text so far that is safe to speak."""
        self.raw += piece
        if self._json_mode is None:
            head = self.raw.lstrip()
            if not head:
                return ""
            if head.startswith("`") and len(head) < 8 and "\n" not in head:
                return ""  # wait: a ``` fence may hold a bare JSON call
            self._json_mode = head.startswith(("{", "```json", "```\n{", "```{"))
            piece = self.raw
        if self._json_mode:
            return ""
        self.buffer += piece
        out = ""
        while self.buffer:
            i = self.buffer.find(self.OPEN)
            if i < 0:
                # keep a tail that could be the start of "<tool_call>"
                keep = _partial_prefix(self.buffer, self.OPEN)
                out += self.buffer[: len(self.buffer) - keep]
                self.buffer = self.buffer[len(self.buffer) - keep :]
                break
            out += self.buffer[:i]
            j = self.buffer.find(self.CLOSE, i)
            if j < 0:
                self.buffer = self.buffer[i:]
                break
            self.buffer = self.buffer[j + len(self.CLOSE) :]
        return out

    def flush(self) -> str:
        """End of reply: the held text that turned out not to be a tool call."""
        if self._json_mode:
            rest, _ = parse_tool_calls(self.raw)
            return rest
        rest = "" if self.buffer.startswith(self.OPEN) else self.buffer
        self.buffer = ""
        return rest


def _partial_prefix(text: str, token: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `token`."""
    for n in range(min(len(token) - 1, len(text)), 0, -1):
        if text.endswith(token[:n]):
            return n
    return 0

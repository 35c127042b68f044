"""Per-conversation llama.cpp state: each conversation keeps what its prompt has evaluated.

llama-cpp-python reuses the KV cache of the longest prefix a new prompt shares with what its context
evaluated last. A conversation whose prompt only grows (polyvox's is append-only) then evaluates just each
turn's new tokens, as long as it finds its own evaluation in the context it gets. Contexts are shared by
conversations (`LlmOptions.instances`), so `ContextPool` hands a conversation the context it used last
when that one is free and, when a context changes hands, saves the leaving conversation's sequence
(its tokens and KV cells, `llama_state_seq_get_data`: ~12 KB per token for Qwen2.5-0.5B) and restores
the arriving one's. A conversation's newest state is always in exactly one place: a context it owns, or
the store.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

SEQ = 0  # llama-cpp-python evaluates every prompt into sequence 0


@dataclass(frozen=True)
class KvState:
    """A conversation's evaluated tokens and their KV cells in sequence 0 of a context."""

    tokens: np.ndarray  # (n,) int32: the token ids evaluated, in order
    data: bytes  # llama_state_seq_get_data of sequence 0

    @property
    def nbytes(self) -> int:
        return len(self.data) + self.tokens.nbytes


def save_state(llm: Any) -> KvState | None:
    """The evaluated sequence of `llm` (a llama_cpp.Llama), or None when it holds nothing."""
    import llama_cpp

    n = int(llm.n_tokens)
    if n == 0:
        return None
    size = llama_cpp.llama_state_seq_get_size(llm.ctx, SEQ)
    buf = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llm.ctx, buf, size, SEQ)
    if written == 0:
        return None
    return KvState(np.array(llm.input_ids[:n], dtype=np.int32), bytes(memoryview(buf)[:written]))


def restore_state(llm: Any, state: KvState) -> bool:
    """Put `state` into `llm`'s context in place of what it holds; False (context emptied) on failure."""
    import llama_cpp

    mem = llama_cpp.llama_get_memory(llm.ctx)
    llama_cpp.llama_memory_seq_rm(mem, SEQ, -1, -1)
    buf = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
    ok = llama_cpp.llama_state_seq_set_data(llm.ctx, buf, len(state.data), SEQ) == len(state.data)
    n = len(state.tokens) if ok else 0
    llm.input_ids[:n] = state.tokens[:n]
    llm.n_tokens = n
    llm._requires_eval = True  # the logits of the last token are not restored: generate() re-evaluates it
    return ok


SHIFT_PROBE = 24  # tokens of the new prompt that must be found again further on in the context to shift


def shift_out(llm: Any, tokens: list[int]) -> int:
    """Drop from `llm`'s evaluated sequence the span the new prompt `tokens` left out, without evaluating again.

    When a conversation outgrows the context its oldest turns leave the prompt (context.fit_history): the new
    prompt is the old one's start (the system message) followed by a later part of it. The KV cells of the
    dropped span are removed and those after it moved back (`llama_memory_seq_add`: llama.cpp re-rotates
    their keys), so the next generation evaluates only the turn's new tokens instead of the whole dialogue
    (1,500 tokens: ~11 s on 2 cores). Returns the tokens dropped (0: nothing to do, or no such span).
    """
    import llama_cpp

    n = int(llm.n_tokens)
    old = np.asarray(llm.input_ids[:n])
    new = np.asarray(tokens)
    a = _common_prefix(old, new)
    if a >= n - 1 or a == 0 or len(new) - a < SHIFT_PROBE:
        return 0  # the context holds a prefix of the prompt already (or shares nothing with it)
    probe = new[a : a + SHIFT_PROBE]
    hits = [int(h) for h in np.nonzero(old[a + 1 : n - SHIFT_PROBE + 1] == probe[0])[0] + a + 1]
    hits = [h for h in hits if np.array_equal(old[h : h + SHIFT_PROBE], probe)]
    if not hits:
        return 0
    # a conversation repeats itself ("thanks", the same question again): of the places the kept part could
    # start, the one from which the rest of the context goes on matching the new prompt longest
    b = max(hits, key=lambda h: _common_prefix(old[h:], new[a:]))
    mem = llama_cpp.llama_get_memory(llm.ctx)
    if not llama_cpp.llama_memory_can_shift(mem) or not llama_cpp.llama_memory_seq_rm(mem, SEQ, a, b):
        return 0
    d = b - a
    llama_cpp.llama_memory_seq_add(mem, SEQ, b, -1, -d)
    llm.input_ids[a : n - d] = old[b:n].copy()
    llm.n_tokens = n - d
    return d


def _common_prefix(x: np.ndarray, y: np.ndarray) -> int:
    k = min(len(x), len(y))
    diff = np.nonzero(x[:k] != y[:k])[0]
    return int(diff[0]) if len(diff) else k


@dataclass
class _Slot:
    llm: Any  # llama_cpp.Llama
    owner: str | None = None  # the conversation whose newest state this context holds
    busy: bool = False
    used: int = 0  # acquisition counter when last taken (least recently used goes first)


@dataclass
class PoolStats:
    """How contexts changed hands (diagnostics) and the bytes of saved states (bounded by max_bytes)."""

    saves: int = 0
    restores: int = 0
    stored_bytes: int = 0
    evicted: int = 0


class ContextPool:
    """llama.cpp contexts shared by conversations, each conversation finding its own evaluation again.

    `acquire(key)` waits for a free context: the one `key` owns if free, else an unowned one, else the least
    recently used. The leaving owner's state is saved; `key`'s saved state (if any) is restored. `key=None`
    (one-off prompts) takes a context without restoring anything. `max_bytes` bounds the saved states
    (least recently used dropped first: that conversation's next turn evaluates its prompt again).
    """

    def __init__(self, contexts: list[Any], max_bytes: int = 2 << 30) -> None:
        self._slots = [_Slot(llm) for llm in contexts]
        self._store: OrderedDict[str, KvState] = OrderedDict()
        self._cond = threading.Condition()
        self._clock = 0
        self.max_bytes = max_bytes
        self.stats = PoolStats()

    @property
    def contexts(self) -> list[Any]:
        return [s.llm for s in self._slots]

    def acquire(self, key: str | None) -> Any:
        with self._cond:
            while not (free := [s for s in self._slots if not s.busy]):
                self._cond.wait()
            own = [s for s in free if key is not None and s.owner == key]
            unowned = [s for s in free if s.owner is None]
            slot = (own or unowned or sorted(free, key=lambda s: s.used))[0]
            slot.busy = True
            self._clock += 1
            slot.used = self._clock
            leaving = slot.owner if slot.owner != key else None
            arriving = self._store.pop(key, None) if key is not None and slot.owner != key else None
            if arriving is not None:
                self.stats.stored_bytes -= arriving.nbytes
        # the copies run outside the lock: other conversations may take other contexts meanwhile
        if leaving is not None:
            state = save_state(slot.llm)
            self.stats.saves += 1
            if state is not None:
                self._put(leaving, state)
        if arriving is not None:
            restore_state(slot.llm, arriving)
            self.stats.restores += 1
        slot.owner = key
        return slot.llm

    def release(self, llm: Any) -> None:
        with self._cond:
            slot = next(s for s in self._slots if s.llm is llm)
            slot.busy = False
            self._cond.notify()

    def forget(self, key: str) -> None:
        """The conversation ended: drop its saved state and its claim on a context."""
        with self._cond:
            state = self._store.pop(key, None)
            if state is not None:
                self.stats.stored_bytes -= state.nbytes
            for s in self._slots:
                if s.owner == key:
                    s.owner = None

    def _put(self, key: str, state: KvState) -> None:
        with self._cond:
            old = self._store.pop(key, None)
            if old is not None:
                self.stats.stored_bytes -= old.nbytes
            self._store[key] = state
            self.stats.stored_bytes += state.nbytes
            while self.stats.stored_bytes > self.max_bytes and len(self._store) > 1:
                _, dropped = self._store.popitem(last=False)
                self.stats.stored_bytes -= dropped.nbytes
                self.stats.evicted += 1

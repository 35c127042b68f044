"""Text between the LLM and the TTS: clause splitting for early audio, cleanup of written-only markup."""

from __future__ import annotations

import re

# Clause ends in the scripts the cascade speaks: Latin, Devanagari danda, CJK, Arabic.
_STRONG = ".!?;。！？；।॥؟"
_WEAK = ",:、，：،—"
_END = re.compile(rf"([{re.escape(_STRONG)}]+[\"')\]]*)(\s+|$)")
_WEAK_END = re.compile(rf"([{re.escape(_WEAK)}])(\s+)")


class ClauseSplitter:
    """Accumulates streamed text and releases speakable clauses.

    A clause ends at strong punctuation followed by whitespace, or at weak punctuation once the
    clause is at least `min_weak_chars` long. The first clause may be cut at a comma earlier
    (`first_min_chars`), or after `first_max_words` words without punctuation, so the first audio
    starts sooner (one short TTS call instead of a whole sentence). Kokoro costs ~0.45 s per call plus
    ~0.3 s per second of speech on 2 cores, so 3 words instead of 5 brought the time to first audio from
    1.57 s to 1.47 s median (benchmarks/cascade_latency.py, 18 turns); the seam after them has no pause.
    """

    def __init__(
        self, first_min_chars: int = 12, min_weak_chars: int = 60, max_chars: int = 220, first_max_words: int = 3
    ) -> None:
        self.first_min_chars = first_min_chars
        self.first_max_words = first_max_words
        self.min_weak_chars = min_weak_chars
        self.max_chars = max_chars
        self.buffer = ""
        self.emitted = 0

    def feed(self, piece: str) -> list[str]:
        self.buffer += piece
        out = []
        while True:
            clause = self._take()
            if clause is None:
                break
            if clause.strip():
                out.append(clause.strip())
                self.emitted += 1
        return out

    def _take(self) -> str | None:
        b = self.buffer
        m = _END.search(b)
        if m and m.group(2):  # strong end with whitespace after it: the sentence is complete
            cut = m.end()
            self.buffer = b[cut:]
            return b[:cut]
        weak_min = self.first_min_chars if self.emitted == 0 else self.min_weak_chars
        for w in _WEAK_END.finditer(b):
            if w.start() >= weak_min:
                cut = w.end()
                self.buffer = b[cut:]
                return b[:cut]
        if self.emitted == 0 and self.first_max_words:
            # the first clause bounds the time to first audio: without punctuation, cut it after a few words
            lead = len(b) - len(b.lstrip(" "))
            words = b[lead:].split(" ")
            if len(words) > self.first_max_words:  # the first n words are complete once word n + 1 has begun
                cut = lead + len(" ".join(words[: self.first_max_words]))
                self.buffer = b[cut:]
                return b[:cut]
        if len(b) > self.max_chars:  # no punctuation for too long: cut at the last space
            sp = b.rfind(" ", 0, self.max_chars)
            cut = sp if sp > 0 else self.max_chars
            self.buffer = b[cut:]
            return b[:cut]
        return None

    def flush(self) -> list[str]:
        rest, self.buffer = self.buffer.strip(), ""
        return [rest] if rest else []


class CodeFenceFilter:
    """Streaming: drops text between ``` fences from what is spoken (the transcript keeps it).

    A reply with a code block says "(the code is in the transcript)" once instead of reading the
    code aloud symbol by symbol.
    """

    FENCE = "```"
    NOTE = " (the code is in the transcript) "

    def __init__(self) -> None:
        self.inside = False
        self.pending = ""  # trailing backticks that may be the start of a fence

    def feed(self, piece: str) -> str:
        text, out = self.pending + piece, ""
        self.pending = ""
        while text:
            i = text.find(self.FENCE)
            if i < 0:
                keep = len(text) - len(text.rstrip("`"))  # a fence may be split across pieces
                body, self.pending = text[: len(text) - keep], text[len(text) - keep :]
                if not self.inside:
                    out += body
                break
            if not self.inside:
                out += text[:i] + self.NOTE
            self.inside = not self.inside
            text = text[i + len(self.FENCE) :]
        return out

    def flush(self) -> str:
        rest, self.pending = ("" if self.inside else self.pending), ""
        return rest


_MARKUP = [
    (re.compile(r"```.*?```", re.S), " "),  # code blocks are not read aloud
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url) -> text
    (re.compile(r"https?://\S+"), " "),
    (re.compile(r"^\s*#+\s*", re.M), ""),
    (re.compile(r"^\s*[-*•]\s+", re.M), ""),
    (re.compile(r"[*_~]{1,3}"), ""),
    (re.compile(r"\s+"), " "),
]


def speakable(text: str) -> str:
    """Strip markdown, code and URLs that a voice should not read out."""
    for pat, rep in _MARKUP:
        text = pat.sub(rep, text)
    return text.strip()

"""The conversation's language as a prior for language ID, so a short accented turn stays in it.

Whisper base often takes a short English turn in an accent for another language: over a 30-minute
scripted session voiced by the packaged (Japanese-speaker) Kokoro voices, 46 of 169 English turns
came out as Japanese or Korean, English at 0.05-0.29 against 0.09-0.78 for the winner. A person
listening would assume the conversation goes on in its language unless the speech clearly says
otherwise. Here the probability language ID gives the conversation's language (the most frequent
language of the last few turns) is multiplied by `weight` before the most likely language is taken:
with 4 the session's Japanese/Korean turns fall from 46 to 13 (replayed from its saved inputs; 2 with
asr's rule for Latin words decoded as Japanese or Korean), while
a clear switch still switches (German heard at 0.99 against English 0.0005, Spanish 0.86-0.99 against
at most 0.009: every Spanish, German, Italian and Hindi prompt of the multilingual benchmark that
language ID got right keeps its language in an English conversation, the closest a German one at
0.31 against English 0.075 x 4 = 0.30). The prior is the conversation's, not a speaker's: two people
speaking different languages in one conversation pull it towards the one who speaks more.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class LanguagePriorOptions:
    """How much the conversation's language counts in language ID."""

    # language ID's probability for the conversation's language is multiplied by this before the
    # likeliest language is taken (1 = off: each turn's language is judged alone)
    weight: float = 4.0
    # the conversation's language: the most frequent of this many last detected turns (ties: the latest)
    turns: int = 5


class ConversationLanguage:
    """The languages a conversation's recent turns were heard in (kept in `Conversation.state`)."""

    def __init__(self, options: LanguagePriorOptions | None = None) -> None:
        self.options = options or LanguagePriorOptions()
        self._recent: deque[str] = deque(maxlen=max(self.options.turns, 1))

    @property
    def language(self) -> str | None:
        """The conversation's language so far, None before its first detected turn."""
        if not self._recent:
            return None
        counts = Counter(self._recent)
        best = max(counts.values())
        return next(code for code in reversed(self._recent) if counts[code] == best)

    def weights(self) -> dict[str, float]:
        """Language-ID weights for the next turn: {code: weight} for the conversation's language, or {}."""
        code = self.language
        return {code: self.options.weight} if code is not None and self.options.weight != 1.0 else {}

    def record(self, language: str) -> None:
        """A turn was heard in `language` (detected, not pinned by the caller)."""
        self._recent.append(language)

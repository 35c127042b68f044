"""What the cascade keeps for one conversation between its turns (`Conversation.state`), typed.

Engines are shared by every conversation of a process, so nothing per-conversation lives on the engine:
the caller passes the same `Conversation` with each turn and the cascade keeps this object in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polyvox.cascade.langprior import ConversationLanguage, LanguagePriorOptions
from polyvox.engine import Conversation

if TYPE_CHECKING:
    from polyvox.speakers import SpeakerTracker

NOTES_KEPT = 256  # user messages whose rendered form (with their turn's note) is remembered
RENDERINGS_KEPT = 8  # renderings kept for words said more than once (the latest ones)


@dataclass
class CascadeState:
    """One conversation's cascade state."""

    language: ConversationLanguage  # the languages its recent turns were heard in (langprior)
    tools_offered: list[str] = field(default_factory=list)  # tool names of the last tool prompt, in its order
    # The user's words -> how they went into the prompt ("(note)\nwords"). The prompt is append-only: an
    # earlier turn is rendered again exactly as it was evaluated, so llama.cpp's cache of the conversation
    # (kv_cache) covers everything but the new turn (context.build_messages).
    # Words said more than once keep each occurrence's rendering (a later "thanks" may have had another mood).
    rendered: dict[str, list[str]] = field(default_factory=dict)
    baselines: dict[str, Any] = field(default_factory=dict)  # speaker -> affect.ProsodyBaseline
    speakers: SpeakerTracker | None = None

    def remember_rendered(self, words: str, as_prompted: str) -> None:
        if words not in self.rendered and len(self.rendered) >= NOTES_KEPT:
            self.rendered.pop(next(iter(self.rendered)))
        kept = self.rendered.setdefault(words, [])
        kept.append(as_prompted)
        del kept[:-RENDERINGS_KEPT]


def cascade_state(conv: Conversation, prior: LanguagePriorOptions | None = None) -> CascadeState:
    """The conversation's CascadeState, created on first use."""
    if not isinstance(conv.state, CascadeState):
        conv.state = CascadeState(ConversationLanguage(prior or LanguagePriorOptions()))
    return conv.state

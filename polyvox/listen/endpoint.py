"""End of turn: when has the user finished speaking? Pure policy, no model loading.

Two modes, named as the OpenAI Realtime `turn_detection` types:
- server_vad: the turn ends after `silence_ms` of VAD silence (the protocol's silence_duration_ms).
- semantic_vad: after `ask_after_ms` of silence, ask a completeness model (Smart Turn, see
  polyvox.listen.smart_turn) whether the turn so far sounds finished: at >= `threshold` the turn ends
  ("smart_turn_complete"); below it, keep listening, ask again every `retry_ms` of further silence, and
  end anyway once the silence reaches `max_wait_ms` ("cap"). New speech resets the pause.
  The Realtime eagerness (low | medium | high | auto) picks those three numbers (EAGERNESS).

`EndOfTurn` is fed one decision per 32 ms VAD window (speech or not) and the turn's audio so far, and
answers with a `Decision`. The model is anything callable as `model(audio_16k) -> P(complete)`, so the
policy is tested with a fake one.

    eot = EndOfTurn(EndOfTurnConfig.from_realtime({"type": "semantic_vad", "eagerness": "auto"}), SmartTurn.load())
    for window, is_speech in vad_windows:            # window: (512,) float32 at 16 kHz
        d = eot.update(is_speech, lambda: turn_audio) # turn_audio: (n,) float32, the turn from its start to now
        if d.ended:
            ...                                       # d.reason: "smart_turn_complete" | "silence" | "cap"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import numpy as np

from polyvox.audio import SAMPLE_RATE

WINDOW = 512  # samples per VAD decision at 16 kHz (silero)
WINDOW_MS = WINDOW * 1000 / SAMPLE_RATE  # 32.0 ms of audio per update()

Mode = Literal["server_vad", "semantic_vad"]
Eagerness = Literal["low", "medium", "high", "auto"]
EndReason = Literal["smart_turn_complete", "silence", "cap"]


class CompletenessModel(Protocol):
    """Says how finished a turn sounds: (n,) float32 16 kHz audio of the turn so far -> P(complete)."""

    def __call__(self, audio_16k: np.ndarray, /) -> float: ...


@dataclass(frozen=True)
class SemanticTiming:
    """What one eagerness means for semantic_vad (all times are VAD silence since the last speech)."""

    ask_after_ms: float  # silence before the model is first asked
    threshold: float  # P(complete) at or above which the turn ends
    max_wait_ms: float  # silence that ends the turn whatever the model says (the cap)
    retry_ms: float | None  # ask again after this much more silence; None = ask once per pause
    # the cap when the words so far stop on a word no sentence ends with ("a table for", see unfinished());
    # the streaming listener has the transcript at each pause and waits this long instead
    unfinished_wait_ms: float = 2000.0


# Picked by benchmarks/end_of_turn.py (docs/bench_end_of_turn/summary.md, its CHOICE_RULES) from a sweep of
# ask_after 200/300 ms x threshold 0.5-0.98 x cap 600-2000 ms x retry none/500 ms, on 80 sentences with a
# 0.4-1.2 s pause inside and 80 complete ones (espeak-ng + Kokoro, en/es/fr/de/hi):
#   high    least delay with >= 95 % of complete turns ended <= 1 s after the last word
#   medium  fewest cut-ins with >= 95 % on time (auto = medium, as in the Realtime protocol)
#   low     fewest cut-ins with >= 80 % on time
# A cap above ~900 ms ends a turn the model doubts later than 1 s after its last word (Silero notices the
# silence ~0.1 s late), so all three share it and differ in how sure the model must be. Asking again
# (retry) never helped: a second ask adds cut-ins as often as it saves waiting.
EAGERNESS: dict[str, SemanticTiming] = {
    "high": SemanticTiming(ask_after_ms=200, threshold=0.5, max_wait_ms=900, retry_ms=None),
    "medium": SemanticTiming(ask_after_ms=200, threshold=0.95, max_wait_ms=900, retry_ms=None),
    "low": SemanticTiming(ask_after_ms=200, threshold=0.98, max_wait_ms=900, retry_ms=None),
}
EAGERNESS["auto"] = EAGERNESS["medium"]

DEFAULT_SILENCE_MS = 500.0  # server_vad: the protocol's default silence_duration_ms


@dataclass(frozen=True)
class EndOfTurnConfig:
    """How a turn's end is decided (one per session; `from_realtime` reads the protocol's object)."""

    mode: Mode = "semantic_vad"
    silence_ms: float = DEFAULT_SILENCE_MS  # server_vad: silence that ends the turn
    eagerness: Eagerness = "auto"  # semantic_vad: picks `timing` from EAGERNESS
    timing: SemanticTiming | None = None  # semantic_vad: explicit numbers instead of the eagerness's

    def __post_init__(self) -> None:
        if self.mode not in ("server_vad", "semantic_vad"):
            raise ValueError(f"turn detection type must be server_vad or semantic_vad, not {self.mode!r}")
        if self.eagerness not in EAGERNESS:
            raise ValueError(f"eagerness must be one of {', '.join(EAGERNESS)}, not {self.eagerness!r}")
        if not 0 <= self.silence_ms <= 10_000:
            raise ValueError(f"silence_ms must be in [0, 10000], not {self.silence_ms}")

    @property
    def semantic(self) -> SemanticTiming:
        """The semantic_vad numbers in force."""
        return self.timing or EAGERNESS[self.eagerness]

    @classmethod
    def from_realtime(cls, turn_detection: Mapping[str, Any]) -> EndOfTurnConfig:
        """{"type": "server_vad", "silence_duration_ms": 500, ...} or {"type": "semantic_vad",
        "eagerness": "low"|"medium"|"high"|"auto"} -> config. Other fields (threshold,
        prefix_padding_ms, create_response, ...) belong to the VAD and the session, not here;
        a missing field takes the protocol's default. Raises ValueError on an unknown type/eagerness."""
        kind = turn_detection.get("type") or "server_vad"
        if kind == "semantic_vad":
            return cls(mode="semantic_vad", eagerness=turn_detection.get("eagerness") or "auto")
        silence = turn_detection.get("silence_duration_ms")
        return cls(mode=kind, silence_ms=DEFAULT_SILENCE_MS if silence is None else float(silence))

    def with_timing(self, **changes: float | None) -> EndOfTurnConfig:
        """A copy with some semantic numbers changed (benchmark sweeps): with_timing(max_wait_ms=1500)."""
        return replace(self, mode="semantic_vad", timing=replace(self.semantic, **changes))


@dataclass(frozen=True)
class Decision:
    """EndOfTurn's answer for one window."""

    reason: EndReason | None  # None = keep listening; else why the turn ended
    silence_ms: float  # VAD silence since the last speech window, this window included
    probability: float | None = None  # the model's P(complete), when it was asked on this window

    @property
    def ended(self) -> bool:
        return self.reason is not None


AudioSource = np.ndarray | Callable[[], np.ndarray]  # the turn's audio, or a function that returns it


class EndOfTurn:
    """The end-of-turn state of one audio stream. Not thread-safe: one stream, one caller.

    Before the first speech window nothing happens (silence is not a turn). After a turn ends the
    state resets by itself, ready for the next turn; `reset()` does the same by hand (barge-in,
    a manual commit).
    """

    def __init__(self, config: EndOfTurnConfig, model: CompletenessModel | None = None) -> None:
        if config.mode == "semantic_vad" and model is None:
            raise ValueError("semantic_vad needs a completeness model (SmartTurn.load())")
        self.config = config
        self.model = model
        self.reset()

    def reset(self) -> None:
        self.in_turn = False  # a speech window was seen since the last end
        self.silence_ms = 0.0  # silence since the last speech window
        self.next_ask_ms: float | None = None  # silence at which the model is asked next (None = not this pause)
        self.asks = 0  # model calls this turn
        self.last_probability: float | None = None
        self.wait_ms: float | None = None  # this pause's cap, once decided (semantic_decision)

    def update(
        self, is_speech: bool, audio: AudioSource | None = None, words: Callable[[], tuple[str, str]] | None = None
    ) -> Decision:
        """One 32 ms VAD window: is it speech? `audio` (only read when the model is asked): (n,)
        float32 16 kHz, the turn from a little before its first speech to now, or a callable
        returning it (so the caller need not build the array every window). `words` (read with the
        model): () -> (transcript so far, its language), for semantic_decision's check of the words."""
        if is_speech:
            self.in_turn = True
            self.silence_ms = 0.0
            self.wait_ms = None
            if self.config.mode == "semantic_vad":
                self.next_ask_ms = self.config.semantic.ask_after_ms
            return Decision(None, 0.0)
        if not self.in_turn:
            return Decision(None, 0.0)
        self.silence_ms += WINDOW_MS
        silence = self.silence_ms
        if self.config.mode == "server_vad":
            return self._end("silence") if silence >= self.config.silence_ms else Decision(None, silence)
        timing = self.config.semantic
        if silence >= (self.wait_ms or timing.max_wait_ms):
            return self._end("cap")
        if self.next_ask_ms is None or silence < self.next_ask_ms:
            return Decision(None, silence)
        if audio is None:
            raise ValueError("semantic_vad needs the turn's audio when it asks the model")
        assert self.model is not None
        p = float(self.model(audio() if callable(audio) else audio))
        self.asks += 1
        self.last_probability = p
        end, self.wait_ms = semantic_decision(timing, p, *(words() if words is not None else (None, "")))
        if end:
            return self._end("smart_turn_complete", p)
        self.next_ask_ms = None if timing.retry_ms is None else self.next_ask_ms + timing.retry_ms
        return Decision(None, silence, p)

    def _end(self, reason: EndReason, probability: float | None = None) -> Decision:
        d = Decision(reason, self.silence_ms, probability)
        self.reset()
        return d


# Words a sentence does not end with (articles, prepositions, conjunctions, possessives), per language: a
# transcript that stops on one is not a finished turn, whatever the intonation (Smart Turn hears the rendered
# first half of "I'd like to book a table for | four people" as complete: its falling pitch).
UNFINISHED_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the a an to for of and or but at with from by my your our their his her its because if than "
        "into onto um uh er",
        "es": "el la los las un una unos unas de del a al en para por con y e o u que mi mis tu tus su sus "
        "pero porque como sin sobre entre hacia hasta",
        "fr": "le la les un une des de du d' à au aux en pour par avec et ou que qu' mon ma mes ton ta tes son "
        "sa ses notre votre leur sur dans mais parce comme sans chez vers",
        "de": "der die das den dem des ein eine einen einem einer zu zum zur für mit von vom und oder in im "
        "am bei nach mein meine meinen dein deine sein seine ihr ihre dass weil aber wie ohne",
        "it": "il lo la i gli le un uno una di del della a al alla da dal in nel nella con su sul per e o che "
        "mio mia miei tuo tua suo sua ma perché come senza",
        "pt": "o a os as um uma de do da dos das em no na para por com e ou que meu minha teu tua seu sua mas "
        "porque como sem sobre",
        "hi": "के की का को में से और या पर लिए कि मेरे मेरी मेरा तुम्हारे आपके हम मैं",
        # Whisper often writes Hindi speech in Urdu script: the same words
        "ur": "کے کی کا کو میں سے اور یا پر لیے کہ میرے میری میرا تمہارے آپ کے ہم",
    }.items()
}
UNFINISHED_WORDS["hi"] = UNFINISHED_WORDS["hi"] | UNFINISHED_WORDS["ur"]


def unfinished(text: str, language: str) -> bool:
    """The transcript so far stops on a word no sentence ends with ("a table for", "para", "के"), or on a
    comma or a dash: the user has more to say."""
    t = text.strip()
    if not t:
        return False
    if t.endswith((",", "-", "–", "—", "...", "…")) and not t.endswith(("?...", "!...")):
        return True
    words = UNFINISHED_WORDS.get(language)
    if not words:
        return False
    last = t.rstrip(".!?。！？।،,;: ").split()
    if not last:
        return False
    word = last[-1].lower().strip("\"'¿¡«»“”")
    return word in words


def semantic_decision(
    timing: SemanticTiming, p_complete: float, words: str | None, language: str
) -> tuple[bool, float]:
    """semantic_vad at a pause: (does the turn end now, the longest this pause may last otherwise).

    The turn ends when the model finds it complete (p_complete >= threshold) and the words so far (when
    known) do not stop on a word no sentence ends with; unfinished words wait up to unfinished_wait_ms
    whatever the model says. Used by the streaming listener (polyvox.conversation) and `EndOfTurn`.
    """
    if words is not None and unfinished(words, language):
        return False, timing.unfinished_wait_ms
    return p_complete >= timing.threshold, timing.max_wait_ms

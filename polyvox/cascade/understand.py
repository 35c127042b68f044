"""Listening beyond the words: the user's emotion, who is speaking, and what memory knows about them.

Per-conversation state (speaker tracker, prosody baselines) lives in `CascadeState`; durable
state (facts, turns, speaker profiles) in the SQLite MemoryStore, used only when the conversation has a
`user_id`. With a user, memories nearest in meaning to what was said (e5 embeddings) lead the memory
line of the system prompt, and stored preferences apply: a preferred language answers a turn whose
language is unsure, a preferred pace sets the reply's speed. Each part degrades to "off" with a trace
note if its model cannot load, so a missing optional piece never costs the user the answer.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from polyvox.cascade.state import cascade_state
from polyvox.cascade.tts import DEFAULT_PROSODY, Prosody
from polyvox.engine import Conversation
from polyvox.errors import PolyvoxError
from polyvox.memory.retrieve import RetrievalOptions

log = logging.getLogger(__name__)

PACE_SPEED = {"slow": 0.85, "fast": 1.15}  # reply speed factor for a stored pace preference


@dataclass(frozen=True)
class UnderstandingOptions:
    """Which listening features run."""

    emotion: bool = True  # recognise the user's emotion; fit the reply's wording and voice to it
    speakers: bool = True  # label each turn with a speaker id (Resemblyzer embeddings)
    memory_path: str | None = None  # SQLite file; default $POLYVOX_HOME/memory.sqlite3 (used with a user_id)
    retrieval: bool = True  # rank memories by meaning (multilingual-e5-small); off: every fact, newest first
    recall: RetrievalOptions = field(default_factory=RetrievalOptions)  # how many memories, how similar
    memory_chars: int = 400  # budget of the memory line in the system prompt
    # a stored preferred language answers a turn that pins none and whose language ID is below this
    # (typed turns: always, their language is a default, not a detection)
    language_unsure_below: float = 0.75


@dataclass
class Heard:
    """What the engine took from one user turn besides its words."""

    prosody: Prosody = DEFAULT_PROSODY  # how to voice the reply
    mood: str = ""  # a line for the LLM about the user's state ("" when neutral/unsure)
    memory: str = ""  # what is known about the user, the memories most relevant to this turn first
    reply_language: str | None = None  # the user's stored preferred language, when it decides this turn
    # engine tools not to offer this turn: retrieved memories in the prompt already do recall_memory's job,
    # and offered it the 0.5B model answers "what's my pet's name?" with a call to a tool named "Rex"
    skip_tools: frozenset[str] = frozenset()
    speaker_line: str = ""  # who is speaking, when several people are in the conversation
    trace: dict[str, Any] = field(default_factory=dict)


class Understanding:
    """Emotion recognizer + speaker encoder (loaded once) + memory store (opened on first use)."""

    def __init__(self, options: UnderstandingOptions | None = None) -> None:
        self.options = options or UnderstandingOptions()
        self.problems: list[str] = []
        self.recognizer = None
        if self.options.emotion:
            try:
                from polyvox.affect import EmotionRecognizer

                self.recognizer = EmotionRecognizer()
            except (PolyvoxError, ImportError) as e:
                self.problems.append(f"emotion recognition off: {e}")
        self.encoder = None
        if self.options.speakers:
            try:
                import torch

                from polyvox.speakers import SpeakerEncoder

                self.encoder = SpeakerEncoder()
                # the LSTM over ~1 s of frames runs 2x faster on one thread than fighting the ASR/LLM for two
                torch.set_num_threads(1)
            except (PolyvoxError, ImportError) as e:
                self.problems.append(f"speaker labels off: {e}")
        self.embedder = None
        if self.options.retrieval:
            try:
                from polyvox.memory.embed import load_embedder

                self.embedder = load_embedder()
            except PolyvoxError as e:
                self.problems.append(f"memory retrieval off, facts newest first: {e}")
        self._memory = None
        self._lock = threading.Lock()

    @property
    def memory(self):
        """The MemoryStore (opened on first use; writes vectors when the embedder loaded)."""
        with self._lock:
            if self._memory is None:
                from polyvox.memory import MemoryStore

                self._memory = MemoryStore(self.options.memory_path, embedder=self.embedder)
            return self._memory

    def warmup(self) -> None:
        if self.encoder is not None:
            try:
                self.encoder.embed(np.zeros(16_000, np.float32))
            except PolyvoxError as e:
                self.problems.append(f"speaker labels off: {e}")
                self.encoder = None

    # -- per turn ---------------------------------------------------------------------------------
    def hear(
        self,
        conv: Conversation,
        speech: np.ndarray | None,
        text: str,
        language: str,
        language_probability: float | None = None,
        pinned: bool = False,
        speakable: Collection[str] | None = None,
    ) -> Heard:
        """Emotion, speaker, memory and stored preferences for one user turn.

        speech: (n,) float32 16 kHz, None for typed text. language_probability: language ID's confidence
        (None: not detected, e.g. typed text). pinned: the caller fixed the reply language. speakable: the
        languages the reply can be voiced in (a stored preference outside them is not applied).
        """
        from polyvox.affect import reply_style

        heard = Heard()
        if self.problems:
            heard.trace["notes"] = list(self.problems)
        speaker = self._speaker(conv, speech, heard) if speech is not None else None
        estimate = None
        if self.recognizer is not None and speech is not None:
            baselines = cascade_state(conv).baselines
            baseline = baselines.get(speaker or "user")
            estimate = self.recognizer.predict(speech, text, language, baseline=baseline.mean if baseline else None)
            if baseline is None:
                from polyvox.affect import ProsodyBaseline

                baseline = baselines[speaker or "user"] = ProsodyBaseline()
            baseline.update(estimate.features)
            heard.trace["user_emotion"] = estimate.label
            heard.trace["emotion_confidence"] = round(estimate.confidence, 3)
        style = reply_style(estimate)
        heard.prosody, heard.mood = style.prosody, style.instruction
        heard.trace["reply_emotion"] = style.emotion
        if conv.user_id:
            facts = self._recall(conv, text, heard)
            unsure = language_probability is None or language_probability < self.options.language_unsure_below
            applied = self._preferences(facts, heard, conv.translate_to is None and not pinned and unsure, speakable)
            if applied:
                heard.trace["applied_preferences"] = applied
        return heard

    def _recall(self, conv: Conversation, text: str, heard: Heard) -> list:
        """Fill heard.memory (retrieved memories first, then the other facts); returns the user's facts."""
        from polyvox.memory.facts import describe
        from polyvox.memory.retrieve import memory_text

        assert conv.user_id is not None
        try:
            facts = self.memory.recall(conv.user_id, limit=50)
        except PolyvoxError as e:  # a locked/corrupt memory file must not cost the answer
            heard.trace.setdefault("notes", []).append(f"memory unavailable: {e}")
            return []
        memories = []
        if self.embedder is not None and text.strip():
            try:
                memories = self.memory.retrieve(conv.user_id, text, self.options.recall, exclude_session=conv.id)
            except (PolyvoxError, ValueError) as e:
                heard.trace.setdefault("notes", []).append(f"memory retrieval failed, facts newest first: {e}")
        heard.memory = (
            memory_text(memories, facts, self.options.memory_chars)
            if memories
            else describe(facts, self.options.memory_chars)
        )
        if memories:
            heard.skip_tools = frozenset({"recall_memory"})
            heard.trace["retrieved_memories"] = [
                {"text": m.text, "score": round(m.score, 3), "relevance": round(m.relevance, 3)} for m in memories
            ]
        if heard.memory:
            heard.trace["memory"] = heard.memory
        return facts

    def _preferences(
        self, facts: list, heard: Heard, language_open: bool, speakable: Collection[str] | None
    ) -> dict[str, str]:
        """Apply the stored language (when this turn's is open) and pace; returns what was applied."""
        applied: dict[str, str] = {}
        prefs = {f.key: f.value for f in facts if f.key in ("language", "pace")}
        lang = prefs.get("language")
        if language_open and lang and (speakable is None or lang in speakable):
            from polyvox.cascade.languages import language_name

            heard.reply_language = applied["language"] = lang
            # "Always answer in X" alone is ignored by the 0.5B model for an English question (0/3 in
            # Spanish); this line with it: 3/3
            rule = f"The user wants every answer in {language_name(lang)}, whatever language they speak."
            heard.memory = f"{heard.memory} {rule}".strip()
            heard.trace["memory"] = heard.memory
        factor = PACE_SPEED.get(prefs.get("pace", ""))
        if factor is not None:
            from polyvox.affect.style import MIRROR

            p = heard.prosody
            heard.prosody = replace(
                p,
                speed=float(np.clip(p.speed * factor, *MIRROR.speed)),
                pause_ms=float(np.clip(p.pause_ms / factor, *MIRROR.pause)),
            )
            applied["pace"] = prefs["pace"]
            heard.trace["reply_speed"] = round(heard.prosody.speed, 3)
        return applied

    def _speaker(self, conv: Conversation, speech: np.ndarray, heard: Heard) -> str | None:
        if self.encoder is None:
            return None
        from polyvox.speakers import SpeakerTracker

        state = cascade_state(conv)
        tracker = state.speakers
        if tracker is None:
            saved = self._load_tracker(conv)
            tracker = state.speakers = saved or SpeakerTracker(encoder=self.encoder)
        try:
            match = tracker.identify(speech)
        except PolyvoxError as e:
            heard.trace.setdefault("notes", []).append(f"speaker labels off: {e}")
            return None
        if not match.speaker_id:
            return None
        heard.trace["speaker"] = match.speaker_id
        heard.trace["speaker_similarity"] = round(match.similarity, 3)
        if len(tracker.profiles) > 1:
            heard.speaker_line = f"Several people are talking; this turn is from {match.speaker_id}."
        return match.speaker_id

    def _load_tracker(self, conv: Conversation):
        if not conv.user_id:
            return None
        from polyvox.speakers import SpeakerTracker

        try:
            data = self.memory.load_speaker(f"tracker-{conv.user_id}")
            return SpeakerTracker.from_json(data, encoder=self.encoder) if data else None
        except (PolyvoxError, ValueError, KeyError) as e:
            log.warning("ignoring stored speaker profiles of %s: %s", conv.user_id, e)
            return None

    def remember(self, conv: Conversation, user_text: str, reply_text: str, language: str) -> None:
        """After a turn: learn facts, log the turn, keep the speaker profiles (only with a user_id)."""
        if not conv.user_id:
            return
        try:
            mem = self.memory
            mem.learn(conv.user_id, user_text, session_id=conv.id, turn=conv.turns)
            mem.log_turn(conv.user_id, conv.id, "user", user_text, language)
            if reply_text:
                mem.log_turn(conv.user_id, conv.id, "assistant", reply_text, language)
            tracker = cascade_state(conv).speakers
            if tracker is not None and tracker.profiles:
                mem.save_speaker(f"tracker-{conv.user_id}", tracker.to_json())
        except (PolyvoxError, ValueError, sqlite3.Error) as e:  # after the reply: it is never lost for this
            log.warning("memory not updated: %s", e)

"""Listening beyond the words: the user's emotion, who is speaking, and what memory knows about them.

Per-conversation state (speaker tracker, prosody baselines) lives in `Conversation.state`; durable
state (facts, speaker profiles) in the SQLite MemoryStore, used only when the conversation has a
`user_id`. Each part degrades to "off" with a trace warning if its model cannot load, so a missing
optional piece never costs the user the answer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from polyvox.cascade.tts import DEFAULT_PROSODY, Prosody
from polyvox.engine import Conversation
from polyvox.errors import PolyvoxError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnderstandingOptions:
    """Which listening features run."""

    emotion: bool = True  # recognise the user's emotion; fit the reply's wording and voice to it
    speakers: bool = True  # label each turn with a speaker id (Resemblyzer embeddings)
    memory_path: str | None = None  # SQLite file; default $POLYVOX_HOME/memory.sqlite3 (used with a user_id)


@dataclass
class Heard:
    """What the engine took from one user turn besides its words."""

    prosody: Prosody = DEFAULT_PROSODY  # how to voice the reply
    mood: str = ""  # a line for the LLM about the user's state ("" when neutral/unsure)
    memory: str = ""  # what is known about the user
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
        self._memory = None
        self._lock = threading.Lock()

    @property
    def memory(self):
        """The MemoryStore (opened on first use)."""
        with self._lock:
            if self._memory is None:
                from polyvox.memory import MemoryStore

                self._memory = MemoryStore(self.options.memory_path)
            return self._memory

    def warmup(self) -> None:
        if self.encoder is not None:
            try:
                self.encoder.embed(np.zeros(16_000, np.float32))
            except PolyvoxError as e:
                self.problems.append(f"speaker labels off: {e}")
                self.encoder = None

    # -- per turn ---------------------------------------------------------------------------------
    def hear(self, conv: Conversation, speech: np.ndarray | None, text: str, language: str) -> Heard:
        """Emotion, speaker and memory for one user turn (speech: (n,) float32 16 kHz, None for typed text)."""
        from polyvox.affect import reply_style

        heard = Heard()
        if self.problems:
            heard.trace["notes"] = list(self.problems)
        speaker = self._speaker(conv, speech, heard) if speech is not None else None
        estimate = None
        if self.recognizer is not None and speech is not None:
            baselines = conv.state.setdefault("baselines", {})
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
            try:
                heard.memory = self.memory.context_text(conv.user_id)
            except PolyvoxError as e:  # a locked/corrupt memory file must not cost the answer
                heard.trace.setdefault("notes", []).append(f"memory unavailable: {e}")
            if heard.memory:
                heard.trace["memory"] = heard.memory
        return heard

    def _speaker(self, conv: Conversation, speech: np.ndarray, heard: Heard) -> str | None:
        if self.encoder is None:
            return None
        from polyvox.speakers import SpeakerTracker

        tracker = conv.state.get("speakers")
        if tracker is None:
            saved = self._load_tracker(conv)
            tracker = conv.state["speakers"] = saved or SpeakerTracker(encoder=self.encoder)
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
            tracker = conv.state.get("speakers")
            if tracker is not None and tracker.profiles:
                mem.save_speaker(f"tracker-{conv.user_id}", tracker.to_json())
        except PolyvoxError as e:
            log.warning("memory not updated: %s", e)

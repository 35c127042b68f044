"""Who is speaking: label each user turn speaker_1, speaker_2, ... by voice, across turns and sessions.

    tracker = SpeakerTracker()                 # or SpeakerTracker.from_json(saved) to remember voices
    match = tracker.identify(audio_16k)        # SpeakerMatch("speaker_1", similarity=1.0, new=True)
    saved = tracker.to_json()                  # plain JSON: store it with the conversation memory

A turn joins the most similar known speaker when the cosine similarity of its embedding to that
speaker's profile reaches `threshold`, and the profile (running mean of the speaker's embeddings)
absorbs it; otherwise it enrols a new speaker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.speakers.encoder import EMBEDDING_DIM, SpeakerEncoder

FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrackerConfig:
    """When two turns count as the same voice."""

    # Cosine similarity to a profile that makes a turn that speaker's. Measured with this encoder:
    # same synthetic voice, different sentences 0.84-0.97; different voices 0.37-0.81 (two espeak-ng
    # male variants, m1 and m3, reach 0.94 and are merged). Real voices may need ~0.75.
    threshold: float = 0.80
    min_seconds: float = 1.0  # a shorter turn is matched but never enrols or updates a profile
    max_turns: int = 50  # a profile averages at most this many turns (older ones fade)
    max_speakers: int = 32  # beyond this a turn joins the nearest speaker instead of enrolling


@dataclass(frozen=True)
class SpeakerMatch:
    """Who spoke one turn."""

    speaker_id: str  # "speaker_1", "speaker_2", ... in order of first appearance
    similarity: float  # cosine similarity to that speaker's profile before this turn (1.0 when new)
    new: bool  # this turn enrolled the speaker


@dataclass
class SpeakerProfile:
    """A known voice: the running mean of its turns' unit embeddings."""

    speaker_id: str
    centroid: np.ndarray  # (EMBEDDING_DIM,) float32, unit length
    turns: int = 1
    name: str | None = None  # a name the user or the memory gave this speaker, if any

    def similarity(self, embedding: np.ndarray) -> float:
        return float(np.dot(self.centroid, embedding))

    def absorb(self, embedding: np.ndarray, max_turns: int) -> None:
        n = min(self.turns, max_turns - 1)
        mean = self.centroid * n + embedding
        self.centroid = (mean / max(float(np.linalg.norm(mean)), 1e-8)).astype(np.float32)
        self.turns += 1


@dataclass
class SpeakerTracker:
    """Labels turns with speaker ids; one per conversation (or per user, when memory persists it)."""

    encoder: SpeakerEncoder = field(default_factory=SpeakerEncoder)
    config: TrackerConfig = field(default_factory=TrackerConfig)
    profiles: list[SpeakerProfile] = field(default_factory=list)

    def identify(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, enroll: bool = True) -> SpeakerMatch:
        """audio: (n,) float32 mono speech of one turn -> its speaker (~16-30 ms per second of audio).

        enroll=False only matches: no profile is created or updated (the best match is returned
        even below the threshold; "" when nobody is known yet).
        """
        long_enough = len(audio) >= self.config.min_seconds * sample_rate
        return self.identify_embedding(self.encoder.embed(audio, sample_rate), enroll and long_enough)

    def identify_embedding(self, embedding: np.ndarray, enroll: bool = True) -> SpeakerMatch:
        """As `identify`, from an embedding (EMBEDDING_DIM,) already computed."""
        e = np.asarray(embedding, dtype=np.float32)
        e = e / max(float(np.linalg.norm(e)), 1e-8)
        best = max(self.profiles, key=lambda p: p.similarity(e), default=None)
        sim = best.similarity(e) if best else 0.0
        full = len(self.profiles) >= self.config.max_speakers
        if best is not None and (sim >= self.config.threshold or full or not enroll):
            if enroll:
                best.absorb(e, self.config.max_turns)
            return SpeakerMatch(best.speaker_id, sim, False)
        if not enroll:  # nobody is known yet
            return SpeakerMatch("", 0.0, False)
        new = SpeakerProfile(f"speaker_{len(self.profiles) + 1}", e)
        self.profiles.append(new)
        return SpeakerMatch(new.speaker_id, 1.0, True)

    def profile(self, speaker_id: str) -> SpeakerProfile | None:
        return next((p for p in self.profiles if p.speaker_id == speaker_id), None)

    def to_json(self) -> dict[str, object]:
        """Everything needed to recognise these voices later (no audio is stored, only embeddings)."""
        return {
            "version": FORMAT_VERSION,
            "threshold": self.config.threshold,
            "speakers": [
                {"id": p.speaker_id, "name": p.name, "turns": p.turns, "centroid": np.round(p.centroid, 5).tolist()}
                for p in self.profiles
            ],
        }

    @classmethod
    def from_json(
        cls, data: dict, encoder: SpeakerEncoder | None = None, config: TrackerConfig | None = None
    ) -> SpeakerTracker:
        """Restore a tracker saved by `to_json` (the config is not restored: pass the one to use)."""
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown speaker tracker format {data.get('version')!r}")
        profiles = []
        for s in data["speakers"]:
            c = np.asarray(s["centroid"], dtype=np.float32)
            if c.shape != (EMBEDDING_DIM,):
                raise ValueError(f"speaker {s['id']}: centroid has shape {c.shape}, expected ({EMBEDDING_DIM},)")
            profiles.append(
                SpeakerProfile(s["id"], c / max(float(np.linalg.norm(c)), 1e-8), int(s["turns"]), s["name"])
            )
        return cls(encoder or SpeakerEncoder(), config or TrackerConfig(), profiles)

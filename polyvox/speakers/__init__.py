"""Speakers: tell the voices in a conversation apart and recognise them again later.

    from polyvox.speakers import SpeakerTracker
    tracker = SpeakerTracker()
    match = tracker.identify(audio_16k)      # SpeakerMatch(speaker_id="speaker_1", similarity=1.0, new=True)

Embeddings come from Resemblyzer's pretrained GE2E encoder (weights only; see encoder.py).
"""

from polyvox.speakers.encoder import EMBEDDING_DIM, EncoderConfig, SpeakerEncoder
from polyvox.speakers.tracker import SpeakerMatch, SpeakerProfile, SpeakerTracker, TrackerConfig

__all__ = [
    "EMBEDDING_DIM",
    "EncoderConfig",
    "SpeakerEncoder",
    "SpeakerMatch",
    "SpeakerProfile",
    "SpeakerTracker",
    "TrackerConfig",
]

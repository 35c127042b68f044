"""The emotion labels: Plutchik's eight basic emotions plus neutral (the order of every probability vector)."""

from __future__ import annotations

from typing import Literal

Emotion = Literal["neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust", "trust", "anticipation"]

EMOTIONS: tuple[Emotion, ...] = (
    "neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust", "trust", "anticipation",
)  # fmt: skip
NEUTRAL: Emotion = "neutral"

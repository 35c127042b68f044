"""Errors of the unified model: each a polyvox.errors.PolyvoxError, so the CLI prints one clear line."""

from __future__ import annotations

from polyvox.errors import AudioInputError, ModelError, PolyvoxError


class ConfigError(PolyvoxError):
    """A model config is unknown or inconsistent."""


class ModelInputError(AudioInputError):
    """Audio or tokens handed to the model have the wrong dtype, shape, size or values (NaN, inf)."""


class CheckpointError(ModelError):
    """A checkpoint is missing, unreadable, or was saved for another config."""

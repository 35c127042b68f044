"""The model store: which pretrained weights polyvox uses, where they come from, and where they are."""

from polyvox.models.registry import MODELS, ModelSpec
from polyvox.models.store import ModelStore, default_store, polyvox_home

__all__ = ["MODELS", "ModelSpec", "ModelStore", "default_store", "polyvox_home"]

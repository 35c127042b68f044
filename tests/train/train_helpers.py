"""Shared helpers of tests/train: a tiny espeak-only corpus and a fast training config."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from polyvox.train.config import get_preset
from polyvox.train.synth import SynthConfig, synthesize_corpus

TINY_CORPUS = dict(
    hours=0.002, languages=("en", "es"), seed=3, kokoro_share=0.0, dialogues_per_shard=2, multi_turn_share=0.5
)


def make_corpus(out: Path, **kw) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    synthesize_corpus(SynthConfig(out=str(out), **{**TINY_CORPUS, **kw}), progress=False)
    return out


def fast_config(**kw):
    """tiny model, 1.5 s crops, one example per step."""
    base = dict(batch_size=1, max_seconds=1.5, num_threads=1, log_every=1, checkpoint_every=2)
    return replace(get_preset("tiny"), **{**base, **kw})

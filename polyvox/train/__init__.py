"""Training pipeline of the unified model (issue 6): data synthesis, stage 1 / stage 2 / RLPF, distributed.

    polyvox data synth --out corpus --hours 0.1 --languages en,es,fr,de --seed 0
    polyvox train --preset tiny --data corpus --out runs/tiny
    torchrun --nproc_per_node 2 -m polyvox.train --preset tiny --data corpus --out runs/tiny

Needs torch (and matplotlib for the loss plot): pip install "polyvox[train]". See docs/training.md.
Imports are lazy, so `polyvox.train.commands` (the CLI) loads without torch.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "PRESETS": "config",
    "TrainConfig": "config",
    "get_preset": "config",
    "SynthConfig": "synth",
    "synthesize_corpus": "synth",
    "TrainResult": "trainer",
    "train": "trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(name)
    import importlib

    if _EXPORTS[name] == "trainer":
        from polyvox.errors import require

        require("torch", "training", "train")
    return getattr(importlib.import_module(f"polyvox.train.{_EXPORTS[name]}"), name)

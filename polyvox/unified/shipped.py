"""The shipped checkpoint: trained weights of the `default` config that `load_engine(None)` picks up.

It is the model store's `unified-default` (polyvox.models.registry): a file shipped inside polyvox
(polyvox/data/unified_default.pt, float16, ≤ 60 MB) whose size and sha256 are pinned there like every other
weight. `polyvox setup` copies it into $POLYVOX_HOME/models/unified-default/ after checking the hash.

Lookup order: $POLYVOX_UNIFIED_CHECKPOINT (the user's file, not hash-checked), then the store copy, then the
file inside the package; either of the last two must match the pinned sha256 or it is refused. With no file
at all, callers fall back to random weights and say so (engine.UNTRAINED_WARNING).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from polyvox.unified.errors import CheckpointError

MODEL = "unified-default"  # the model store's name for it
SHIPPED_NAME = "unified_default.pt"
ENV = "POLYVOX_UNIFIED_CHECKPOINT"


def _pinned() -> tuple[int, str] | None:
    """(size, sha256) of the released file, or None when this polyvox ships none."""
    from polyvox.models.registry import MODELS

    spec = MODELS.get(MODEL)
    return (spec.files[0].size, spec.files[0].sha256) if spec else None


def _candidates() -> list[Path]:
    from polyvox.models.store import polyvox_home

    return [
        polyvox_home() / "models" / MODEL / SHIPPED_NAME,
        Path(str(resources.files("polyvox") / "data" / SHIPPED_NAME)),
    ]


def shipped_checkpoint(verify: bool = True) -> Path | None:
    """Path of the user's or the shipped checkpoint, or None when there is none."""
    env = os.environ.get(ENV)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise CheckpointError(f"{ENV}={env} is not a file", f"unset {ENV} or point it at a checkpoint")
        return p
    pinned = _pinned()
    if pinned is None:
        return None
    size, sha = pinned
    for p in _candidates():
        if not p.is_file():
            continue
        if verify:
            from polyvox.models.store import sha256_file

            digest = sha256_file(p) if p.stat().st_size == size else "size mismatch"
            if digest != sha:
                raise CheckpointError(
                    f"{p} does not match the released checkpoint (sha256 {digest[:12]}…, expected {sha[:12]}…)",
                    f"run: polyvox setup --model {MODEL} --force (or reinstall polyvox)",
                )
        return p
    return None

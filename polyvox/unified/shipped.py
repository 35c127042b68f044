"""The shipped checkpoint: trained weights of the `default` config that `load_engine(None)` picks up.

Lookup order: $POLYVOX_UNIFIED_CHECKPOINT (a file path), then polyvox/data/unified_default.pt (package data,
≤ 60 MB), then $POLYVOX_HOME/models/unified-default/unified_default.pt (where setup may place it). A file
found in the package or the model store must match SHIPPED_SHA256, like every other pinned weight; with no
file, callers fall back to random weights and say so (UNTRAINED_WARNING).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from polyvox.unified.errors import CheckpointError

SHIPPED_NAME = "unified_default.pt"
ENV = "POLYVOX_UNIFIED_CHECKPOINT"
# sha256 of the released unified_default.pt; None until a trained checkpoint is released (then any file found
# in the package or store is refused unless it matches).
SHIPPED_SHA256: str | None = None


def _candidates() -> list[Path]:
    out = [Path(str(resources.files("polyvox") / "data" / SHIPPED_NAME))]
    try:
        from polyvox.models.store import polyvox_home

        out.append(polyvox_home() / "models" / "unified-default" / SHIPPED_NAME)
    except ImportError:
        pass
    return out


def shipped_checkpoint(verify: bool = True) -> Path | None:
    """Path of the shipped (or user-provided) checkpoint, or None when there is none."""
    env = os.environ.get(ENV)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise CheckpointError(f"{ENV}={env} is not a file", f"unset {ENV} or point it at a checkpoint")
        return p
    for p in _candidates():
        if p.is_file():
            if verify and SHIPPED_SHA256 is not None:
                from polyvox.models.store import sha256_file

                digest = sha256_file(p)
                if digest != SHIPPED_SHA256:
                    raise CheckpointError(
                        f"{p} has sha256 {digest[:12]}…, expected {SHIPPED_SHA256[:12]}…",
                        "the file is corrupt or from another release; reinstall polyvox or delete it",
                    )
            return p
    return None

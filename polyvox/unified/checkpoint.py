"""Checkpoints: one torch.save file {"config": ModelConfig.to_dict(), "state_dict": ..., "meta": {...}}.

Loading checks the stored config against the expected one (when given) and the state dict against the
model it describes, and says clearly what differs instead of a wall of missing-key errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from polyvox.unified.config import ModelConfig
from polyvox.unified.errors import CheckpointError
from polyvox.unified.model import S2SModel

FORMAT_VERSION = 1


def save_checkpoint(model: S2SModel, path: str | Path, meta: dict[str, Any] | None = None, half: bool = False) -> Path:
    """Write `model` to `path` atomically (temp file + rename). half: floating tensors as float16 (half the
    size, for shipping; loading casts them back to the model's float32)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp")
    payload = {
        "format_version": FORMAT_VERSION,
        "config": model.cfg.to_dict(),
        "state_dict": {
            k: v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu()
            for k, v in model.state_dict().items()
        },
        "meta": dict(meta or {}),
    }
    torch.save(payload, tmp)
    tmp.replace(p)
    return p


def _diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _diff(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: {va} != {vb}")
    return out


def load_checkpoint(
    path: str | Path, expected: ModelConfig | None = None, map_location: str | torch.device = "cpu"
) -> tuple[S2SModel, dict[str, Any]]:
    """-> (model in eval mode, meta). Raises CheckpointError for a missing/corrupt file or a config mismatch."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}", "check the path, or omit it for an untrained model")
    try:
        payload = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"cannot read checkpoint {p.name}: {str(e).splitlines()[0][:160]}",
            "the file is corrupt or not a polyvox unified checkpoint",
        ) from None
    if not isinstance(payload, dict) or not {"config", "state_dict"} <= set(payload):
        raise CheckpointError(f"{p.name} is not a polyvox unified checkpoint (no config/state_dict)")
    cfg = ModelConfig.from_dict(payload["config"])
    if expected is not None and cfg != expected:
        diffs = _diff(cfg.to_dict(), expected.to_dict())
        raise CheckpointError(
            f"checkpoint {p.name} was saved for config {cfg.name!r}, not {expected.name!r} ({'; '.join(diffs[:4])})",
            f"load it with config={cfg.name!r} or use a checkpoint for {expected.name!r}",
        )
    model = S2SModel(cfg)
    own = model.state_dict()
    sd = payload["state_dict"]
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    wrong = [k for k in set(own) & set(sd) if own[k].shape != sd[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"checkpoint {p.name} does not match its config {cfg.name!r}: {len(missing)} missing, "
            f"{len(unexpected)} unexpected, {len(wrong)} wrong-shape tensors "
            f"(e.g. {(missing + unexpected + wrong)[0]})",
            "it was written by another polyvox version; re-export it",
        )
    model.load_state_dict(sd)
    return model.to(map_location).eval(), dict(payload.get("meta", {}))

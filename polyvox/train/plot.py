"""Loss curves from metrics.jsonl (needs matplotlib: pip install "polyvox[train]")."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from polyvox.errors import require

CURVES = ("loss", "loss_text", "loss_acoustic", "loss_vocoder", "loss_f0", "loss_emotion", "reward")


def plot_losses(metrics: str | Path, out: str | Path) -> Path:
    """metrics.jsonl -> a PNG with one line per loss part, the stage boundaries dashed."""
    require("matplotlib", "the loss plot", "train")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(x) for x in Path(metrics).read_text().splitlines() if x]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key in CURVES:
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if pts:
            ax.plot(*zip(*pts, strict=True), label=key, lw=1.8 if key == "loss" else 1.0)
    for a, b in itertools.pairwise(rows):
        if a["stage"] != b["stage"]:
            ax.axvline(a["step"], color="grey", ls="--", lw=0.8)
            ax.text(a["step"], ax.get_ylim()[1], f" {b['stage']}", va="top", fontsize=8, color="grey")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)

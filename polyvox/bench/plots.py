"""PNG plots of a run (matplotlib, Agg backend): scores, latency distribution, per-group breakdowns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from polyvox.bench.core import Summary


def _plt():
    from polyvox.errors import require

    matplotlib = require("matplotlib", "bench plots", "bench")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(folder: Path, summaries: list[Summary]) -> list[Path]:
    """scores.png (0-1 scores), latency.png (histogram + CDF of TTFA and boot), NAME.png per breakdown."""
    plt = _plt()
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    scored = [s for s in summaries if s.score is not None and s.higher_is_better]
    if scored:
        fig, ax = plt.subplots(figsize=(8, 3.5))
        names = [s.name + (" *" if s.stand_in else "") for s in scored]
        ax.bar(names, [s.score for s in scored], color=["#bbb" if s.stand_in else "#3b7dd8" for s in scored])
        ax.set_ylim(0, 1)
        ax.set_ylabel("score (0-1)")
        ax.set_title("Scores per benchmark (* = stand-in data)")
        ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        written.append(_save(fig, folder / "scores.png", plt))

    samples = {s.name: s.metrics.get("ttfa_s") or s.metrics.get("samples_s") for s in summaries}
    samples = {k: np.asarray(v) for k, v in samples.items() if v}
    if samples:
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
        for name, xs in samples.items():
            a.hist(xs, bins=min(30, max(5, len(xs) // 3)), alpha=0.6, label=name)
            b.plot(np.sort(xs), np.arange(1, len(xs) + 1) / len(xs), label=name)
        a.set_xlabel("seconds")
        a.set_title("Histogram")
        b.set_xlabel("seconds")
        b.set_title("CDF")
        b.set_ylim(0, 1)
        a.legend()
        fig.suptitle("Time to first reply audio (latency: end of speech; boot: connect)")
        fig.tight_layout()
        written.append(_save(fig, folder / "latency.png", plt))

    by_turn = next((s.metrics.get("p50_by_turn_s") for s in summaries if s.metrics.get("p50_by_turn_s")), None)
    if by_turn:  # latency against the turn index: does a long conversation slow down?
        fig, ax = plt.subplots(figsize=(8, 3.2))
        ax.plot(np.arange(1, len(by_turn) + 1), by_turn, ".-", color="#3b7dd8")
        ax.set_xlabel("turn of the conversation")
        ax.set_ylabel("first audio (s), median over sessions")
        ax.set_ylim(0, max(by_turn) * 1.15)
        ax.set_title("Latency against turn index (from the user's last voiced chunk)")
        fig.tight_layout()
        written.append(_save(fig, folder / "latency_by_turn.png", plt))

    for s in summaries:
        if not s.breakdown:
            continue
        fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(s.breakdown) + 2), 3.2))
        ax.bar(list(s.breakdown), list(s.breakdown.values()), color="#bbb" if s.stand_in else "#4c9f70")
        ax.set_ylim(0, 1)
        ax.set_title(f"{s.title}: per {'language' if s.name == 'multilingual' else 'group'}")
        ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        written.append(_save(fig, folder / f"{s.name}.png", plt))
    return written


def _save(fig, path: Path, plt) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

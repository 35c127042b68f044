"""Side by side: several `polyvox bench` runs (polyvox's engines, Realtime endpoints) in one Table 2.

    polyvox bench --compare out/bench-cascade out/bench-unified --out out/compare

writes out/compare/compare.md (the seed's systems as reported, then one measured column per run) and
out/compare/compare.png (one panel per benchmark, a bar per run). Runs are compared as they are: the
table says each run's mode (quick --limit N or full) and case count, since a quick run of one system
next to a full run of another is not a like-for-like comparison.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polyvox.errors import PolyvoxError


def load_run(folder: Path) -> dict[str, Any]:
    """A run folder's report.json, or PolyvoxError saying what is wrong with it."""
    p = Path(folder) / "report.json"
    if not p.is_file():
        raise PolyvoxError(f"{folder} holds no report.json", "pass folders written by `polyvox bench ... --out DIR`")
    try:
        report = json.loads(p.read_text())
    except ValueError as e:
        raise PolyvoxError(f"{p} is not JSON ({e})", "rerun the benchmark into that folder") from e
    if not isinstance(report, dict) or not isinstance(report.get("benchmarks"), dict) or "target" not in report:
        raise PolyvoxError(f"{p} is not a polyvox bench report", "rerun the benchmark into that folder")
    return report


def _label(report: dict[str, Any], folder: Path) -> str:
    t = report["target"]
    mode = "full" if report.get("mode") == "full" else f"--limit {report.get('limit')}"
    return f"{t.get('name', folder.name)} ({mode})"


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) and abs(v) < 10 else (f"{v:.1f}" if isinstance(v, float) else str(v))


def compare(folders: list[Path], out: Path) -> Path:
    """Write out/compare.md and out/compare.png for the runs in `folders`; returns the markdown path."""
    if not folders:
        raise PolyvoxError("nothing to compare", "pass one or more bench run folders")
    runs = [(Path(f), load_run(Path(f))) for f in folders]
    from polyvox.bench.report import reported

    ref = reported()
    systems = ref["systems"]
    labels = [_label(r, f) for f, r in runs]
    names = list(dict.fromkeys(n for _, r in runs for n in r["benchmarks"]))
    lines = [
        "# polyvox bench: side by side",
        "",
        "Other systems: as reported in the seed's Table 2 (– = not on record). Measured columns: "
        + "; ".join(f"**{lab}** from `{f}`" for lab, (f, _) in zip(labels, runs, strict=True))
        + ".",
        "",
        "| benchmark | metric | " + " | ".join(systems) + " | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * (len(systems) + len(labels)),
    ]
    for name in names:
        first = next(r["benchmarks"][name] for _, r in runs if name in r["benchmarks"])
        arrow = "↑" if first.get("higher_is_better", True) else "↓"
        cells = []
        for _, r in runs:
            s = r["benchmarks"].get(name)
            if s is None:
                cells.append("not run")
                continue
            tag = " (STAND-IN)" if s.get("stand_in") else ""
            cells.append(f"{_fmt(s.get('score'))}{tag} · n={s.get('n_cases', 0)}")
        others = [_fmt(ref["values"].get(name, {}).get(x)) for x in systems]
        lines.append(
            f"| {first.get('title', name)} | {first.get('metric', '')} {arrow} | " + " | ".join(others + cells) + " |"
        )
    out.mkdir(parents=True, exist_ok=True)
    md = out / "compare.md"
    md.write_text("\n".join([*lines, "", "![scores](compare.png)", ""]))
    _plot(runs, labels, names, out / "compare.png")
    return md


def _plot(runs, labels: list[str], names: list[str], path: Path) -> None:
    from polyvox.bench.plots import _plt

    plt = _plt()
    cols = min(3, len(names)) or 1
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        vals = [r["benchmarks"].get(name, {}).get("score") for _, r in runs]
        ax.bar(range(len(runs)), [v if v is not None else 0.0 for v in vals], color="#3b7dd8")
        ax.set_xticks(range(len(runs)), [lab.split(" (")[0] for lab in labels], rotation=20, fontsize=8)
        first = next(r["benchmarks"][name] for _, r in runs if name in r["benchmarks"])
        ax.set_title(f"{name}: {first.get('metric', '')}", fontsize=9)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

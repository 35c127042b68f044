"""The run report: report.json (everything), report.md (the seed's Table 2 layout + details), plots/*.png.

report.md puts the other systems' figures *as reported* in the seed (polyvox/bench/data/reported.json;
never measured here) beside the measured rows of this run. A benchmark run on stand-in data is marked
STAND-IN and its number is not put in the comparison column.
"""

from __future__ import annotations

import json
import platform
import time
from importlib import resources
from pathlib import Path
from typing import Any

from polyvox.bench.core import BenchOptions, Summary
from polyvox.bench.targets import Target


def reported() -> dict[str, Any]:
    return json.loads((resources.files("polyvox.bench") / "data" / "reported.json").read_text())


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def _n_cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)


def markdown(summaries: list[Summary], target: Target, wall_s: float, options: BenchOptions) -> str:
    ref = reported()
    systems = ref["systems"]
    label = f"polyvox {target.name} (measured)" if target.kind == "engine" else f"{target.name} (measured)"
    mode = "full" if options.full else f"quick (--limit {options.limit})"
    when = f"wall time {wall_s / 60:.1f} min" if not options.report_only else "rebuilt from recorded cases"
    lines = [
        "# polyvox bench report",
        "",
        f"Target: **{target.name}** ({target.kind}); mode: {mode}; {when}; "
        f"{_n_cpus()} CPU(s), {platform.machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "## Table 2",
        "",
        "Other systems: figures **as reported** in the seed's Table 2 (not measured here; – = not on record "
        "in polyvox/bench/data/reported.json).",
        "",
        "| benchmark | metric | " + " | ".join(systems) + f" | {label} | cases (failed) |",
        "|---|---|" + "---|" * len(systems) + "---|---|",
    ]
    for s in summaries:
        others = [_fmt(ref["values"].get(s.name, {}).get(sys_)) for sys_ in systems]
        mine = _fmt(s.score) + (" (STAND-IN data)" if s.stand_in else "")
        arrow = "↑" if s.higher_is_better else "↓"
        lines.append(
            f"| {s.title} | {s.metric} {arrow} | " + " | ".join(others) + f" | {mine} | {s.n_cases} ({s.n_failed}) |"
        )
    lines += ["", "## Details", ""]
    for s in summaries:
        lines += [f"### {s.title} (`{s.name}`)", "", f"- data: {s.data_source or '–'}"]
        if s.stand_in:
            lines.append("- **STAND-IN data: these numbers are not results on the named benchmark.**")
        for k, v in s.metrics.items():
            if isinstance(v, list):
                continue  # raw samples live in report.json
            lines.append(f"- {k}: {json.dumps(v) if isinstance(v, dict) else _fmt(v)}")
        if s.breakdown:
            lines.append("- breakdown: " + ", ".join(f"{g} {_fmt(v)}" for g, v in s.breakdown.items()))
        lines += [f"- note: {n}" for n in s.notes]
        plot = Path("plots") / f"{s.name}.png"
        if s.breakdown:
            lines.append(f"\n![{s.name}]({plot})")
        lines.append("")
    lines += ["Scoring methods and their limits: docs/benchmarks.md.", ""]
    return "\n".join(lines)


def write_report(out: Path, summaries: list[Summary], target: Target, wall_s: float, options: BenchOptions) -> None:
    out = Path(out)
    report = {
        "target": target.describe(),
        "mode": "full" if options.full else "quick",
        "limit": options.limit,
        "wall_seconds": round(wall_s, 1),
        "cpus": _n_cpus(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reported": reported(),
        "benchmarks": {s.name: s.as_json() for s in summaries},
    }
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "report.md").write_text(markdown(summaries, target, wall_s, options))
    from polyvox.bench.plots import write_plots

    write_plots(out / "plots", summaries)

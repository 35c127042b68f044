"""BIG-bench task data (hhh_alignment, simple_ethical_questions), found locally — never shipped in the repo.

The tasks are in the `bigbench==1.0.0` sdist on PyPI (358 MB; `pip install` of it fails on a direct-URL
dependency, so it is only ever unpacked). They carry BIG-bench's canary string ("should never appear
in training corpora"), which is why polyvox does not copy them into its repository. Give the data as:

    --bigbench PATH   PATH = bigbench-1.0.0.tar.gz, a BIG-bench checkout, its benchmark_tasks/ folder,
                      or an extracted cache; a tarball is unpacked once into the cache below.
    $POLYVOX_BIGBENCH or $POLYVOX_HOME/bench/bigbench (default ~/.cache/polyvox/bench/bigbench)

Without it the benchmarks use hand-written stand-in items and the report says so.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import Any

TASKS = {"hhh_alignment": ("harmless", "helpful", "honest", "other"), "simple_ethical_questions": ("",)}


def cache_dir() -> Path:
    env = os.environ.get("POLYVOX_BIGBENCH")
    if env:
        return Path(env).expanduser()
    from polyvox.models.store import polyvox_home

    return polyvox_home() / "bench" / "bigbench"


def unpack(tarball: Path, dest: Path | None = None) -> Path:
    """Extract only the task.json files of TASKS from the bigbench sdist into `dest` (the cache)."""
    dest = dest or cache_dir()
    with tarfile.open(tarball) as tar:
        for m in tar:
            parts = Path(m.name).parts
            if m.isfile() and "benchmark_tasks" in parts and parts[-1] == "task.json":
                rel = Path(*parts[parts.index("benchmark_tasks") + 1 :])
                if rel.parts[0] in TASKS:
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(m)
                    if src is not None:
                        (dest / rel).write_bytes(src.read())
    return dest


def _roots(path: Path | None) -> list[Path]:
    roots: list[Path] = []
    if path is not None:
        path = Path(path).expanduser()
        if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
            target = cache_dir()
            if not all((target / t).exists() for t in TASKS):
                unpack(path, target)
            path = target
        roots += [path, path / "benchmark_tasks", path / "bigbench" / "benchmark_tasks"]
    roots.append(cache_dir())
    return roots


def load_task(task: str, path: Path | None = None) -> tuple[list[dict[str, Any]], Path] | None:
    """Examples of a BIG-bench task (each with `subset`), and where they came from; None if not found."""
    for root in _roots(path):
        base = root if root.name == task else root / task
        if not base.is_dir():
            continue
        examples: list[dict[str, Any]] = []
        for subset in TASKS[task]:
            f = base / subset / "task.json" if subset else base / "task.json"
            if f.exists():
                examples += [{**e, "subset": subset or task} for e in json.loads(f.read_text())["examples"]]
        if examples:
            return examples, base
    return None

"""Distributed: the same entry point under torchrun, 2 CPU processes (gloo, loopback), replicas identical."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from train_helpers import make_corpus


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_ddp_keeps_replicas_identical(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "polyvox.train",
        "--preset",
        "tiny",
        "--data",
        str(corpus),
        "--out",
        str(out),
        "--steps",
        "3",
        "--batch-size",
        "1",
        "--threads",
        "1",
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    check = json.loads((out / "replicas.json").read_text())
    assert check["world_size"] == 2 and check["identical"], check
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in rows] == [1, 2, 3]

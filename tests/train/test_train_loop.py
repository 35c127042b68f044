"""Training loop: all stages run with finite losses, checkpoints resume exactly, the result loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from train_helpers import fast_config, make_corpus

from polyvox.train.trainer import StopTraining, train


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def _weights(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "state.pt", weights_only=False)["model"]


def test_kill_and_resume_equals_uninterrupted(corpus: Path, tmp_path: Path) -> None:
    cfg = fast_config(pretrain_steps=3, instruct_steps=2, rlpf_steps=0)
    train(cfg, [corpus], tmp_path / "full", progress=False)
    with pytest.raises(StopTraining):  # dies after step 3; the last checkpoint is step 2
        train(cfg, [corpus], tmp_path / "cut", stop_after=3, progress=False)
    assert torch.load(tmp_path / "cut" / "state.pt", weights_only=False)["step"] == 2
    train(cfg, [corpus], tmp_path / "cut", progress=False)
    full, cut = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    for k in full:
        torch.testing.assert_close(cut[k], full[k], rtol=0, atol=0, msg=k)
    lines = [(tmp_path / d / "metrics.jsonl").read_text().splitlines() for d in ("full", "cut")]
    strip = [[{k: v for k, v in json.loads(x).items() if k != "seconds_per_step"} for x in ls] for ls in lines]
    assert strip[0] == strip[1] and [r["step"] for r in strip[0]] == [1, 2, 3, 4, 5]


def test_all_stages_and_the_checkpoint_loads(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = fast_config(pretrain_steps=1, instruct_steps=1, rlpf_steps=1, checkpoint_every=3)
    r = train(cfg, [corpus], tmp_path / "run", progress=False)
    rows = [json.loads(x) for x in (r.out / "metrics.jsonl").read_text().splitlines()]
    assert [x["stage"] for x in rows] == ["pretrain", "instruct", "rlpf"]
    assert all(torch.isfinite(torch.tensor(x["loss"])) for x in rows) and "reward" in rows[-1]
    assert (r.out / "loss.png").stat().st_size > 1000
    from polyvox.unified import load_engine

    engine = load_engine(str(r.checkpoint))
    assert engine.trained and engine.model.cfg.name == "tiny"
    monkeypatch.setenv("POLYVOX_UNIFIED_CHECKPOINT", str(r.checkpoint))  # the shipped-checkpoint lookup
    assert load_engine(None).trained
    assert not load_engine(None, "tiny").trained  # a named non-default config: random weights

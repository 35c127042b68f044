"""Checkpoints: round trip, wrong config, corrupt file; and the tiny-config regression against stored outputs.

Regenerate the reference after an intended change of the model's function:
    .venv/bin/python tests/unified/test_unified_checkpoint.py --regenerate
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close
from unified_helpers import speechlike, tiny_model

from polyvox.errors import ModelError
from polyvox.unified.checkpoint import load_checkpoint, save_checkpoint
from polyvox.unified.conditioning import Conditioning
from polyvox.unified.config import CONFIGS, SPEAK
from polyvox.unified.errors import CheckpointError

REFERENCE = Path(__file__).parent / "data" / "tiny_reference.pt"


def _reference_outputs() -> dict[str, torch.Tensor]:
    model = tiny_model(seed=0)
    audio = speechlike(4, seed=1)
    g = torch.Generator().manual_seed(2)
    text = torch.randint(0, model.cfg.core.vocab_size, (1, 4), generator=g)
    acoustic = torch.randn(1, 4, 8, 32, generator=g)
    cond = Conditioning(emotion=torch.tensor([1]), language=torch.tensor([21]))
    with torch.no_grad():
        out = model(audio, text, acoustic, SPEAK, cond)
    return {
        "text_logits": out.text_logits,
        "audio": out.audio,
        "log_f0": out.log_f0,
        "emotion": out.understanding.emotion,
        "speaker": out.understanding.speaker,
    }


def test_tiny_model_matches_stored_reference() -> None:
    ref = torch.load(REFERENCE, weights_only=True)
    got = _reference_outputs()
    assert set(ref) == set(got)
    for k in ref:
        assert_close(got[k], ref[k], atol=1e-4, rtol=1e-4, msg=lambda m, k=k: f"{k}: {m}")


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = tiny_model(seed=3)
    path = save_checkpoint(model, tmp_path / "m.pt", meta={"trained": False, "voices": {"a": [0.0] * 32}})
    loaded, meta = load_checkpoint(path, expected=CONFIGS["tiny"])
    assert meta["voices"]["a"][0] == 0.0 and not meta["trained"]
    for (n, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), n
    audio = speechlike(2)
    text, acoustic = torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, 8, 32)
    with torch.no_grad():
        assert_close(model(audio, text, acoustic).audio, loaded(audio, text, acoustic).audio)


def test_checkpoint_from_another_config_is_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tiny_model(), tmp_path / "tiny.pt")
    with pytest.raises(CheckpointError, match="saved for config 'tiny', not 'default'") as e:
        load_checkpoint(path, expected=CONFIGS["default"])
    assert isinstance(e.value, ModelError)
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["core.norm.weight"] = torch.ones(3)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="wrong-shape"):
        load_checkpoint(tmp_path / "bad.pt")


def test_missing_or_corrupt_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "junk.pt")


if __name__ == "__main__" and "--regenerate" in sys.argv:
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    torch.save(_reference_outputs(), REFERENCE)
    print(f"wrote {REFERENCE}")

"""The unified speech-to-speech model: one network that listens, reasons and speaks (pure PyTorch).

    from polyvox.unified import load_engine
    engine = load_engine("unified.pt")        # or load_engine(None, "tiny"): random weights, for testing
    result, audio = engine.run(Turn(audio=samples))

Needs torch: pip install "polyvox[unified]". See docs/unified.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.errors import require

if TYPE_CHECKING:
    from polyvox.unified.engine import UnifiedEngine


def load_engine(checkpoint: str | None, config: str | None = None) -> UnifiedEngine:
    """The UnifiedEngine for `checkpoint` (a file written by checkpoint.save_checkpoint).

    checkpoint None: the shipped checkpoint (shipped.shipped_checkpoint: $POLYVOX_UNIFIED_CHECKPOINT, then
    polyvox/data/unified_default.pt, sha256-verified) when `config` is None or its config; otherwise, or when
    none is installed, a model of the named `config` ("default" when None) with random weights (seeded, so
    runs repeat); it runs end to end but says "untrained" on stderr and in TurnResult.trace["warning"].
    With a checkpoint, a `config` name (if given) must be the one it was saved with, else CheckpointError.
    """
    require("torch", "the unified model", "unified")
    import torch

    from polyvox.unified.checkpoint import load_checkpoint
    from polyvox.unified.config import get_config
    from polyvox.unified.engine import UnifiedEngine
    from polyvox.unified.model import S2SModel
    from polyvox.unified.text import HFTokenizer, TextVocab

    if checkpoint is None:
        from polyvox.unified.shipped import shipped_checkpoint

        shipped = shipped_checkpoint() if config in (None, "default") else None  # it holds the default config
        if shipped is not None:
            checkpoint = str(shipped)
    if checkpoint is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = S2SModel(get_config(config or "default"))
        return UnifiedEngine(model, trained=False)
    model, meta = load_checkpoint(checkpoint, expected=None if config is None else get_config(config))
    vocab = TextVocab(HFTokenizer(meta["tokenizer"], model.cfg.core.base_vocab_size)) if "tokenizer" in meta else None
    return UnifiedEngine(model, vocab, trained=bool(meta.get("trained", True)), voices=meta.get("voices"))

"""CLI commands of the unified model (a thin layer over library functions). The main CLI calls `register`.

polyvox model-info --config 250b      parameter count per component and memory needs, built on the
                                      meta device (no memory is allocated, so 250b is instant)
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

BYTES_TRAIN_PER_PARAM = 16  # mixed-precision Adam: bf16 weights 2 + bf16 grads 2 + fp32 master 4 + Adam m, v 8


@dataclass(frozen=True)
class ModelInfo:
    config: str
    params: dict[str, int]  # per component, and "total"
    core_shape: str  # "layers × d_model, heads/kv heads, d_ff"
    weights_fp32_gb: float  # checkpoint size at fp32
    inference_bf16_gb: float  # weights at bf16 + the KV cache of one stream over the full attention window
    kv_cache_gb_per_stream: float  # bf16 keys + values for CoreConfig.context steps
    training_gb: float  # BYTES_TRAIN_PER_PARAM × params, before activations (which depend on batch × length)


def model_info(name: str) -> ModelInfo:
    """Build config `name` on the meta device and count its parameters."""
    import torch

    from polyvox.unified.config import get_config
    from polyvox.unified.model import S2SModel

    cfg = get_config(name)
    with torch.device("meta"):
        model = S2SModel(cfg)
    groups = {
        "prosody": [model.mel, model.prosody, model.pitch],
        "encoder": [model.encoder],
        "core": [m for m in (model.core, model.acoustic_in, model.mode_embed) if m is not None],
        "decoder": [model.decoder, model.style],
        "vocoder": [model.vocoder],
        "heads": [model.heads],
    }
    params = {k: sum(p.numel() for m in ms for p in m.parameters()) for k, ms in groups.items()}
    total = sum(p.numel() for p in model.parameters())
    assert total == sum(params.values()), "a module is missing from the groups"
    params["total"] = total
    c = cfg.core
    kv = 2 * c.n_layers * c.n_kv_heads * c.head_dim * c.context * 2  # keys + values, bf16
    gb = 1e9
    return ModelInfo(
        config=name,
        params=params,
        core_shape=f"{c.n_layers} layers × d_model {c.d_model}, {c.n_heads}/{c.n_kv_heads} heads, d_ff {c.d_ff}",
        weights_fp32_gb=round(total * 4 / gb, 3),
        inference_bf16_gb=round((total * 2 + kv) / gb, 3),
        kv_cache_gb_per_stream=round(kv / gb, 3),
        training_gb=round(total * BYTES_TRAIN_PER_PARAM / gb, 3),
    )


def _fmt(n: int) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def cmd_model_info(args: argparse.Namespace) -> int:
    from polyvox.unified.config import CONFIGS

    names = list(CONFIGS) if args.config == "all" else [args.config]
    infos = [model_info(n) for n in names]
    if args.json:
        print(json.dumps([asdict(i) for i in infos] if len(infos) > 1 else asdict(infos[0]), indent=2))
        return 0
    for info in infos:
        print(f"config {info.config}: {_fmt(info.params['total'])} parameters ({info.params['total']:,})")
        print(f"  core: {info.core_shape}")
        for k, v in info.params.items():
            if k != "total":
                print(f"  {k:<12} {_fmt(v):>9}  {100 * v / info.params['total']:5.1f} %")
        print(
            f"  memory: weights fp32 {info.weights_fp32_gb} GB; inference bf16 {info.inference_bf16_gb} GB "
            f"(incl. KV cache {info.kv_cache_gb_per_stream} GB per stream); "
            f"training ≥ {info.training_gb} GB + activations"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the unified model's subcommands to the main CLI's subparsers (each sets `func`)."""
    p = subparsers.add_parser("model-info", help="parameter count and memory of a unified-model config")
    p.add_argument("--config", default="default", help="tiny, default, base, 1b, 8b, 70b, 250b, or all")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_model_info)

"""Initialise the reasoning core from a pretrained causal LM (Llama / Qwen2 / Mistral-shaped).

Sources, all local (no network):
- a Hugging Face folder: config.json + model.safetensors (sharded or not) or pytorch_model.bin, read
  with plain torch (a minimal safetensors reader below: no `safetensors`/`transformers` needed);
- a GGUF file (e.g. the packaged Qwen2.5-0.5B or SmolLM2), dequantised by transformers' GGUF loader
  (needs `pip install "polyvox[unified]" transformers gguf`).

The LM's layers map 1:1 onto ReasoningCore (same names, same rotary convention); its vocabulary becomes
the text stream's base vocabulary (special tokens and IPA phonemes are appended, initialised at the mean
embedding), embed_tokens -> core.text_embed, lm_head -> decoder.text_head. The speech encoder's projection
then lands speech latents in the LM's embedding space. Everything else (encoder, gates, decoder, vocoder)
starts fresh; CoreConfig.finetune picks full / frozen / LoRA training of the LM part.
"""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from polyvox.errors import require
from polyvox.unified.config import CoreConfig, ModelConfig, get_config
from polyvox.unified.errors import CheckpointError
from polyvox.unified.model import S2SModel

_ST_DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_SUPPORTED = ("llama", "qwen2", "mistral")


def read_safetensors(path: str | Path) -> dict[str, Tensor]:
    """A .safetensors file -> {name: tensor} (format: u64 header size, JSON header, raw little-endian data)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = memoryview(data)[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _ST_DTYPES[info["dtype"]]
        t = torch.frombuffer(bytearray(body[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
    return out


def load_hf_folder(folder: str | Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    """-> (config.json as a dict, state dict) of a local Hugging Face causal-LM folder or a .gguf file."""
    p = Path(folder)
    if p.suffix == ".gguf":
        return _load_gguf(p)
    if not (p / "config.json").is_file():
        raise CheckpointError(f"{p} has no config.json", "give a Hugging Face model folder or a .gguf file")
    hf_cfg = json.loads((p / "config.json").read_text())
    files = sorted(p.glob("*.safetensors"))
    if files:
        sd: dict[str, Tensor] = {}
        for f in files:
            sd.update(read_safetensors(f))
    elif (p / "pytorch_model.bin").is_file():
        sd = torch.load(p / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise CheckpointError(f"{p} holds no *.safetensors or pytorch_model.bin weights")
    return hf_cfg, sd


def _load_gguf(path: Path) -> tuple[dict[str, Any], dict[str, Tensor]]:
    transformers = require("transformers", "loading a GGUF language model", "unified")
    lm = transformers.AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, torch_dtype=torch.float32
    )
    return lm.config.to_dict(), lm.state_dict()


def core_config_from_hf(hf_cfg: dict[str, Any], base: CoreConfig | None = None) -> CoreConfig:
    """The CoreConfig matching an HF config.json (other fields, e.g. finetune, from `base`)."""
    kind = hf_cfg.get("model_type")
    if kind not in _SUPPORTED:
        raise CheckpointError(f"LM type {kind!r} is not supported", f"use one of: {', '.join(_SUPPORTED)}")
    if hf_cfg.get("rope_scaling"):
        raise CheckpointError(f"rope_scaling {hf_cfg['rope_scaling']} is not supported", "use an LM without it")
    d, n_heads = hf_cfg["hidden_size"], hf_cfg["num_attention_heads"]
    if hf_cfg.get("head_dim", d // n_heads) != d // n_heads:
        raise CheckpointError("LMs with head_dim != hidden_size / num_attention_heads are not supported")
    return replace(
        base or CoreConfig(),
        d_model=d,
        n_layers=hf_cfg["num_hidden_layers"],
        n_heads=n_heads,
        n_kv_heads=hf_cfg.get("num_key_value_heads", n_heads),
        d_ff=hf_cfg["intermediate_size"],
        rope_theta=float(hf_cfg.get("rope_theta", 10_000.0)),
        norm_eps=float(hf_cfg.get("rms_norm_eps", 1e-6)),
        qkv_bias=bool(hf_cfg.get("attention_bias", kind == "qwen2")),
        base_vocab_size=hf_cfg["vocab_size"],
    )


def map_hf_state_dict(sd: dict[str, Tensor], n_layers: int, tied: bool) -> dict[str, Tensor]:
    """HF Llama/Qwen2 names -> S2SModel names (embedding and head rows are only the base vocabulary)."""
    out = {
        "core.text_embed.weight": sd["model.embed_tokens.weight"],
        "core.norm.weight": sd["model.norm.weight"],
        "decoder.text_head.weight": sd["model.embed_tokens.weight" if tied else "lm_head.weight"],
    }
    for i in range(n_layers):
        src, dst = f"model.layers.{i}.", f"core.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            for kind in ("weight", "bias"):
                if f"{src}self_attn.{proj}.{kind}" in sd:
                    out[f"{dst}attn.{proj}.{kind}"] = sd[f"{src}self_attn.{proj}.{kind}"]
        for proj in ("gate_proj", "up_proj", "down_proj"):
            out[f"{dst}mlp.{proj}.weight"] = sd[f"{src}mlp.{proj}.weight"]
        out[f"{dst}attn_norm.weight"] = sd[f"{src}input_layernorm.weight"]
        out[f"{dst}mlp_norm.weight"] = sd[f"{src}post_attention_layernorm.weight"]
    return out


@torch.no_grad()
def load_lm_into(model: S2SModel, hf_cfg: dict[str, Any], sd: dict[str, Tensor]) -> None:
    """Copy a pretrained LM's weights into `model.core` / `model.decoder.text_head` in place."""
    V = model.cfg.core.base_vocab_size
    tied = bool(hf_cfg.get("tie_word_embeddings", "lm_head.weight" not in sd))
    try:
        mapped = map_hf_state_dict(sd, model.cfg.core.n_layers, tied)
    except KeyError as e:
        raise CheckpointError(f"the LM's weights lack {e.args[0]}", "is it a Llama/Qwen2-style causal LM?") from None
    own = model.state_dict()
    for name, src in mapped.items():
        dst = own[name]
        rows = dst[:V] if name in ("core.text_embed.weight", "decoder.text_head.weight") else dst
        if rows.shape != src.shape:
            raise CheckpointError(f"{name}: LM tensor {tuple(src.shape)} does not fit {tuple(rows.shape)}")
        rows.copy_(src.to(dst.dtype))
    for name in ("core.text_embed.weight", "decoder.text_head.weight"):  # appended tokens start at the mean
        w = own[name]
        w[V:] = w[:V].mean(0) + 0.02 * w[:V].std() * torch.randn_like(w[V:])
    model.core.apply_finetune_mode()


def from_pretrained_lm(
    path: str | Path, config: str | ModelConfig = "default", finetune: str = "lora", lora_rank: int = 8
) -> S2SModel:
    """A new S2SModel whose core is the LM at `path` (HF folder or .gguf); the rest from `config`."""
    base = get_config(config) if isinstance(config, str) else config
    hf_cfg, sd = load_hf_folder(path)
    core = core_config_from_hf(hf_cfg, replace(base.core, finetune=finetune, lora_rank=lora_rank))  # type: ignore[arg-type]
    model = S2SModel(replace(base, name=f"{base.name}+{Path(path).name}", core=core))
    load_lm_into(model, hf_cfg, sd)
    return model

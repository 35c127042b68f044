"""Initialising the core from a pretrained LM: a tiny Llama/Qwen2-shaped checkpoint built with plain torch,
saved as safetensors + config.json, loaded, and checked against an independent reference forward pass."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

from polyvox.unified.errors import CheckpointError
from polyvox.unified.hf_init import from_pretrained_lm, read_safetensors

D, L, H, KV, FF, V = 32, 2, 4, 2, 48, 50


def _write_safetensors(sd: dict[str, torch.Tensor], path: Path) -> None:
    header, blobs, off = {}, [], 0
    for name, t in sd.items():
        b = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def _tiny_lm(folder: Path, kind: str = "llama", tied: bool = False) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * 0.2

    hd = D // H
    sd = {"model.embed_tokens.weight": r(V, D), "model.norm.weight": 1 + r(D)}
    if not tied:
        sd["lm_head.weight"] = r(V, D)
    for i in range(L):
        p = f"model.layers.{i}."
        sd |= {
            p + "self_attn.q_proj.weight": r(H * hd, D),
            p + "self_attn.k_proj.weight": r(KV * hd, D),
            p + "self_attn.v_proj.weight": r(KV * hd, D),
            p + "self_attn.o_proj.weight": r(D, H * hd),
            p + "mlp.gate_proj.weight": r(FF, D),
            p + "mlp.up_proj.weight": r(FF, D),
            p + "mlp.down_proj.weight": r(D, FF),
            p + "input_layernorm.weight": 1 + r(D),
            p + "post_attention_layernorm.weight": 1 + r(D),
        }
        if kind == "qwen2":
            sd |= {p + f"self_attn.{n}_proj.bias": r(w) for n, w in (("q", H * hd), ("k", KV * hd), ("v", KV * hd))}
    folder.mkdir()
    _write_safetensors(sd, folder / "model.safetensors")
    cfg = {
        "model_type": kind,
        "hidden_size": D,
        "num_hidden_layers": L,
        "num_attention_heads": H,
        "num_key_value_heads": KV,
        "intermediate_size": FF,
        "vocab_size": V,
        "rope_theta": 10000.0,
        "rms_norm_eps": 1e-6,
        "tie_word_embeddings": tied,
    }
    (folder / "config.json").write_text(json.dumps(cfg))
    return sd


def _reference_forward(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Llama as written in the HF modeling code, independently of polyvox: x (1, T, D) -> final-normed hidden."""

    def rms(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + 1e-6) * w

    T, hd = x.shape[1], D // H
    inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()

    def rope(t: torch.Tensor) -> torch.Tensor:
        t1, t2 = t[..., : hd // 2], t[..., hd // 2 :]
        return t * cos + torch.cat([-t2, t1], -1) * sin

    for i in range(L):
        p = f"model.layers.{i}.self_attn."
        h = rms(x, sd[f"model.layers.{i}.input_layernorm.weight"])

        def proj(n: str, heads: int, h: torch.Tensor = h, p: str = p) -> torch.Tensor:
            y = h @ sd[f"{p}{n}_proj.weight"].T + sd.get(f"{p}{n}_proj.bias", 0)
            return y.view(1, T, heads, hd).transpose(1, 2)

        q, k, v = rope(proj("q", H)), rope(proj("k", KV)), proj("v", KV)
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        att = (q @ k.transpose(-1, -2)) / hd**0.5 + torch.full((T, T), float("-inf")).triu(1)
        x = x + (att.softmax(-1) @ v).transpose(1, 2).reshape(1, T, D) @ sd[p + "o_proj.weight"].T
        m = f"model.layers.{i}.mlp."
        h = rms(x, sd[f"model.layers.{i}.post_attention_layernorm.weight"])
        act = torch.nn.functional.silu(h @ sd[m + "gate_proj.weight"].T) * (h @ sd[m + "up_proj.weight"].T)
        x = x + act @ sd[m + "down_proj.weight"].T
    return rms(x, sd["model.norm.weight"])


@pytest.mark.parametrize(("kind", "tied"), [("llama", False), ("qwen2", True)])
def test_core_from_tiny_lm_matches_reference(tmp_path: Path, kind: str, tied: bool) -> None:
    sd = _tiny_lm(tmp_path / "lm", kind, tied)
    assert set(read_safetensors(tmp_path / "lm" / "model.safetensors")) == set(sd)
    model = from_pretrained_lm(tmp_path / "lm", config="tiny", finetune="full", lora_rank=0).eval()
    core = model.core
    assert core.cfg.base_vocab_size == V and core.cfg.qkv_bias == (kind == "qwen2")
    for layer in core.layers:  # gates exactly 1: the LM's own function
        torch.nn.init.zeros_(layer.gate.proj.weight)
    tokens = torch.tensor([[3, 14, 15, 9, 26, 5]])
    with torch.no_grad():
        ours = core(core.text_embed(tokens), torch.zeros(1, 6, 4))
        ref = _reference_forward(sd, sd["model.embed_tokens.weight"][tokens])
    assert_close(ours, ref, atol=1e-4, rtol=1e-4)
    head = sd["model.embed_tokens.weight" if tied else "lm_head.weight"]
    assert torch.equal(model.decoder.text_head.weight[:V], head)
    assert model.cfg.core.vocab_size > V  # specials and IPA appended after the LM's vocabulary


def test_lora_mode_trains_only_adapters_in_the_lm(tmp_path: Path) -> None:
    _tiny_lm(tmp_path / "lm")
    model = from_pretrained_lm(tmp_path / "lm", config="tiny", finetune="lora", lora_rank=4)
    layer = model.core.layers[0]
    assert not layer.attn.q_proj.weight.requires_grad and layer.attn.q_proj.lora_a.requires_grad
    assert not layer.mlp.up_proj.weight.requires_grad and layer.gate.proj.weight.requires_grad
    assert model.encoder.proj.weight.requires_grad  # the speech side always trains


def test_unsupported_lm_is_refused(tmp_path: Path) -> None:
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (tmp_path / "lm" / "model.safetensors").write_bytes(struct.pack("<Q", 2) + b"{}")
    with pytest.raises(CheckpointError, match="not supported"):
        from_pretrained_lm(tmp_path / "lm", config="tiny")

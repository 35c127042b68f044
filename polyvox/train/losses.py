"""Supervised losses of stage 1 and stage 2, as one module so DDP/FSDP can wrap it.

`TrainModule(model).forward(batch)` runs the model teacher-forced over a whole stream whose steps are
LISTEN (the user's turn, conditioned like the engine's listening: no emotion / voice, earlier turns as
context) or SPEAK (the reply: target emotion and language) — exactly the two conditionings
`UnifiedEngine.stream` uses, chosen per step — and returns the weighted sum of:

    text        CE of the text stream (transcript while listening, reply while speaking; <pad> down-weighted)
    acoustic    L1 of the acoustic frames against the target's log-mel (24 kHz, 10 ms hop, d_acoustic bands)
    f0, voicing L1 of the normalised log-F0 on voiced frames, BCE of voicing (targets: ProsodyExtractor)
    vocoder     FlowVocoder.flow_loss on the target frames / F0 / wave (teacher-forced acoustic reconstruction)
    emotion, language, end_of_turn   the understanding heads on the user's steps
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from polyvox.train.config import LossWeights
from polyvox.train.data import Batch
from polyvox.unified.conditioning import Conditioning
from polyvox.unified.config import SPEAK, acoustic_mel
from polyvox.unified.decoder import AcousticFrames
from polyvox.unified.heads import Understanding
from polyvox.unified.mel import MelFrontend
from polyvox.unified.model import S2SModel
from polyvox.unified.text import TextVocab

VOICED_LOGIT = 6.0  # target voicing as a logit for the vocoder's teacher-forced input (sigmoid(6) ≈ 0.998)


@dataclass(frozen=True)
class StreamOutput:
    text_logits: Tensor  # (B, T, vocab)
    acoustic: AcousticFrames  # (B, T, F, ...)
    understanding: Understanding  # (B, T, ...)
    style: Tensor  # (B, d_cond) of the speaking conditioning


def _select(speak: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """speak: (B, T) bool -> a where speaking else b; a, b: (B, T, ...)."""
    return torch.where(speak.view(*speak.shape, *([1] * (a.dim() - 2))), a, b)


def context_of(model: S2SModel, histories: list[list[str]], vocab: TextVocab) -> tuple[Tensor | None, Tensor | None]:
    """Earlier turns -> context latents (B, M, D) and mask (B, M), or (None, None) when no item has any."""
    if not any(histories):
        return None, None
    lat = [model.context_latents([vocab.encode(t) for t in h])[0] for h in histories]  # (M_b, D) each
    M = max(x.shape[0] for x in lat)
    ctx = torch.zeros(len(lat), M, model.cfg.core.d_model, device=model.device)
    mask = torch.zeros(len(lat), M, dtype=torch.bool, device=model.device)
    for b, x in enumerate(lat):
        ctx[b, : x.shape[0]], mask[b, : x.shape[0]] = x, True
    return ctx, mask


def stream_forward(
    model: S2SModel, batch: Batch, text_in: Tensor, acoustic_in: Tensor, vocab: TextVocab
) -> StreamOutput:
    """Teacher-forced pass: text_in (B, T) tokens of each step, acoustic_in (B, T, F, A) frames of each step."""
    B = text_in.shape[0]
    ctx, ctx_mask = context_of(model, batch.history, vocab)
    listen = Conditioning(context=ctx, context_mask=ctx_mask)
    speak = Conditioning(emotion=batch.reply_emotion, language=batch.reply_language, context=ctx, context_mask=ctx_mask)
    prev_tok = torch.cat([text_in.new_full((B, 1), model.bos), model.fed_text(text_in, batch.mode)[:, :-1]], 1)
    prev_ac = torch.cat([torch.zeros_like(acoustic_in[:, :1]), acoustic_in[:, :-1]], 1)
    is_speak = batch.mode == SPEAK
    x_l, p_l = model._core_input(batch.audio, prev_tok, prev_ac, batch.mode, listen)
    x_s, p_s = model._core_input(batch.audio, prev_tok, prev_ac, batch.mode, speak)
    h = model.core(_select(is_speak, x_s, x_l), _select(is_speak, p_s, p_l))  # (B, T, D)
    s_l, s_s = model.style(listen, B), model.style(speak, B)
    logits = _select(is_speak, model.decoder.text_logits(h, s_s), model.decoder.text_logits(h, s_l))
    emb = model.core.text_embed(text_in)
    a_l, a_s = model.decoder.acoustic(h, emb, s_l), model.decoder.acoustic(h, emb, s_s)
    ac = AcousticFrames(*(_select(is_speak, getattr(a_s, k), getattr(a_l, k)) for k in ("frames", "f0_z", "voiced")))
    return StreamOutput(logits, ac, model.heads(h), s_s)


class TrainModule(nn.Module):
    """The model plus its training objective; DDP/FSDP wrap this module, checkpoints save `.model`."""

    def __init__(self, model: S2SModel, weights: LossWeights, vocab: TextVocab | None = None) -> None:
        super().__init__()
        self.model, self.w, self.vocab = model, weights, vocab or TextVocab()
        d = model.cfg.decoder
        self.target_mel = MelFrontend(acoustic_mel(d.d_acoustic))
        self.rlpf_step = None  # set by the trainer for the RLPF stage: callable(module, batch) -> (loss, metrics)

    def targets(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """-> acoustic frames (B, T, F, A), normalised log-F0, voicing, log-F0 (B, T·F each) of the target wave."""
        m = self.model
        B, T = batch.text.shape
        F_ = m.cfg.decoder.frames_per_step
        frames = self.target_mel(batch.wave).transpose(1, 2).reshape(B, T, F_, -1)
        pf = m.prosody(batch.wave16)
        if self.training:
            m.pitch.update_language_stats(pf.log_f0, pf.voiced, batch.reply_language)
        mu, var = m.pitch._prior(batch.reply_language)
        z = (pf.log_f0 - mu[:, None]) / var.sqrt()[:, None]
        return frames, z, pf.voiced, pf.log_f0

    def forward(self, batch: Batch, stage: str = "instruct") -> tuple[Tensor, dict[str, float]]:
        if stage == "rlpf":
            return self.rlpf_step(self, batch)
        return self.supervised(batch)

    def supervised(self, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        m, w, v = self.model, self.w, self.vocab
        B, T = batch.text.shape
        frames, f0_z, voiced, log_f0 = (x.detach() for x in self.targets(batch))
        out = stream_forward(m, batch, batch.text, frames, v)
        mask = batch.mask.float()
        frame_mask = mask.repeat_interleave(m.cfg.decoder.frames_per_step, 1)  # (B, T·F)
        tw = torch.where(batch.text == v.pad, w.pad, 1.0) * mask
        ce = F.cross_entropy(out.text_logits.flatten(0, 1), batch.text.flatten(), reduction="none").view(B, T)
        losses = {"text": (ce * tw).sum() / tw.sum()}
        l1 = (out.acoustic.frames - frames).abs().mean((-1, -2))  # (B, T)
        losses["acoustic"] = (l1 * mask).sum() / mask.sum()
        vm = (voiced > 0.5).float() * frame_mask
        losses["f0"] = ((out.acoustic.f0_z.flatten(1) - f0_z).abs() * vm).sum() / vm.sum().clamp(min=1)
        bce = F.binary_cross_entropy_with_logits(out.acoustic.voiced.flatten(1), voiced, reduction="none")
        losses["voicing"] = (bce * frame_mask).sum() / frame_mask.sum()
        v_logit = (2 * voiced - 1) * VOICED_LOGIT
        losses["vocoder"] = m.vocoder.flow_loss(frames.flatten(1, 2), log_f0, v_logit, out.style, batch.wave)
        listen = (batch.mode != SPEAK) & batch.mask
        u = out.understanding
        for name, target in (("emotion", batch.user_emotion), ("language", batch.user_language)):
            sel = listen & (target >= 0)[:, None]
            logits = getattr(u, name)[sel]
            tgt = target[:, None].expand(B, T)[sel]
            losses[name] = F.cross_entropy(logits, tgt) if tgt.numel() else logits.sum() * 0.0
        eot = F.binary_cross_entropy_with_logits(u.end_of_turn, batch.end_of_turn, reduction="none")
        losses["end_of_turn"] = (eot * listen).sum() / listen.sum().clamp(min=1)
        total = sum(getattr(w, k) * x for k, x in losses.items())
        total = total + 0.0 * u.speaker.sum()  # no speaker labels yet: keep the head in the graph for DDP
        metrics = {f"loss_{k}": float(x.detach()) for k, x in losses.items()}
        metrics["text_acc_speak"] = float(
            ((out.text_logits.argmax(-1) == batch.text) & (batch.mode == SPEAK) & batch.mask).sum()
            / ((batch.mode == SPEAK) & batch.mask).sum().clamp(min=1)
        )
        return total, metrics

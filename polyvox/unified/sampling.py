"""How the text stream and the vocoder draw samples: options as a frozen dataclass, filters as objects."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SamplingOptions:
    # text-token softmax temperature; 0 = greedy (argmax). Greedy by default: on the held-out set the shipped
    # checkpoint answers 33 % right greedy vs 19 % at 0.8, with the same CER
    temperature: float = 0.0
    top_k: int = 0  # keep only the k most likely tokens (0 = no limit)
    top_p: float = 1.0  # keep the smallest set of tokens whose probability reaches top_p (1 = all)
    vocoder_temperature: float = 1.0  # scale of the vocoder's starting noise; 0 = deterministic mean path
    # scale of the flow's residual on the source-filter base; 0 = the base alone. Off by default: after 6000
    # CPU training steps the residual still added broadband noise (held-out reply CER 0.87 with it, 0.80 without)
    vocoder_residual: float = 0.0
    seed: int | None = None  # seeds the stream's generator (None = nondeterministic)


class LogitFilter(ABC):
    @abstractmethod
    def apply(self, logits: Tensor) -> Tensor:
        """logits: (B, V) -> (B, V) with excluded tokens at -inf."""


class TopK(LogitFilter):
    def __init__(self, k: int) -> None:
        self.k = k

    def apply(self, logits: Tensor) -> Tensor:
        k = min(self.k, logits.shape[-1])
        kth = logits.topk(k, dim=-1).values[..., -1:]
        return logits.masked_fill(logits < kth, float("-inf"))


class TopP(LogitFilter):
    def __init__(self, p: float) -> None:
        self.p = p

    def apply(self, logits: Tensor) -> Tensor:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= self.p  # tokens after the nucleus is full
        return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


def filters_for(options: SamplingOptions) -> list[LogitFilter]:
    out: list[LogitFilter] = []
    if options.top_k > 0:
        out.append(TopK(options.top_k))
    if options.top_p < 1.0:
        out.append(TopP(options.top_p))
    return out


def sample_token(logits: Tensor, options: SamplingOptions, generator: torch.Generator | None = None) -> Tensor:
    """logits: (B, V) -> token ids (B,) long."""
    if options.temperature <= 0:
        return logits.argmax(-1)
    logits = logits.float() / options.temperature
    for f in filters_for(options):
        logits = f.apply(logits)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]

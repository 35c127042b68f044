"""Training configuration: one frozen dataclass per concern, named presets (`polyvox train --preset NAME`).

The three stages share one schedule over global optimizer steps, so a run resumes anywhere:

    [0, pretrain_steps)                                   stage 1: pretraining (ASR / TTS / continuation)
    [pretrain_steps, pretrain_steps + instruct_steps)     stage 2: instruction post-training (dialogues)
    [..., total_steps)                                    RLPF: policy optimisation from prosody feedback
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from polyvox.errors import PolyvoxError

Stage = Literal["pretrain", "instruct", "rlpf"]


@dataclass(frozen=True)
class LossWeights:
    text: float = 1.0  # cross-entropy of the text stream (transcript while listening, reply while speaking)
    pad: float = 0.3  # relative weight of <pad> targets in the text loss (most steps are <pad>)
    acoustic: float = 1.0  # L1 of the acoustic frames against the target log-mel
    f0: float = 0.5  # L1 of the normalised log-F0 contour on voiced frames
    voicing: float = 0.2  # BCE of voicing
    vocoder: float = 1.0  # rectified-flow loss of the vocoder (teacher-forced on target frames)
    emotion: float = 0.3  # CE of the emotion head on the user's steps
    language: float = 0.3  # CE of the language head on the user's steps
    end_of_turn: float = 0.2  # BCE of the end-of-turn head


@dataclass(frozen=True)
class RlpfConfig:
    group_size: int = 4  # replies sampled per prompt; advantages are reward - group mean (GRPO-style)
    max_reply_steps: int = 40  # 80 ms steps per sampled reply (3.2 s)
    temperature: float = 1.0  # text sampling temperature of the policy
    f0_sigma: float = 0.3  # std of the Gaussian exploration on the normalised F0 contour
    kl: float = 0.05  # weight of the KL penalty to the frozen reference (the stage-2 model)
    w_emotion: float = 1.0  # reward: emotion head of the reference, listening to the reply, says the target
    w_variation: float = 0.5  # reward: F0 / energy variation close to the corpus statistics (no monotone)
    w_intelligibility: float = 1.0  # reward: 1 - CER of the ASR round trip against the reply's text stream
    asr: Literal["self", "whisper"] = "self"  # round trip through the reference model's ear or faster-whisper


@dataclass(frozen=True)
class TrainConfig:
    model: str = "default"  # polyvox.unified.config name
    batch_size: int = 4  # examples per process and step (global batch = batch_size × world size)
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 50
    grad_clip: float = 1.0
    pretrain_steps: int = 400
    instruct_steps: int = 400
    rlpf_steps: int = 0
    max_seconds: float = 8.0  # crop of the user audio / reply audio per example (memory and speed)
    seed: int = 0
    log_every: int = 5  # steps between JSONL metric lines
    checkpoint_every: int = 50  # steps between atomic checkpoints
    num_threads: int = 0  # torch CPU threads per process; 0 = leave torch's default
    backend: Literal["auto", "gloo", "nccl"] = "auto"  # auto: nccl with CUDA, gloo on CPU
    fsdp: bool = False  # shard parameters/gradients/optimizer (FSDP) instead of replicating them (DDP)
    device: str = "auto"  # auto: cuda:<local rank> when available, else cpu
    losses: LossWeights = field(default_factory=LossWeights)
    rlpf: RlpfConfig = field(default_factory=RlpfConfig)

    @property
    def total_steps(self) -> int:
        return self.pretrain_steps + self.instruct_steps + self.rlpf_steps

    def stage_at(self, step: int) -> Stage:
        if step < self.pretrain_steps:
            return "pretrain"
        if step < self.pretrain_steps + self.instruct_steps:
            return "instruct"
        return "rlpf"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        d["losses"] = LossWeights(**d.get("losses", {}))
        d["rlpf"] = RlpfConfig(**d.get("rlpf", {}))
        return cls(**d)


PRESETS: dict[str, TrainConfig] = {
    # seconds on 2 CPU cores: the tests and a smoke run
    "tiny": TrainConfig(
        model="tiny",
        batch_size=2,
        lr=1e-3,
        warmup_steps=2,
        pretrain_steps=4,
        instruct_steps=4,
        rlpf_steps=2,
        max_seconds=3.0,
        log_every=1,
        checkpoint_every=2,
        rlpf=RlpfConfig(group_size=2, max_reply_steps=6),
    ),
    # the shipped checkpoint: stages 1 + 2 took 2.1 h on 2 CPU cores (≈ 0.9 s per step at batch 8 in stage 1,
    # ≈ 1.35 s in stage 2), RLPF 16 min (≈ 6.7 s per step); resumable across runs
    "default": TrainConfig(
        model="default",
        batch_size=8,
        lr=5e-4,
        warmup_steps=100,
        pretrain_steps=2000,
        instruct_steps=3800,
        rlpf_steps=150,
        max_seconds=6.0,
        log_every=10,
        checkpoint_every=100,
    ),
}


def get_preset(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with `overrides` (None values ignored); PolyvoxError for an unknown name."""
    if name not in PRESETS:
        raise PolyvoxError(f"unknown training preset {name!r}", f"choose one of: {', '.join(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})

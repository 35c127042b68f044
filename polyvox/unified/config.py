"""Configuration of the unified speech-to-speech model: audio constants, one dataclass per component, named sizes.

Audio constants with their derivations (whisper/audio.py style):

- Input: 16 kHz mono (polyvox.audio.SAMPLE_RATE), the rate the VAD and ASR share; speech has little
  energy above 8 kHz, so 16 kHz loses nothing the model needs.
- Mel: 25 ms window (N_FFT = 400 samples), 10 ms hop (HOP = 160), 80 mel bands: the whisper frontend,
  the standard for ASR; 10 ms resolves syllables and pitch movements.
- Streaming chunk: 80 ms = 1280 input samples = 8 mel frames = one step of the reasoning core
  (12.5 steps per second, the Moshi/Mimi frame rate): the encoder's conv stack downsamples by 8.
- Output: 24 kHz (polyvox.audio.OUTPUT_SAMPLE_RATE, what the Realtime protocol's pcm16 uses);
  one step produces 80 ms = 1920 output samples = FRAMES_PER_STEP acoustic frames of 240 samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any, Literal

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE
from polyvox.unified.errors import ConfigError
from polyvox.unified.phonemes import EMOTIONS, LANGUAGES, N_PHONEMES, SPECIAL_TOKENS

CHUNK_MS = 80  # one core step
CHUNK_SAMPLES = SAMPLE_RATE * CHUNK_MS // 1000  # 1280 input samples per step
OUTPUT_CHUNK_SAMPLES = OUTPUT_SAMPLE_RATE * CHUNK_MS // 1000  # 1920 output samples per step
STEP_RATE_HZ = 1000 / CHUNK_MS  # 12.5 core steps per second
N_FFT = 400  # 25 ms analysis window at 16 kHz
HOP = 160  # 10 ms hop at 16 kHz -> 100 mel frames per second
MEL_FRAMES_PER_STEP = CHUNK_SAMPLES // HOP  # 8 -> the encoder downsamples by 8 (three stride-2 convs)
N_MELS = 80  # whisper's 80 bands: enough for phonetic detail at 16 kHz
# The acoustic stream: log-mel of the 24 kHz output, one frame per 10 ms (ACOUSTIC_HOP = 240 samples, the
# vocoder's patch), 25 ms windows (600 samples), bands up to 12 kHz (Nyquist); d_acoustic bands per frame.
ACOUSTIC_N_FFT = OUTPUT_SAMPLE_RATE * 25 // 1000  # 600
ACOUSTIC_HOP = OUTPUT_SAMPLE_RATE * 10 // 1000  # 240
ACOUSTIC_F_MAX = OUTPUT_SAMPLE_RATE / 2

LISTEN, SPEAK = 0, 1  # values of the per-step `mode`: the user has the floor / the model has the floor


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = SAMPLE_RATE  # Hz of the input waveform
    n_fft: int = N_FFT  # samples per analysis window (25 ms)
    hop: int = HOP  # samples between frames (10 ms)
    n_mels: int = N_MELS  # mel bands
    f_max: float = 8000.0  # top of the mel scale (Nyquist at 16 kHz)


def acoustic_mel(d_acoustic: int) -> MelConfig:
    """The mel analysis that defines the acoustic frames (training targets, the vocoder's source-filter base)."""
    return MelConfig(OUTPUT_SAMPLE_RATE, ACOUSTIC_N_FFT, ACOUSTIC_HOP, d_acoustic, ACOUSTIC_F_MAX)


@dataclass(frozen=True)
class ProsodyConfig:
    window: int = 640  # samples per F0 window (40 ms: two periods of a 50 Hz voice)
    f0_min: float = 50.0  # Hz, lowest pitch searched
    f0_max: float = 500.0  # Hz, highest pitch searched
    prior_frames: float = 50.0  # weight (in voiced frames) of the language prior in the running F0 stats
    momentum: float = 0.01  # update rate of the per-language running F0 statistics during training


@dataclass(frozen=True)
class EncoderConfig:
    channels: int = 192  # width of the causal conv stack
    n_down: int = 3  # stride-2 blocks: 2**3 = 8 mel frames per step
    n_cross_layers: int = 2  # cross-attention layers over the conditioning memory
    n_heads: int = 4  # heads of the cross-attention
    d_speaker: int = 128  # size of a speaker embedding (also the speaker head's output)


@dataclass(frozen=True)
class CoreConfig:
    d_model: int = 384  # width of the residual stream (= the LM's hidden size when initialised from one)
    n_layers: int = 6
    n_heads: int = 6
    n_kv_heads: int = 2  # grouped-query attention: n_heads must be a multiple of it
    d_ff: int = 1024  # SwiGLU hidden size
    rope_theta: float = 10_000.0
    norm_eps: float = 1e-5
    qkv_bias: bool = False  # Qwen2 has biases on q/k/v, Llama does not
    context: int = 4096  # attention window in steps (4096 steps = 5.5 minutes at 12.5 Hz)
    base_vocab_size: int = 256  # 256 UTF-8 bytes, or the vocabulary of the LM the core was initialised from
    d_prosody: int = 64  # width of the prosody embedding that drives the gates
    finetune: Literal["full", "frozen", "lora"] = "full"  # how the transformer layers train
    lora_rank: int = 0  # > 0 adds LoRA adapters to the attention projections
    lora_alpha: float = 16.0

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def vocab_size(self) -> int:
        """Text tokens: base vocabulary, then the special tokens, then the IPA phoneme inventory."""
        return self.base_vocab_size + len(SPECIAL_TOKENS) + N_PHONEMES


@dataclass(frozen=True)
class DecoderConfig:
    frames_per_step: int = 8  # acoustic frames per core step (10 ms each)
    d_acoustic: int = 80  # values per acoustic frame (an 80-band mel-like latent)
    d_hidden: int = 384  # acoustic MLP width
    d_cond: int = 64  # emotion / language / speaker conditioning vector
    # Feed the previous step's acoustic frames back into the core. Off: teacher-forced, the target frames of
    # the reply told the core what it was about to say (free-running text with them fed back was near perfect,
    # with its own predicted frames garbage: 0 of 8 held-out replies right at step 2600), so it learned to
    # read its audio instead of planning its words.
    acoustic_feedback: bool = False


@dataclass(frozen=True)
class VocoderConfig:
    d_hidden: int = 256  # width of the velocity network
    n_res_blocks: int = 2  # residual MLP blocks of the velocity network
    n_cond_convs: int = 2  # causal convs over acoustic frames (temporal context)
    n_steps: int = 4  # flow-matching Euler steps (a distilled sampler: fixed at training time)


@dataclass(frozen=True)
class HeadsConfig:
    d_hidden: int = 256  # shared trunk of the understanding heads
    n_emotions: int = len(EMOTIONS)  # 8 Plutchik emotions + neutral
    n_languages: int = len(LANGUAGES)  # espeak-ng's languages


@dataclass(frozen=True)
class ModelConfig:
    name: str = "default"
    mel: MelConfig = field(default_factory=MelConfig)
    prosody: ProsodyConfig = field(default_factory=ProsodyConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    core: CoreConfig = field(default_factory=CoreConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    vocoder: VocoderConfig = field(default_factory=VocoderConfig)
    heads: HeadsConfig = field(default_factory=HeadsConfig)

    def __post_init__(self) -> None:
        c = self.core
        if c.d_model % c.n_heads or c.n_heads % c.n_kv_heads or c.head_dim % 2:
            raise ConfigError(
                f"config {self.name}: d_model={c.d_model}, n_heads={c.n_heads}, n_kv_heads={c.n_kv_heads} "
                "do not divide evenly (head_dim must be even)",
                "pick d_model divisible by n_heads, n_heads divisible by n_kv_heads",
            )
        if 2**self.encoder.n_down != MEL_FRAMES_PER_STEP:
            raise ConfigError(f"encoder.n_down must be 3 (8 mel frames per step), got {self.encoder.n_down}")
        if OUTPUT_CHUNK_SAMPLES % self.decoder.frames_per_step:
            raise ConfigError(f"decoder.frames_per_step must divide {OUTPUT_CHUNK_SAMPLES}")
        if self.heads.n_languages != len(LANGUAGES) or self.heads.n_emotions != len(EMOTIONS):
            raise ConfigError("heads.n_languages / n_emotions must match the phonemes module's inventories")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of to_dict; unknown keys raise ConfigError (a checkpoint from a newer polyvox)."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            value = d[f.name]
            sub = f.default_factory() if callable(f.default_factory) else None  # type: ignore[misc]
            if is_dataclass(sub):
                known = {g.name for g in fields(sub)}
                unknown = set(value) - known
                if unknown:
                    raise ConfigError(f"unknown {f.name} config keys {sorted(unknown)}", "upgrade polyvox")
                value = replace(sub, **value)
            kwargs[f.name] = value
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown model config keys {sorted(unknown)}", "upgrade polyvox")
        return cls(**kwargs)


def _scaled(
    name: str,
    enc: tuple[int, int, int],
    core: tuple[int, int, int, int, int],
    dec: int,
    voc: tuple[int, int],
    heads: int,
    d_prosody: int,
) -> ModelConfig:
    """enc=(channels, cross layers, heads), core=(d_model, layers, heads, kv heads, d_ff), voc=(width, blocks)."""
    d_model, n_layers, n_heads, n_kv, d_ff = core
    return ModelConfig(
        name=name,
        encoder=EncoderConfig(channels=enc[0], n_cross_layers=enc[1], n_heads=enc[2]),
        core=CoreConfig(
            d_model=d_model, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv, d_ff=d_ff, d_prosody=d_prosody
        ),
        decoder=DecoderConfig(d_hidden=dec),
        vocoder=VocoderConfig(d_hidden=voc[0], n_res_blocks=voc[1]),
        heads=HeadsConfig(d_hidden=heads),
    )


# Scaling rule: the core (where reasoning lives) takes ~90 % of the parameters from 1b up; its width grows
# with depth roughly as in Llama/Qwen (d_ff ≈ 2.7-3.5 × d_model, head_dim 64-128, 8:1 GQA from 8b).
# The audio parts grow slowly (sqrt-like): a better ear and voice need far fewer parameters than reasoning.
CONFIGS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(
        name="tiny",
        encoder=EncoderConfig(channels=64, n_cross_layers=1, n_heads=2, d_speaker=32),
        core=CoreConfig(d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=192, d_prosody=16, context=1024),
        decoder=DecoderConfig(d_acoustic=32, d_hidden=96, d_cond=16),
        vocoder=VocoderConfig(d_hidden=64, n_res_blocks=1, n_cond_convs=1, n_steps=2),
        heads=HeadsConfig(d_hidden=32),
    ),
    "default": ModelConfig(),
    "base": _scaled("base", (384, 2, 6), (768, 12, 12, 4, 2048), 1024, (512, 3), 512, 128),
    "1b": _scaled("1b", (512, 3, 8), (2048, 16, 32, 8, 5632), 2048, (768, 4), 1024, 256),
    "8b": _scaled("8b", (768, 4, 12), (4096, 32, 32, 8, 14336), 4096, (1024, 4), 2048, 256),
    "70b": _scaled("70b", (1024, 6, 16), (8192, 80, 64, 8, 28672), 8192, (1536, 6), 4096, 512),
    "250b": _scaled("250b", (1536, 8, 16), (16384, 78, 128, 16, 53248), 16384, (2048, 8), 8192, 512),
}


def get_config(name: str) -> ModelConfig:
    """The named config, or ConfigError listing the names."""
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"unknown model config {name!r}", f"choose one of: {', '.join(CONFIGS)}") from None

"""The unified speech-to-speech model: listens, reasons and speaks in one network.

Per 80 ms step t (12.5 Hz):

    audio chunk (B, 1280) ─ MelFrontend ─ AudioEncoder (+ speaker/emotion/context memory) ─┐
                         └ ProsodyExtractor ─ PitchNormalizer ─ prosody (B, 1, 4) ─────┐  │
    previous text token, previous acoustic frames, mode (listen/speak) ──────────── + ─┼─ + ─ ReasoningCore
                                                                                       (gates)      │ h
    UnderstandingHeads(h): emotion, language, speaker, end-of-turn                                 │
    SpeechDecoder: text token (sampled) ─> acoustic frames + F0 contour ─> FlowVocoder ─> audio (B, 1920)

`forward` runs a whole sequence with teacher forcing (training, tests); `step` runs one chunk inside
`with model.streaming(batch_size):` and samples. Both compute the same function (tests/unified).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from polyvox.unified.conditioning import ConditionEmbedding, Conditioning
from polyvox.unified.config import CHUNK_SAMPLES, MEL_FRAMES_PER_STEP, SPEAK, ModelConfig
from polyvox.unified.core import ReasoningCore
from polyvox.unified.decoder import AcousticFrames, SpeechDecoder
from polyvox.unified.encoder import AudioEncoder
from polyvox.unified.errors import ModelInputError
from polyvox.unified.heads import Understanding, UnderstandingHeads
from polyvox.unified.mel import MelFrontend
from polyvox.unified.phonemes import EMOTIONS, LANGUAGES
from polyvox.unified.pitch import PitchNormalizer
from polyvox.unified.prosody import ProsodyExtractor
from polyvox.unified.sampling import SamplingOptions, sample_token
from polyvox.unified.streaming import StreamingModule, StreamingState
from polyvox.unified.vocoder import FlowVocoder


@dataclass(frozen=True)
class ModelOutput:
    text_logits: Tensor  # (B, T, vocab)
    acoustic: AcousticFrames  # (B, T, F, ...)
    log_f0: Tensor  # (B, T, F) log-F0 of the reply voice (Hz, natural log)
    audio: Tensor  # (B, T · 1920) at 24 kHz
    understanding: Understanding  # (B, T, ...)
    hidden: Tensor  # (B, T, D) core output


@dataclass(frozen=True)
class StepOutput:
    text_token: Tensor  # (B,) long, the text-stream token of this step
    text_logits: Tensor  # (B, vocab)
    audio: Tensor  # (B, 1920) 80 ms at 24 kHz
    understanding: Understanding  # (B, 1, ...)
    hidden: Tensor  # (B, D)


@dataclass
class ModelState(StreamingState):
    prev_token: Tensor  # (B,) long: text token of the previous step (<bos> at the start)
    prev_acoustic: Tensor  # (B, F, d_acoustic): acoustic frames of the previous step
    bos: int
    generator: torch.Generator | None = None

    def reset(self, mask: Tensor) -> None:
        self.prev_token[mask] = self.bos
        self.prev_acoustic[mask] = 0


class S2SModel(StreamingModule[ModelState]):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, D = cfg.core, cfg.core.d_model
        n_emo, n_lang, d_spk = len(EMOTIONS), len(LANGUAGES), cfg.encoder.d_speaker
        self.mel = MelFrontend(cfg.mel)
        self.prosody = ProsodyExtractor(cfg.prosody, cfg.mel.sample_rate, cfg.mel.hop)
        self.pitch = PitchNormalizer(cfg.prosody, n_lang, d_spk)
        self.encoder = AudioEncoder(cfg.encoder, cfg.mel.n_mels, n_emo, D)
        self.core = ReasoningCore(c)
        d_frames = cfg.decoder.frames_per_step * cfg.decoder.d_acoustic
        self.acoustic_in = nn.Linear(d_frames, D) if cfg.decoder.acoustic_feedback else None
        self.mode_embed = nn.Embedding(2, D)  # LISTEN / SPEAK
        self.style = ConditionEmbedding(n_emo, n_lang, d_spk, cfg.decoder.d_cond)
        self.decoder = SpeechDecoder(cfg.decoder, c)
        self.vocoder = FlowVocoder(cfg.vocoder, cfg.decoder.d_acoustic, cfg.decoder.d_cond, cfg.decoder.frames_per_step)
        self.heads = UnderstandingHeads(cfg.heads, D, d_spk)
        self.pad = c.base_vocab_size  # phonemes.SPECIAL_TOKENS[0]
        self.bos = c.base_vocab_size + 1  # phonemes.SPECIAL_TOKENS[1]
        self.apply(_init_weights)
        self.core.apply_finetune_mode()

    # ---- inputs -------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.core.text_embed.weight.device

    def _check_audio(self, audio: Tensor, streaming: bool) -> Tensor:
        if not isinstance(audio, Tensor):
            raise ModelInputError(
                f"audio must be a torch.Tensor, got {type(audio).__name__}", "use torch.from_numpy(samples)[None]"
            )
        if not audio.is_floating_point():
            raise ModelInputError(
                f"audio must be float samples in [-1, 1], got dtype {audio.dtype}",
                "for int16 PCM use audio.float() / 32768",
            )
        if audio.dim() != 2:
            raise ModelInputError(
                f"audio must be (batch, samples), got shape {tuple(audio.shape)}", "add a batch dimension: audio[None]"
            )
        n = audio.shape[1]
        if n == 0:
            raise ModelInputError("audio is empty (0 samples)", "give at least one 80 ms chunk (1280 samples)")
        if streaming and n != CHUNK_SAMPLES:
            raise ModelInputError(
                f"a streaming chunk must be {CHUNK_SAMPLES} samples (80 ms at 16 kHz), got {n}",
                "buffer the input into 80 ms chunks",
            )
        if not streaming and n % CHUNK_SAMPLES:
            raise ModelInputError(
                f"audio length {n} is not a multiple of {CHUNK_SAMPLES} samples (80 ms)",
                "pad with zeros: polyvox.unified.model.pad_to_chunks",
            )
        if not torch.isfinite(audio).all():
            raise ModelInputError("audio contains NaN or infinite samples", "clean or re-export the audio")
        return audio.to(device=self.device, dtype=torch.float32)

    def prosody_features(self, audio: Tensor, language: Tensor) -> Tensor:
        """audio: (B, 1280·T) -> (B, T, 4): normalised log-F0, voicing, energy, rate, pooled per 80 ms."""
        pf = self.prosody(audio)  # (B, 8T) each
        z = self.pitch.normalize(pf.log_f0, pf.voiced, language)
        B = audio.shape[0]

        def per_step(x: Tensor) -> Tensor:
            return x.view(B, -1, MEL_FRAMES_PER_STEP)

        n_voiced = per_step((pf.voiced > 0.5).float()).sum(-1).clamp(min=1.0)
        return torch.stack(
            [
                per_step(z).sum(-1) / n_voiced,
                per_step(pf.voiced).mean(-1),
                (per_step(pf.energy).mean(-1) + 5.0) / 3.0,  # ≈ [-1.3, 1.7]
                per_step(pf.rate).mean(-1),
            ],
            -1,
        )

    def _core_input(
        self, audio: Tensor, prev_token: Tensor, prev_acoustic: Tensor, mode: Tensor | int, cond: Conditioning
    ) -> tuple[Tensor, Tensor]:
        """-> core input (B, T, D), prosody (B, T, 4)."""
        B = audio.shape[0]
        lang = self.style.languages(cond, B)
        prosody = self.prosody_features(audio, lang)
        speech = self.encoder(self.mel(audio), cond)  # (B, T, D)
        mode_t = torch.as_tensor(mode, device=self.device, dtype=torch.long)
        x = speech + self.core.text_embed(prev_token) + self.mode_embed(mode_t).expand_as(speech)
        if self.acoustic_in is not None:
            x = x + self.acoustic_in(prev_acoustic.flatten(2))
        return x, prosody

    def _speak(
        self, h: Tensor, token: Tensor, cond: Conditioning, style: Tensor, noise: Tensor | None, residual: float = 1.0
    ):
        """h: (B, T, D), token: (B, T) -> (AcousticFrames, log-F0 (B, T, F), audio (B, T·1920))."""
        B = h.shape[0]
        ac = self.decoder.acoustic(h, self.core.text_embed(token), style)
        log_f0 = self.pitch.denormalize(ac.f0_z, self.style.languages(cond, B), self.style.speaker_vector(cond, B))
        audio = self.vocoder(ac.frames.flatten(1, 2), log_f0.flatten(1), ac.voiced.flatten(1), style, noise, residual)
        return ac, log_f0, audio

    def fed_text(self, text: Tensor, mode: Tensor | int) -> Tensor:
        """The text tokens fed back as the next step's input: (B, T) or (B,) -> same shape.

        Only what the model SAID goes back in; while listening its transcript is fed as <pad>. Teacher-forced,
        the true transcript went back in training and the model's own (much worse) one at inference, which
        derailed the reply (the same held-out turns were answered far better with the true one forced).
        """
        return torch.where(torch.as_tensor(mode, device=text.device) == SPEAK, text, torch.full_like(text, self.pad))

    # ---- batch --------------------------------------------------------------------------------------
    def forward(
        self,
        audio: Tensor,
        text: Tensor,
        acoustic: Tensor,
        mode: Tensor | int = SPEAK,
        cond: Conditioning | None = None,
        noise: Tensor | None = None,
    ) -> ModelOutput:
        """Teacher-forced pass over a whole sequence.

        audio: (B, 1280·T) float at 16 kHz; text: (B, T) long, the text-stream token of each step;
        acoustic: (B, T, F, d_acoustic), the acoustic frames of each step (fed back one step late, as in
        streaming); mode: LISTEN/SPEAK or (B, T) long; noise: (B, T·F, 240) vocoder start (None = zeros).
        """
        audio = self._check_audio(audio, streaming=False)
        cond = cond or Conditioning()
        B, T = audio.shape[0], audio.shape[1] // CHUNK_SAMPLES
        if text.shape != (B, T):
            raise ModelInputError(f"text must be (batch, steps) = {(B, T)}, got {tuple(text.shape)}")
        text = text.to(self.device)
        prev_token = torch.cat([text.new_full((B, 1), self.bos), self.fed_text(text, mode)[:, :-1]], 1)
        prev_acoustic = torch.cat([torch.zeros_like(acoustic[:, :1]), acoustic[:, :-1]], 1).to(self.device)
        x, prosody = self._core_input(audio, prev_token, prev_acoustic, mode, cond)
        h = self.core(x, prosody)
        style = self.style(cond, B)
        logits = self.decoder.text_logits(h, style)
        ac, log_f0, wave = self._speak(h, text, cond, style, noise)
        return ModelOutput(logits, ac, log_f0, wave, self.heads(h), h)

    # ---- streaming ----------------------------------------------------------------------------------
    def _init_streaming_state(self, batch_size: int) -> ModelState:
        d = self.cfg.decoder
        return ModelState(
            batch_size,
            torch.full((batch_size,), self.bos, dtype=torch.long, device=self.device),
            torch.zeros(batch_size, 1, d.frames_per_step, d.d_acoustic, device=self.device),
            self.bos,
        )

    def step(
        self,
        chunk: Tensor,
        mode: int = SPEAK,
        cond: Conditioning | None = None,
        sampling: SamplingOptions | None = None,
        force_text: Tensor | None = None,
    ) -> StepOutput:
        """One 80 ms step: chunk (B, 1280) float at 16 kHz -> StepOutput (text token, 80 ms of 24 kHz audio).

        force_text: (B,) long imposes the text-stream token (a typed message, or teacher forcing).
        """
        st = self.state
        chunk = self._check_audio(chunk, streaming=True)
        cond, sampling = cond or Conditioning(), sampling or SamplingOptions()
        if st.generator is None:
            st.generator = torch.Generator(self.device)
            st.generator.manual_seed(sampling.seed if sampling.seed is not None else secrets.randbits(63))
        B = chunk.shape[0]
        x, prosody = self._core_input(chunk, st.prev_token[:, None], st.prev_acoustic, mode, cond)
        h = self.core(x, prosody)  # (B, 1, D)
        style = self.style(cond, B)
        logits = self.decoder.text_logits(h, style)[:, 0]  # (B, V)
        if force_text is not None:
            token = force_text.to(device=self.device, dtype=torch.long).view(B)
        else:
            token = sample_token(logits, sampling, st.generator)
        noise = None
        if sampling.vocoder_temperature > 0:
            F_, P = self.cfg.decoder.frames_per_step, self.vocoder.patch
            noise = torch.randn(B, F_, P, generator=st.generator, device=self.device) * sampling.vocoder_temperature
        ac, _, audio = self._speak(h, token[:, None], cond, style, noise, sampling.vocoder_residual)
        fed = token if force_text is not None else self.fed_text(token, mode)
        st.prev_token, st.prev_acoustic = fed, ac.frames
        return StepOutput(token, logits, audio, self.heads(h), h[:, 0])

    # ---- conversation context -----------------------------------------------------------------------
    def context_latents(self, messages: list[list[int]], max_messages: int = 16) -> Tensor:
        """Earlier turns as text tokens, one list per message -> (1, M, D): mean token embedding each."""
        rows = [torch.tensor(m[-512:], dtype=torch.long, device=self.device) for m in messages[-max_messages:] if m]
        if not rows:
            return torch.zeros(1, 0, self.cfg.core.d_model, device=self.device)
        return torch.stack([self.core.text_embed(r).mean(0) for r in rows])[None]


def pad_to_chunks(audio: Tensor) -> Tensor:
    """(B, n) -> (B, ceil(n / 1280) · 1280), zero-padded at the end."""
    n = audio.shape[-1]
    return nn.functional.pad(audio, (0, math.ceil(n / CHUNK_SAMPLES) * CHUNK_SAMPLES - n))


def _init_weights(m: nn.Module) -> None:
    """GPT-2/Llama-style: N(0, 0.02) for linear and embedding weights, zero biases (convs keep PyTorch's)."""
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, std=0.02)

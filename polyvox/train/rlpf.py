"""RLPF: reinforcement learning from prosody feedback (policy optimisation after stage 2).

Per prompt (a user turn), the policy samples G replies and is pushed towards the better ones:

1. Rollout (no grad, streaming `S2SModel.step`): listen to the user (transcript teacher-forced), then
   speak for up to `max_reply_steps` steps, sampling the text stream at `temperature`.
2. Teacher-forced pass (with grad) over the rollout: log-probabilities of the sampled tokens, and the
   normalised F0 contour μ. The prosody action is a Gaussian around it: a = μ + σ·ε (σ = f0_sigma).
3. Render the reply with the vocoder (no grad) at contour a, and score it (each in [0, 1]):
     emotion           the frozen reference model listens to the reply: p(target emotion) of its emotion head
     variation         exp(-|log(std / target)|) for the log-F0 std and the frame-energy std: penalises the
                       flat, over-smoothed prosody regression-trained decoders produce
     intelligibility   1 - CER between the ASR round trip (the reference model's text stream while listening,
                       or faster-whisper with `asr="whisper"`) and the reply's own text stream
   r = Σ w_k · r_k.
4. Group-relative advantage A = (r - mean_group(r)) / (std_group(r) + 1e-4)  (GRPO: no value network).
5. Loss = -mean(A · [Σ_t log π(token_t) + Σ_voiced log N(a | μ, σ²)]) + kl · KL(π ‖ π_ref) on the reply steps.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE
from polyvox.train.config import RlpfConfig
from polyvox.train.data import Batch
from polyvox.train.losses import TrainModule, stream_forward
from polyvox.unified.conditioning import Conditioning
from polyvox.unified.config import CHUNK_SAMPLES, LISTEN, SPEAK
from polyvox.unified.model import S2SModel
from polyvox.unified.sampling import SamplingOptions

TARGET_F0_STD = 0.12  # log-F0 std of expressive read speech (≈ 2 semitones)
TARGET_ENERGY_STD = 1.0  # std of log frame energy within a reply


def cer(ref: str, hyp: str) -> float:
    """Character error rate (Levenshtein / len(ref)), 0 for two empty strings."""
    a, b = ref.lower().strip(), hyp.lower().strip()
    if not a:
        return float(bool(b))
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1] / len(a)


def _repeat(batch: Batch, g: int) -> Batch:
    """Each item g times (B·g items, groups contiguous)."""
    rep = {
        k: (v.repeat_interleave(g, 0) if isinstance(v, Tensor) else [x for x in v for _ in range(g)])
        for k, v in vars(batch).items()
    }
    return Batch(**rep)


@torch.no_grad()
def rollout(model: S2SModel, batch: Batch, cfg: RlpfConfig, seed: int) -> Batch:
    """Sample replies: -> a batch whose SPEAK steps hold the sampled tokens (targets of the policy loss)."""
    n_listen = int((batch.mode == LISTEN).sum(1).max())
    B = batch.text.shape[0]
    listen = Conditioning()
    speak = Conditioning(emotion=batch.reply_emotion, language=batch.reply_language)
    sampling = SamplingOptions(temperature=cfg.temperature, top_k=0, top_p=1.0, vocoder_temperature=0.0, seed=seed)
    tokens = []
    was = model.training
    model.eval()
    with model.streaming(B):
        for t in range(n_listen):
            chunk = batch.audio[:, t * CHUNK_SAMPLES : (t + 1) * CHUNK_SAMPLES]
            model.step(chunk, LISTEN, listen, sampling, force_text=batch.text[:, t])
        silence = torch.zeros(B, CHUNK_SAMPLES, device=model.device)
        for _ in range(cfg.max_reply_steps):
            tokens.append(model.step(silence, SPEAK, speak, sampling).text_token)
    model.train(was)
    T = n_listen + cfg.max_reply_steps
    text = torch.cat([batch.text[:, :n_listen], torch.stack(tokens, 1)], 1)
    mode = torch.tensor([LISTEN] * n_listen + [SPEAK] * cfg.max_reply_steps).expand(B, T)
    pad = torch.zeros(B, cfg.max_reply_steps * CHUNK_SAMPLES)
    return Batch(
        audio=torch.cat([batch.audio[:, : n_listen * CHUNK_SAMPLES], pad], 1),
        wave=batch.wave,
        wave16=batch.wave16,
        text=text,
        mode=mode.clone(),
        mask=torch.ones(B, T, dtype=torch.bool),
        end_of_turn=batch.end_of_turn,
        user_emotion=batch.user_emotion,
        user_language=batch.user_language,
        reply_emotion=batch.reply_emotion,
        reply_language=batch.reply_language,
        history=[[] for _ in range(B)],
    )


class RlpfStep:
    """callable(train_module, batch) -> (loss, metrics); holds the frozen reference model."""

    def __init__(self, reference: S2SModel, cfg: RlpfConfig) -> None:
        self.ref = copy.deepcopy(reference).eval().requires_grad_(False)
        self.cfg = cfg
        self._whisper = None

    def listen(self, audio24: Tensor, target_emotion: Tensor) -> tuple[Tensor, list[list[int]]]:
        """The reference model hears the replies: -> p(target emotion) (B,), greedy transcripts."""
        from polyvox.audio import resample

        B = audio24.shape[0]
        a16 = torch.stack([torch.from_numpy(resample(x.numpy(), OUTPUT_SAMPLE_RATE, SAMPLE_RATE)) for x in audio24])
        n = a16.shape[1] // CHUNK_SAMPLES * CHUNK_SAMPLES
        with torch.no_grad():
            out = self.ref(
                a16[:, :n],
                torch.zeros(B, n // CHUNK_SAMPLES, dtype=torch.long),
                torch.zeros(
                    B, n // CHUNK_SAMPLES, self.ref.cfg.decoder.frames_per_step, self.ref.cfg.decoder.d_acoustic
                ),
                LISTEN,
            )
        p = out.understanding.emotion.softmax(-1).mean(1)  # (B, n_emotions)
        return p.gather(1, target_emotion.clamp(max=p.shape[1] - 1)[:, None])[:, 0], out.text_logits.argmax(-1).tolist()

    def __call__(self, module: TrainModule, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        c, m, v = self.cfg, module.model, module.vocab
        G = c.group_size
        seed = int(torch.randint(0, 2**62, (1,)))  # from the trainer's per-step seed: resumes repeat exactly
        batch = rollout(m, _repeat(batch, G), c, seed)
        B, T = batch.text.shape
        speak = batch.mode == SPEAK
        F_ = m.cfg.decoder.frames_per_step
        zero_ac = torch.zeros(B, T, F_, m.cfg.decoder.d_acoustic)
        with torch.no_grad():  # acoustic feedback of the rollout (the policy's own frames, as when streaming)
            frames_in = stream_forward(m, batch, batch.text, zero_ac, v).acoustic.frames
        out = stream_forward(m, batch, batch.text, frames_in, v)
        logp = out.text_logits.log_softmax(-1)
        tok_logp = (logp.gather(-1, batch.text[..., None])[..., 0] * speak).sum(1)  # (B,)
        mu = out.acoustic.f0_z  # (B, T, F)
        action = mu.detach() + c.f0_sigma * torch.randn_like(mu)
        voiced = (out.acoustic.voiced > 0) & speak[..., None]
        f0_logp = (-((action - mu) ** 2) / (2 * c.f0_sigma**2) * voiced).sum((1, 2))
        with torch.no_grad():
            lang = batch.reply_language
            log_f0 = m.pitch.denormalize(action, lang, m.style.speaker_vector(Conditioning(), B))
            sel = speak.repeat_interleave(F_, 1)[0]
            fr = out.acoustic.frames.flatten(1, 2)[:, sel]
            audio = m.vocoder(fr, log_f0.flatten(1)[:, sel], out.acoustic.voiced.flatten(1)[:, sel], out.style)
            r_emo, heard = self.listen(audio.clamp(-1, 1), batch.reply_emotion)
            lf = log_f0.flatten(1)[:, sel]
            vm = (out.acoustic.voiced.flatten(1)[:, sel] > 0).float()
            f0_std = (
                ((lf - (lf * vm).sum(1, keepdim=True) / vm.sum(1, keepdim=True).clamp(min=1)) ** 2 * vm).sum(1)
                / vm.sum(1).clamp(min=1)
            ).sqrt()
            energy = audio.view(B, -1, 240).pow(2).mean(-1).add(1e-8).log()
            r_var = 0.5 * (
                torch.exp(-(f0_std.clamp(min=1e-3) / TARGET_F0_STD).log().abs())
                + torch.exp(-(energy.std(1).clamp(min=1e-3) / TARGET_ENERGY_STD).log().abs())
            )
            said = [
                v.decode([t for t, s in zip(row, srow, strict=True) if s])
                for row, srow in zip(batch.text.tolist(), speak.tolist(), strict=True)
            ]
            hyp = [self.transcribe(a, h, lang_i) for a, h, lang_i in zip(audio, heard, lang.tolist(), strict=True)]
            r_int = torch.tensor([max(0.0, 1.0 - cer(s, h)) for s, h in zip(said, hyp, strict=True)])
            reward = c.w_emotion * r_emo + c.w_variation * r_var + c.w_intelligibility * r_int
            g = reward.view(-1, G)
            adv = ((g - g.mean(1, keepdim=True)) / (g.std(1, keepdim=True, unbiased=False) + 1e-4)).flatten()
            ref_logp = stream_forward(self.ref, batch, batch.text, frames_in, v).text_logits.log_softmax(-1)
        kl = ((logp.exp() * (logp - ref_logp)).sum(-1) * speak).sum() / speak.sum().clamp(min=1)
        loss = -(adv * (tok_logp + f0_logp)).mean() / T + c.kl * kl
        loss = loss + 0.0 * sum(p.sum() for p in module.parameters() if p.requires_grad)  # DDP: every param used
        return loss, {
            "reward": float(reward.mean()),
            "reward_emotion": float(r_emo.mean()),
            "reward_variation": float(r_var.mean()),
            "reward_intelligibility": float(r_int.mean()),
            "kl": float(kl.detach()),
            "loss_rlpf": float(loss.detach()),
        }

    def transcribe(self, audio24: Tensor, heard: list[int], language: int) -> str:
        if self.cfg.asr == "self":
            return self.ref_vocab_decode(heard)
        from polyvox.audio import resample
        from polyvox.cascade.asr import WhisperASR
        from polyvox.unified.phonemes import LANGUAGES

        self._whisper = self._whisper or WhisperASR()
        a16 = resample(audio24.numpy(), OUTPUT_SAMPLE_RATE, SAMPLE_RATE)
        code = LANGUAGES[language] if language < len(LANGUAGES) else None
        return self._whisper.transcribe(a16, language=code).text

    def ref_vocab_decode(self, tokens: list[int]) -> str:
        from polyvox.unified.text import TextVocab

        return TextVocab().decode(tokens)

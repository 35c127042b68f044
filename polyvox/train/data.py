"""Training examples and batches: corpus turns -> aligned per-step tensors for the dual-stream model.

An example is one stream of 80 ms steps: the user's speech in LISTEN mode (the text stream's target is
the transcript), then the model's reply in SPEAK mode (silence in; targets are the reply text, its
acoustic frames and the 24 kHz wave), then <eot>. Stage 1 (pretraining) uses single utterances:
  asr           LISTEN only: speech -> transcript, emotion, language, end of turn (speech↔text alignment)
  tts           SPEAK only: text -> speech (acoustic reconstruction through the vocoder)
  continuation  the first half LISTEN, the second half SPEAK (speech continuation)
Stage 2 (instruction) uses a user turn and the assistant's reply, with the earlier turns as context.

Text alignment: the corpus has no word timings, so the n text tokens of a segment are spread evenly
over its T steps (token i at step ⌊i·T/n⌋, <pad> elsewhere); text never lags its audio by more than a step.
Which example a step uses depends only on (seed, global step, rank), so a resumed run sees the same data.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, load_audio, resample
from polyvox.errors import PolyvoxError
from polyvox.train.synth import Dialogue, complete_shards, read_shard
from polyvox.unified.config import CHUNK_SAMPLES, LISTEN, OUTPUT_CHUNK_SAMPLES, SPEAK
from polyvox.unified.phonemes import LANGUAGES, emotion_index, language_index
from polyvox.unified.text import TextVocab

STAGE1_KINDS = ("asr", "tts", "continuation")


@dataclass(frozen=True)
class Utterance:
    path: str  # wav file
    text: str
    language: str  # ISO 639-1
    emotion: str | None  # phonemes.EMOTIONS, None = unlabelled


@dataclass(frozen=True)
class Example:
    kind: str  # "asr" | "tts" | "continuation" | "dialogue"
    user: Utterance | None  # heard in LISTEN mode
    reply: Utterance | None  # spoken in SPEAK mode
    history: tuple[str, ...] = ()  # earlier turns' texts (conversation context)
    answer: str = ""  # what a correct reply contains (dialogues)


@dataclass
class Batch:
    audio: Tensor  # (B, T·1280) model input at 16 kHz: user speech, then silence
    wave: Tensor  # (B, T·1920) target output at 24 kHz: zeros while listening, the reply while speaking
    wave16: Tensor  # (B, T·1280) the same target at 16 kHz (for its F0 / voicing targets)
    text: Tensor  # (B, T) long, text-stream targets
    mode: Tensor  # (B, T) long, LISTEN / SPEAK
    mask: Tensor  # (B, T) bool, real (not padding) steps
    end_of_turn: Tensor  # (B, T) float, 1 at the user's last step
    user_emotion: Tensor  # (B,) long, -1 = unlabelled
    user_language: Tensor  # (B,) long
    reply_emotion: Tensor  # (B,) long (n_emotions = unknown)
    reply_language: Tensor  # (B,) long
    history: list[list[str]]  # per item, earlier turns' texts


def dialogue_examples(dialogues: list[tuple[Path, Dialogue]]) -> tuple[list[Example], list[Example]]:
    """-> (stage-1 utterances as "asr" placeholders, stage-2 dialogue examples)."""
    utts, dias = [], []
    for folder, d in dialogues:
        for i, t in enumerate(d.turns):
            u = Utterance(str(folder / t.audio), t.text, t.language, t.emotion)
            utts.append(Example("asr", u, None))
            if t.role == "assistant" and i and d.turns[i - 1].role == "user":
                p = d.turns[i - 1]
                user = Utterance(str(folder / p.audio), p.text, p.language, p.emotion)
                dias.append(Example("dialogue", user, u, tuple(x.text for x in d.turns[: i - 1]), t.answer))
    return utts, dias


def load_corpus(roots: list[str | Path]) -> tuple[list[Example], list[Example]]:
    """Corpus folders -> (stage-1 examples, stage-2 examples). Synthetic corpora give both; real corpora
    (wav+txt folder, LibriSpeech, Common Voice, saved `datasets`: see corpora.py) give stage-1 utterances."""
    from polyvox.train.corpora import detect_format, load_utterances

    utts: list[Example] = []
    dialogues = []
    for r in roots:
        if detect_format(r) == "synth":
            dialogues += [(s, d) for s in complete_shards(r) for d in read_shard(s)]
        else:
            utts += [Example("asr", u, None) for u in load_utterances(r)]
    s1, s2 = dialogue_examples(dialogues)
    if not s2:
        raise PolyvoxError("no dialogues for stage 2 among the corpora", "add a corpus from: polyvox data synth")
    return s1 + utts, s2


def example_at(examples: list[Example], position: int, seed: int, stage1: bool) -> Example:
    """The example at a global position of the data stream: a fresh permutation per epoch."""
    n = len(examples)
    epoch, i = divmod(position, n)
    ex = examples[_permutation(n, seed, epoch)[i]]
    if stage1:
        kind = random.Random(f"{seed}:{position}").choice(STAGE1_KINDS)
        u = ex.user
        return Example(kind, u if kind != "tts" else None, u if kind != "asr" else None)
    return ex


@cache
def _permutation(n: int, seed: int, epoch: int) -> tuple[int, ...]:
    order = list(range(n))
    random.Random(f"perm:{seed}:{epoch}").shuffle(order)
    return tuple(order)


@cache
def _audio(path: str, rate: int) -> np.ndarray:
    return load_audio(path, rate, max_seconds=120.0).samples


def spread(tokens: list[int], steps: int, pad: int) -> list[int]:
    """Spread `tokens` evenly over `steps` (token i at step ⌊i·steps/n⌋); needs len(tokens) <= steps."""
    out = [pad] * steps
    for i, t in enumerate(tokens):
        out[i * steps // max(len(tokens), 1)] = t
    return out


def _crop(text: str, seconds: float, max_seconds: float) -> str:
    """Keep the share of the text that fits the cropped audio (no word timings: proportional)."""
    return text if seconds <= max_seconds else text[: max(1, int(len(text) * max_seconds / seconds))]


def build_item(ex: Example, vocab: TextVocab, max_seconds: float) -> dict:
    """One example -> per-step arrays (numpy / lists), not yet padded to the batch."""
    listen_in, speak16, speak24, text, mode = [], [], [], [], []
    user_text = ex.user.text if ex.user else ""
    if ex.kind == "continuation":  # split one utterance: first half heard, second half spoken
        a16 = _audio(ex.user.path, SAMPLE_RATE)[: int(2 * max_seconds * SAMPLE_RATE)]
        half = (len(a16) // 2) // CHUNK_SAMPLES * CHUNK_SAMPLES
        cut = len(user_text) * half // max(len(a16), 1)
        user_audio, user_text = a16[:half], ex.user.text[:cut]
        reply16, reply_text = a16[half:], ex.user.text[cut:]
        reply24 = resample(reply16, SAMPLE_RATE, OUTPUT_SAMPLE_RATE)
    else:
        user_audio = reply16 = reply24 = None
        reply_text = ex.reply.text if ex.reply else ""
        if ex.user:
            full = _audio(ex.user.path, SAMPLE_RATE)
            user_text = _crop(user_text, len(full) / SAMPLE_RATE, max_seconds)
            user_audio = full[: int(max_seconds * SAMPLE_RATE)]
        if ex.reply:
            full = _audio(ex.reply.path, OUTPUT_SAMPLE_RATE)
            reply_text = _crop(reply_text, len(full) / OUTPUT_SAMPLE_RATE, max_seconds)
            reply24 = full[: int(max_seconds * OUTPUT_SAMPLE_RATE)]
            reply16 = resample(reply24, OUTPUT_SAMPLE_RATE, SAMPLE_RATE)
    if user_audio is not None:
        toks = vocab.encode(user_text)
        steps = max(math.ceil(len(user_audio) / CHUNK_SAMPLES), len(toks), 1)
        listen_in.append(np.pad(user_audio, (0, steps * CHUNK_SAMPLES - len(user_audio))))
        speak16.append(np.zeros(steps * CHUNK_SAMPLES, np.float32))
        speak24.append(np.zeros(steps * OUTPUT_CHUNK_SAMPLES, np.float32))
        text += spread(toks, steps, vocab.pad)
        mode += [LISTEN] * steps
    n_listen = len(mode)
    if reply24 is not None:
        toks = vocab.encode(reply_text)
        audio_steps = math.ceil(len(reply24) / OUTPUT_CHUNK_SAMPLES)
        steps = max(audio_steps, len(toks)) + 1  # + the <eot> step
        listen_in.append(np.zeros(steps * CHUNK_SAMPLES, np.float32))
        speak16.append(np.pad(reply16, (0, steps * CHUNK_SAMPLES - len(reply16))))
        speak24.append(np.pad(reply24, (0, steps * OUTPUT_CHUNK_SAMPLES - len(reply24))))
        text += [*spread(toks, steps - 1, vocab.pad), vocab.eot]
        mode += [SPEAK] * steps
    speak_lang = ex.reply.language if ex.reply else (ex.user.language if ex.user else None)
    return {
        "audio": np.concatenate(listen_in),
        "wave": np.concatenate(speak24),
        "wave16": np.concatenate(speak16),
        "text": text,
        "mode": mode,
        "n_listen": n_listen,
        "history": list(ex.history),
        "user_emotion": emotion_index(ex.user.emotion) if ex.user and ex.user.emotion else -1,
        "user_language": language_index(ex.user.language) if ex.user else -1,
        "reply_emotion": emotion_index(ex.reply.emotion) if ex.reply and ex.reply.emotion else None,
        "reply_language": language_index(speak_lang) if speak_lang else None,
    }


def collate(items: list[dict], vocab: TextVocab, n_emotions: int) -> Batch:
    """Pad items to the longest (steps) and stack."""
    B, T = len(items), max(len(it["text"]) for it in items)

    def pad(x: np.ndarray, per_step: int) -> Tensor:
        return torch.from_numpy(np.pad(x, (0, T * per_step - len(x))).astype(np.float32))

    text = torch.full((B, T), vocab.pad, dtype=torch.long)
    mode = torch.full((B, T), LISTEN, dtype=torch.long)
    mask = torch.zeros(B, T, dtype=torch.bool)
    eot = torch.zeros(B, T)
    for b, it in enumerate(items):
        n = len(it["text"])
        text[b, :n], mode[b, :n], mask[b, :n] = torch.tensor(it["text"]), torch.tensor(it["mode"]), True
        if it["n_listen"]:
            eot[b, it["n_listen"] - 1] = 1.0

    def idx(key: str, unknown: int) -> Tensor:
        return torch.tensor([unknown if it[key] is None else it[key] for it in items], dtype=torch.long)

    return Batch(
        audio=torch.stack([pad(it["audio"], CHUNK_SAMPLES) for it in items]),
        wave=torch.stack([pad(it["wave"], OUTPUT_CHUNK_SAMPLES) for it in items]),
        wave16=torch.stack([pad(it["wave16"], CHUNK_SAMPLES) for it in items]),
        text=text,
        mode=mode,
        mask=mask,
        end_of_turn=eot,
        user_emotion=idx("user_emotion", -1),
        user_language=idx("user_language", -1),
        reply_emotion=idx("reply_emotion", n_emotions),
        reply_language=idx("reply_language", len(LANGUAGES)),
        history=[it["history"] for it in items],
    )

"""UnifiedEngine: the end-to-end model behind polyvox's Engine interface.

One turn = one stream: the user's audio is fed in 80 ms chunks in LISTEN mode (the text stream transcribes,
the heads detect emotion, language and speaker), then the model gets the floor (SPEAK mode, silence in)
and streams its reply text and 80 ms audio chunks until it emits <eot>, the reply limit, or a cancel.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from polyvox.affect.style import EMPATHY
from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, resample
from polyvox.engine import CancelToken, Engine, Turn
from polyvox.errors import AudioInputError, PolyvoxError
from polyvox.events import AudioChunk, Event, TextDelta, Timings, TurnDone, TurnResult, UserTranscript
from polyvox.unified.conditioning import Conditioning
from polyvox.unified.config import CHUNK_SAMPLES, LISTEN, SPEAK, STEP_RATE_HZ
from polyvox.unified.model import S2SModel, pad_to_chunks
from polyvox.unified.phonemes import EMOTIONS, LANGUAGES, emotion_index, language_index
from polyvox.unified.sampling import SamplingOptions
from polyvox.unified.text import TextVocab

UNTRAINED_WARNING = (
    "untrained unified model: random weights, so the transcript and reply are gibberish and the audio is "
    "noise; pass --checkpoint PATH with trained weights"
)


@dataclass(frozen=True)
class UnifiedOptions:
    sampling: SamplingOptions = field(default_factory=SamplingOptions)  # text / vocoder sampling
    max_listen_extra: float = 1.0  # silent LISTEN steps after the audio at most, as a share of its steps
    max_reply_seconds: float = 15.0  # hard cap on the reply, on top of Turn.max_reply_tokens (1 token = 80 ms)
    # emotion of the reply voice; None = empathetic, from the emotion heard (polyvox.affect.style.EMPATHY: a sad,
    # angry or afraid user gets a warm "trust" voice, joy is shared), as the training dialogues do
    reply_emotion: str | None = None
    # torch CPU threads. 1 by default: one 80 ms step multiplies small matrices, so a second thread gains little,
    # and on a busy 2-core machine OpenMP's spinning makes 2 threads ~10x slower (benchmarks/unified_streaming.py).
    num_threads: int = 1


class UnifiedEngine(Engine):
    name = "unified"
    output_sample_rate = OUTPUT_SAMPLE_RATE

    def __init__(
        self,
        model: S2SModel,
        vocab: TextVocab | None = None,
        options: UnifiedOptions | None = None,
        trained: bool = True,
        voices: dict[str, list[float]] | None = None,
    ) -> None:
        self.model = model.eval()
        self.vocab = vocab or TextVocab()
        self.options = options or UnifiedOptions()
        self.trained = trained
        self.voices = dict(voices or {})
        if self.vocab.size != model.cfg.core.vocab_size:
            raise PolyvoxError(
                f"text vocabulary has {self.vocab.size} tokens, the model {model.cfg.core.vocab_size}",
                "use the tokenizer the model was trained with",
            )
        if not trained:
            print(f"warning: {UNTRAINED_WARNING}", file=sys.stderr)

    def warmup(self) -> None:
        with torch.inference_mode(), self.model.streaming(1):
            self.model.step(torch.zeros(1, CHUNK_SAMPLES, device=self.model.device), SPEAK)

    def _speaker(self, voice: str | None) -> torch.Tensor | None:
        if voice is None:
            return None
        if voice not in self.voices:
            known = ", ".join(self.voices) or "none (this checkpoint has only its default voice)"
            raise PolyvoxError(f"unknown voice {voice!r} for the unified engine", f"voices: {known}")
        return torch.tensor(self.voices[voice], dtype=torch.float32, device=self.model.device)[None]

    def _input_audio(self, turn: Turn) -> torch.Tensor | None:
        if turn.audio is None:
            return None
        x = np.asarray(turn.audio)
        if x.ndim != 1 or x.size == 0:
            raise AudioInputError(f"turn audio must be a non-empty 1-D array, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise AudioInputError(
                f"turn audio must be float samples in [-1, 1], got {x.dtype}", "convert int16 PCM with x / 32768"
            )
        if not np.all(np.isfinite(x)):
            raise AudioInputError("turn audio contains NaN or infinite samples", "clean or re-export the audio")
        x = resample(x.astype(np.float32), turn.sample_rate, SAMPLE_RATE)
        return pad_to_chunks(torch.from_numpy(np.clip(x, -1, 1))[None]).to(self.model.device)

    def stream(self, turn: Turn, cancel: CancelToken | None = None) -> Iterator[Event]:
        t0 = time.perf_counter()

        def ms() -> float:
            return (time.perf_counter() - t0) * 1000.0

        model, vocab, opts = self.model, self.vocab, self.options
        if turn.audio is None and not turn.text:
            raise AudioInputError("the turn has neither audio nor text", "record something or type a message")
        audio = self._input_audio(turn)
        torch.set_num_threads(max(1, min(opts.num_threads, os.cpu_count() or 1)))
        timings, trace = Timings(), {"steps_listen": 0, "steps_speak": 0}
        if not self.trained:
            trace["warning"] = UNTRAINED_WARNING
        pinned = language_index(turn.language)
        silence = torch.zeros(1, CHUNK_SAMPLES, device=model.device)
        reply_text, n_samples, cancelled = [], 0, False
        with torch.inference_mode(), model.streaming(1):
            ctx = model.context_latents([vocab.encode(m.content) for m in turn.history])
            lang_t = None if pinned is None else torch.tensor([pinned], device=model.device)
            cond = Conditioning(language=lang_t, context=ctx)
            # ---- listen: the text stream transcribes, the heads accumulate -----------------------------
            heard, emo_p, lang_p = vocab.stream_decoder(), torch.zeros(len(EMOTIONS)), torch.zeros(len(LANGUAGES))
            transcript: list[str] = []
            forced = [] if audio is not None else vocab.encode(turn.text or "")
            n_listen = audio.shape[1] // CHUNK_SAMPLES if audio is not None else len(forced)
            # after the audio, silence in LISTEN mode until the end-of-turn head says the floor is free: the
            # model's listening (its transcript runs at 12.5 bytes/s, slower than speech) ends when it has
            # taken the turn in, as in training, where a turn's LISTEN steps are max(audio, transcript bytes)
            extra = 0 if forced else int(n_listen * opts.max_listen_extra)
            for i in range(n_listen + extra):
                if cancel is not None and cancel.cancelled:
                    cancelled = True
                    break
                chunk = (
                    audio[:, i * CHUNK_SAMPLES : (i + 1) * CHUNK_SAMPLES]
                    if i < n_listen and audio is not None
                    else silence
                )
                force = torch.tensor([forced[i]]) if forced else None
                out = model.step(chunk, LISTEN, cond, opts.sampling, force_text=force)
                transcript.append(heard.push(int(out.text_token)))
                if i < n_listen:  # the heads judge the speech, not the silence after it
                    emo_p += out.understanding.emotion[0, -1].softmax(-1).cpu()
                    lang_p += out.understanding.language[0, -1].softmax(-1).cpu()
                trace["steps_listen"] = i + 1
                if i + 1 >= n_listen and float(torch.sigmoid(out.understanding.end_of_turn[0, -1])) > 0.5:
                    break
            user_text = turn.text if forced else "".join(transcript).strip()
            lang_i = pinned if pinned is not None else int(lang_p.argmax())
            lang_prob = 1.0 if pinned is not None else float(lang_p.max() / max(n_listen, 1))
            user_emotion = EMOTIONS[int(emo_p.argmax())]
            trace.update(user_emotion=user_emotion, detected_language=LANGUAGES[int(lang_p.argmax())])
            timings.vad_ms = timings.asr_ms = ms()
            yield UserTranscript(user_text or "", LANGUAGES[lang_i], lang_prob)
            # ---- speak: reply text and audio, 80 ms per step --------------------------------------------
            reply_emotion = opts.reply_emotion or EMPATHY.get(user_emotion, "neutral")
            cond = Conditioning(
                speaker=self._speaker(turn.voice),
                emotion=torch.tensor([emotion_index(reply_emotion)], device=model.device),
                language=torch.tensor([lang_i], device=model.device),
                context=ctx,
            )
            said = vocab.stream_decoder()
            max_steps = (
                0 if cancelled else max(1, min(turn.max_reply_tokens, int(opts.max_reply_seconds * STEP_RATE_HZ)))
            )
            for i in range(max_steps):
                if cancel is not None and cancel.cancelled:
                    cancelled = True
                    break
                out = model.step(silence, SPEAK, cond, opts.sampling)
                token = int(out.text_token)
                if i == 0:
                    timings.llm_first_token_ms = ms()
                trace["steps_speak"] = i + 1
                if token == vocab.eot:
                    break
                piece = said.push(token)
                if piece:
                    reply_text.append(piece)
                    yield TextDelta(piece)
                samples = out.audio[0].clamp(-1.0, 1.0).float().cpu().numpy()
                if n_samples == 0:
                    timings.tts_first_audio_ms = ms()
                n_samples += len(samples)
                yield AudioChunk(samples, OUTPUT_SAMPLE_RATE, piece)
        timings.total_ms = ms()
        trace.update(reply_emotion=reply_emotion, model=model.cfg.name)
        yield TurnDone(
            TurnResult(
                user_transcript=user_text or "",
                language=LANGUAGES[lang_i],
                reply_text="".join(reply_text),
                timings=timings,
                audio_seconds=n_samples / OUTPUT_SAMPLE_RATE,
                cancelled=cancelled,
                engine=self.name,
                trace=trace,
            )
        )

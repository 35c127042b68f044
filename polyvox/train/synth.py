"""`polyvox data synth`: build a spoken dialogue corpus offline, sharded, deterministic, resumable.

Layout of DIR:

    manifest.json                     config + statistics (hours per language / emotion / speaker / task)
    shard-00000/dialogues.jsonl       one dialogue per line (see `Dialogue` fields below)
    shard-00000/d00000-0.wav ...      one wav per turn: user turns at 16 kHz, assistant turns at 24 kHz

Shard k depends only on (seed, k, config): its random generator is seeded by the string "seed:k", so a
rerun or a resumed run writes byte-identical shards. A shard is built in a temporary folder and renamed
when complete, so a killed run leaves no half shard; rerunning skips the complete ones and continues
until the corpus holds `hours` of audio.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.audio import OUTPUT_SAMPLE_RATE, SAMPLE_RATE, resample, save_audio
from polyvox.cascade.tts.base import Prosody
from polyvox.errors import PolyvoxError
from polyvox.train import tasks, voices


@dataclass(frozen=True)
class SynthConfig:
    out: str  # corpus folder
    hours: float = 0.1  # total audio (user + assistant) to reach
    languages: tuple[str, ...] = ("en", "es", "fr", "de")  # subset of tasks.LANGUAGES
    seed: int = 0
    split: str = "train"  # voice pool: "train" | "heldout" (voices, speakers and offsets never trained on)
    dialogues_per_shard: int = 8
    kokoro_share: float = 0.2  # share of user turns voiced by Kokoro (where it speaks the language)
    teacher: str = "template"  # "template" | "llm" (the cascade's LLM writes the replies: distillation)
    multi_turn_share: float = 0.3  # dialogues with two exchanges (the second sees the first as history)
    multi_speaker_share: float = 0.3  # of those, a different user speaks the second request
    # Text bytes per second the assistant's voice may carry at most. The model's text stream emits one token
    # (a UTF-8 byte) per 80 ms step, 12.5 per second; espeak-ng speaks ~16 bytes/s, so a reply rendered at
    # its natural rate would end before its own text. Faster replies are re-rendered slower to this rate,
    # keeping text and audio on the same steps (the even spread of data.spread is then a sane alignment).
    assistant_max_rate: float = 11.5


@dataclass
class Turn:
    role: str  # "user" | "assistant"
    text: str
    language: str  # ISO 639-1
    emotion: str  # phonemes.EMOTIONS
    speaker: str  # Speaker.id
    audio: str  # wav file name inside the shard folder
    seconds: float
    task: str = ""
    answer: str = ""  # assistant turns: the string a correct reply contains
    tool_call: dict[str, Any] | None = None


@dataclass
class Dialogue:
    id: str
    turns: list[Turn] = field(default_factory=list)


def _check(cfg: SynthConfig) -> None:
    bad = [x for x in cfg.languages if x not in tasks.LANGUAGES]
    if bad:
        raise PolyvoxError(f"no dialogue templates for {bad}", f"choose from: {', '.join(tasks.LANGUAGES)}")
    if cfg.split not in voices.ESPEAK_VARIANTS:
        raise PolyvoxError(f"unknown voice split {cfg.split!r}", "use train or heldout")
    if cfg.teacher not in ("template", "llm"):
        raise PolyvoxError(f"unknown teacher {cfg.teacher!r}", "use template or llm")


def _make_teacher(name: str) -> tasks.Teacher:
    return tasks.LlmTeacher() if name == "llm" else tasks.TemplateTeacher()


def build_shard(cfg: SynthConfig, k: int, teacher: tasks.Teacher) -> Path:
    """Write shard k (atomically) and return its folder."""
    rng = random.Random(f"{cfg.seed}:{k}:{cfg.split}")
    final = Path(cfg.out) / f"shard-{k:05d}"
    tmp = Path(cfg.out) / f".tmp-shard-{k:05d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    lines = []
    for i in range(cfg.dialogues_per_shard):
        d = Dialogue(f"{k:05d}-{i:03d}")
        lang = rng.choice(cfg.languages)
        user = voices.sample_speaker(rng, lang, cfg.split, cfg.kokoro_share)
        n_ex = 2 if rng.random() < cfg.multi_turn_share else 1
        history: list[dict[str, str]] = []
        for j in range(n_ex):
            if j and rng.random() < cfg.multi_speaker_share:
                user = voices.sample_speaker(rng, lang, cfg.split, cfg.kokoro_share)
            ex = tasks.make_exchange(rng, lang)
            reply = teacher.reply(ex, history)
            for role, text, emo, spk in (
                ("user", ex.user_text, ex.user_emotion, user),
                ("assistant", reply, ex.reply_emotion, voices.assistant_speaker()),
            ):
                prosody = voices.prosody_for(spk, emo, rng)
                wave = voices.render(text, lang, spk, prosody)
                if role == "assistant":
                    wave = _fit_rate(wave, text, lang, spk, prosody, cfg.assistant_max_rate)
                sr = SAMPLE_RATE if role == "user" else OUTPUT_SAMPLE_RATE
                if role == "user":
                    wave = resample(wave, OUTPUT_SAMPLE_RATE, SAMPLE_RATE)
                name = f"d{d.id}-{len(d.turns)}.wav"
                save_audio(tmp / name, wave, sr)
                d.turns.append(
                    Turn(
                        role,
                        text,
                        lang,
                        emo,
                        spk.id,
                        name,
                        round(len(wave) / sr, 3),
                        ex.task,
                        ex.answer if role == "assistant" else "",
                        ex.tool_call if role == "assistant" else None,
                    )
                )
            history += [{"role": "user", "content": ex.user_text}, {"role": "assistant", "content": reply}]
        lines.append(json.dumps(asdict(d), ensure_ascii=False))
    (tmp / "dialogues.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def _fit_rate(
    wave: np.ndarray, text: str, lang: str, spk: voices.Speaker, prosody: Prosody, max_rate: float
) -> np.ndarray:
    """wave: (n,) 24 kHz -> the same text re-rendered slower when it carries more than max_rate bytes/s."""
    need = len(text.encode("utf-8")) / max_rate  # seconds the text needs at max_rate
    for _ in range(3):  # duration is ~1/speed (pauses don't scale): converges in one or two renders
        have = len(wave) / OUTPUT_SAMPLE_RATE
        if have >= need:
            break
        prosody = replace(prosody, speed=prosody.speed * have / need * 0.97)
        wave = voices.render(text, lang, spk, prosody)
    return wave


def read_shard(folder: Path) -> list[Dialogue]:
    out = []
    for line in (folder / "dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        out.append(Dialogue(raw["id"], [Turn(**t) for t in raw["turns"]]))
    return out


def complete_shards(root: str | Path) -> list[Path]:
    return sorted(p for p in Path(root).glob("shard-*") if (p / "dialogues.jsonl").is_file())


def corpus_stats(root: str | Path) -> dict[str, Any]:
    """Hours per language / emotion / speaker / task / role over the complete shards."""
    keys = ("language", "emotion", "speaker", "task", "role")
    hours: dict[str, Counter[str]] = {k: Counter() for k in keys}
    n_dialogues = n_turns = 0
    total = 0.0
    for shard in complete_shards(root):
        for d in read_shard(shard):
            n_dialogues += 1
            for t in d.turns:
                n_turns += 1
                total += t.seconds / 3600
                for k in keys:
                    hours[k][str(getattr(t, k))] += t.seconds / 3600
    rounded = {f"hours_per_{k}": {a: round(b, 4) for a, b in sorted(v.items())} for k, v in hours.items()}
    return {
        "hours": round(total, 4),
        "dialogues": n_dialogues,
        "turns": n_turns,
        "shards": len(complete_shards(root)),
        **rounded,
    }


def synthesize_corpus(cfg: SynthConfig, progress: bool = True) -> dict[str, Any]:
    """Build (or finish) the corpus in cfg.out until it holds cfg.hours; returns the manifest."""
    _check(cfg)
    root = Path(cfg.out)
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / "manifest.json"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())["config"]
        mine = {k: v for k, v in asdict(cfg).items() if k not in ("out", "hours")}
        theirs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in old.items() if k not in ("out", "hours")}
        if mine != theirs:
            raise PolyvoxError(
                f"{root} holds a corpus built with other settings: {theirs}",
                "use a new --out folder, or the same settings to resume",
            )
    teacher: tasks.Teacher | None = None
    from tqdm import tqdm

    bar = tqdm(total=round(cfg.hours * 3600), unit="s", desc="synth", disable=not progress)
    k, done_s = 0, 0.0
    while done_s < cfg.hours * 3600:
        shard = root / f"shard-{k:05d}"
        if not (shard / "dialogues.jsonl").is_file():
            teacher = teacher or _make_teacher(cfg.teacher)
            build_shard(cfg, k, teacher)
        secs = sum(t.seconds for d in read_shard(shard) for t in d.turns)
        done_s += secs
        bar.update(round(min(secs, cfg.hours * 3600 - done_s + secs)))
        k += 1
    bar.close()
    manifest = {"config": asdict(cfg), "stats": corpus_stats(root), "format": 1}
    if teacher is not None and isinstance(teacher, tasks.LlmTeacher):
        manifest["teacher"] = {"accepted": teacher.accepted, "fallback_to_template": teacher.rejected}
    tmp = root / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    tmp.replace(manifest_path)
    return manifest

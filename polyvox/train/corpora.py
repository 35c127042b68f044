"""Real speech corpora on disk -> utterances for stage 1 (speech↔text alignment, continuation, TTS).

Formats (`fmt="auto"` detects them):
  synth        a `polyvox data synth` folder (shard-*/dialogues.jsonl)
  folder       wav/flac files with a same-named .txt transcript beside each (`a.wav` + `a.txt`)
  librispeech  LibriSpeech layout: SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt + SPEAKER-CHAPTER-NNNN.flac
  commonvoice  a Common Voice language folder: validated.tsv (or train.tsv) + clips/*.mp3 (needs an mp3
               decoder in soundfile/libsndfile ≥ 1.1)
  hf           a Hugging Face `datasets` dataset saved with save_to_disk (columns audio + text|sentence|
               transcription); its audio is written once to wavs in DIR/.polyvox_wav (needs `datasets`)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from polyvox.errors import PolyvoxError, require
from polyvox.train.data import Utterance

AUDIO_EXT = (".wav", ".flac", ".mp3", ".ogg")
TEXT_COLUMNS = ("text", "sentence", "transcription", "transcript", "normalized_text")


def detect_format(path: str | Path) -> str:
    p = Path(path)
    if any(p.glob("shard-*/dialogues.jsonl")):
        return "synth"
    if (p / "dataset_info.json").exists() or (p / "state.json").exists() or (p / "dataset_dict.json").exists():
        return "hf"
    if (p / "validated.tsv").exists() or (p / "train.tsv").exists():
        return "commonvoice"
    if next(p.rglob("*.trans.txt"), None) is not None:
        return "librispeech"
    if any(f.suffix in AUDIO_EXT and f.with_suffix(".txt").exists() for f in p.rglob("*")):
        return "folder"
    raise PolyvoxError(
        f"cannot tell the corpus format of {p}",
        "expected a synth corpus, wav+txt pairs, LibriSpeech, Common Voice or a saved `datasets` one",
    )


def load_utterances(path: str | Path, fmt: str = "auto", language: str = "en") -> list[Utterance]:
    """All transcribed utterances under `path` (language: for formats that do not say it)."""
    p = Path(path)
    if not p.is_dir():
        raise PolyvoxError(f"corpus folder not found: {p}")
    fmt = detect_format(p) if fmt == "auto" else fmt
    loaders = {"folder": _folder, "librispeech": _librispeech, "commonvoice": _commonvoice, "hf": _hf, "synth": _synth}
    if fmt not in loaders:
        raise PolyvoxError(f"unknown corpus format {fmt!r}", f"choose one of: auto, {', '.join(loaders)}")
    utts = loaders[fmt](p, language)
    if not utts:
        raise PolyvoxError(f"no transcribed audio found in {p} (format {fmt})")
    return utts


def _folder(p: Path, language: str) -> list[Utterance]:
    return [
        Utterance(str(f), f.with_suffix(".txt").read_text(encoding="utf-8").strip(), language, None)
        for f in sorted(p.rglob("*"))
        if f.suffix in AUDIO_EXT and f.with_suffix(".txt").exists()
    ]


def _librispeech(p: Path, language: str) -> list[Utterance]:
    out = []
    for trans in sorted(p.rglob("*.trans.txt")):
        for line in trans.read_text(encoding="utf-8").splitlines():
            uid, _, text = line.partition(" ")
            audio = trans.parent / f"{uid}.flac"
            if audio.exists() and text:
                out.append(Utterance(str(audio), text.strip().capitalize(), language, None))
    return out


def _commonvoice(p: Path, language: str) -> list[Utterance]:
    tsv = p / "validated.tsv" if (p / "validated.tsv").exists() else p / "train.tsv"
    out = []
    with open(tsv, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            audio = p / "clips" / row["path"]
            if audio.exists() and row.get("sentence"):
                out.append(Utterance(str(audio), row["sentence"], (row.get("locale") or language).split("-")[0], None))
    return out


def _hf(p: Path, language: str) -> list[Utterance]:
    datasets = require("datasets", "loading a saved Hugging Face dataset", "train")
    from polyvox.audio import save_audio

    ds: Any = datasets.load_from_disk(str(p))
    if isinstance(ds, datasets.DatasetDict):
        ds = ds["train"] if "train" in ds else next(iter(ds.values()))
    col = next((c for c in TEXT_COLUMNS if c in ds.column_names), None)
    if col is None or "audio" not in ds.column_names:
        raise PolyvoxError(f"{p}: need an audio column and one of {TEXT_COLUMNS}", f"columns: {ds.column_names}")
    cache = p / ".polyvox_wav"
    out = []
    for i, row in enumerate(ds):
        wav = cache / f"{i:08d}.wav"
        if not wav.exists():
            save_audio(wav, row["audio"]["array"], row["audio"]["sampling_rate"])
        lang = row.get("language") or row.get("locale") or language
        out.append(Utterance(str(wav), row[col], str(lang).split("-")[0], row.get("emotion")))
    return out


def _synth(p: Path, language: str) -> list[Utterance]:
    from polyvox.train.synth import complete_shards, read_shard

    return [
        Utterance(str(s / t.audio), t.text, t.language, t.emotion)
        for s in complete_shards(p)
        for d in read_shard(s)
        for t in d.turns
    ]


def corpus_summary(path: str | Path, fmt: str = "auto") -> dict[str, Any]:
    """Utterance count and hours (from file headers) per language."""
    import soundfile as sf

    utts = load_utterances(path, fmt)
    hours: dict[str, float] = {}
    for u in utts:
        try:
            info = sf.info(u.path)
            secs = info.frames / info.samplerate
        except Exception:
            secs = 0.0
        hours[u.language] = hours.get(u.language, 0.0) + secs / 3600
    return {
        "format": detect_format(path) if fmt == "auto" else fmt,
        "utterances": len(utts),
        "hours_per_language": {k: round(v, 4) for k, v in sorted(hours.items())},
    }

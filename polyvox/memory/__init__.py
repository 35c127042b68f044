"""Experiential memory: what polyvox learns about each user, kept in SQLite across sessions.

    store = MemoryStore(embedder=load_embedder())          # $POLYVOX_HOME/memory.sqlite3
    store.learn("anna", "Hi, I'm from Spain and my name is Anna.", session_id="s1", turn=0)
    store.log_turn("anna", "s1", "user", "My dog is called Rex.")
    store.context_text("anna")   # 'Known about the user: name Anna; is from Spain.'
    store.retrieve("anna", "What's my pet's name?")   # [Memory(kind="turn", text="My dog is called Rex.", …)]

Facts come from rules (and optionally an LLM); retrieval ranks facts and earlier turns by meaning.
"""

from polyvox.memory.embed import EmbedderConfig, TextEmbedder, load_embedder
from polyvox.memory.extract import Extractor, extract_facts, llm_extractor
from polyvox.memory.facts import Fact
from polyvox.memory.retrieve import Memory, RetrievalOptions, memory_text
from polyvox.memory.store import LoggedTurn, MemoryStore, MemoryStoreError, default_memory_path

__all__ = [
    "EmbedderConfig",
    "Extractor",
    "Fact",
    "LoggedTurn",
    "Memory",
    "MemoryStore",
    "MemoryStoreError",
    "RetrievalOptions",
    "TextEmbedder",
    "default_memory_path",
    "extract_facts",
    "llm_extractor",
    "load_embedder",
    "memory_text",
]

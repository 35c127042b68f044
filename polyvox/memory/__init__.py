"""Experiential memory: what polyvox learns about each user, kept in SQLite across sessions.

    store = MemoryStore()                                   # $POLYVOX_HOME/memory.sqlite3
    store.learn("anna", "Hi, I'm from Spain and my name is Anna.", session_id="s1", turn=0)
    store.context_text("anna")   # 'Known about the user: name Anna; is from Spain.'
"""

from polyvox.memory.extract import Extractor, extract_facts, llm_extractor
from polyvox.memory.facts import Fact
from polyvox.memory.store import LoggedTurn, MemoryStore, MemoryStoreError, default_memory_path

__all__ = [
    "Extractor",
    "Fact",
    "LoggedTurn",
    "MemoryStore",
    "MemoryStoreError",
    "default_memory_path",
    "extract_facts",
    "llm_extractor",
]

"""State stores behind one interface; `open_store(url)` picks the backend by URL scheme."""

from __future__ import annotations

import importlib

from ..errors import StoreError
from .base import StateView, Store
from .memory import MemoryStore

__all__ = ["StateView", "Store", "open_store"]


def open_store(url: str, journal_limit: int = 1000) -> Store:
    """memory://, sqlite:///relative.db, sqlite:////absolute.db or redis://host:port/db."""
    if url.startswith("memory:"):
        return MemoryStore(url, journal_limit)
    if url.startswith("sqlite://"):
        from .sqlite import SqliteStore

        return SqliteStore(url, journal_limit)
    if url.startswith(("redis://", "rediss://")):
        try:
            backend = importlib.import_module(".redis", __name__)
        except ImportError as exc:
            raise StoreError(
                f"redis:// state needs the redis extra: pip install 'dub-mock[redis]' ({exc})"
            ) from exc
        store: Store = backend.RedisStore(url, journal_limit)
        return store
    raise StoreError(
        f"unknown state URL {url!r}: use memory://, sqlite:///file.db or redis://host:port/db"
    )

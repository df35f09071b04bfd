"""Rendered answers of read routes, kept until the next write to the store.

Portals and scripts poll the same listings over and over. The store counts
its committed writes; an answer rendered at one count is served again only
while the count has not moved, so a cached answer is never older than the
data it shows. The count is taken before the read, so an answer whose read
raced a write is already stale when it is stored.
"""

from __future__ import annotations

from collections import OrderedDict

from broker.store import Database

CacheKey = tuple[str, str]


class ReadCache:
    """A small LRU of rendered answers, each tagged with the store's write count."""

    def __init__(self, db: Database, size: int = 512) -> None:
        self._db = db
        self._size = size
        self._entries: OrderedDict[CacheKey, tuple[int, bytes]] = OrderedDict()

    def generation(self) -> int:
        """The store's write count, to take before reading."""
        return self._db.generation

    def get(self, key: CacheKey) -> bytes | None:
        """The answer rendered for this key, if no write came since."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != self._db.generation:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: CacheKey, generation: int, body: bytes) -> None:
        """Keep an answer rendered from a read taken at ``generation``."""
        if generation != self._db.generation:
            return
        self._entries[key] = (generation, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

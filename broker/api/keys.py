"""Idempotency keys: how long they are kept, and their periodic purge."""

from __future__ import annotations

import asyncio
import logging
import time

from broker.errors import StoreError
from broker.store import Store

log = logging.getLogger(__name__)

KEEP_S = 24 * 3600.0
PURGE_EVERY_S = 3600.0


class KeyPurger:
    """Forgets idempotency keys once they are older than a day."""

    def __init__(self, store: Store, keep_s: float = KEEP_S) -> None:
        self.store = store
        self.keep_s = keep_s

    async def purge(self, now: float | None = None) -> int:
        """Delete every key older than ``keep_s``; how many went."""
        now = time.time() if now is None else now
        purged = await self.store.purge_keys(now - self.keep_s)
        if purged:
            log.info("idempotency keys purged count=%d", purged)
        return purged

    async def run(self) -> None:
        """Purge now and then every hour, until cancelled."""
        while True:
            try:
                await self.purge()
            except StoreError:
                log.exception("purging idempotency keys failed")
            await asyncio.sleep(PURGE_EVERY_S)

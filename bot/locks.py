"""The one keyed-lock registry: an :class:`asyncio.Lock` per key, forgotten when unused.

Every state store serialises a conversation's turns with it (the Redis store adds a
cross-process queue on top, so that one worker's coroutines wait here in arrival order
instead of all polling Redis), and the update dispatcher drains each chat with it.
Dropping idle locks keeps memory flat however many keys a long-running worker sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    """``async with locks.hold(key):`` — one holder per key, waiters served in arrival order."""

    def __init__(self) -> None:
        # key -> (lock, number of holders + waiters)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of ``key`` for the duration of the ``async with`` block."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

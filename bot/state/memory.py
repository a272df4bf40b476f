"""An in-process store: the terminal chat and the tests use it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.state.base import ConversationState, KeyedLocks, StateStore

_SWEEP_SIZE = 1024
"""Expired tokens are swept once this many (or twice the live ones) are kept."""


class MemoryStore(StateStore):
    """Keeps everything in dictionaries; lost when the process ends."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._locks = KeyedLocks()
        self._expiring: dict[str, tuple[float, str]] = {}
        self._next_sweep = _SWEEP_SIZE

    async def get(self, key: str) -> ConversationState | None:
        raw = self._states.get(key)
        return ConversationState.model_validate_json(raw) if raw is not None else None

    async def put(self, key: str, state: ConversationState) -> None:
        # Serialised like the persistent stores, so tests catch state that does not round-trip.
        self._states[key] = state.model_dump_json()

    async def delete(self, key: str) -> None:
        self._states.pop(key, None)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        async with self._locks.hold(key):
            yield

    def _live(self, token: str) -> str | None:
        entry = self._expiring.get(token)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at < time.monotonic():
            del self._expiring[token]
            return None
        return value

    def _keep(self, token: str, value: str, ttl_seconds: float) -> None:
        now = time.monotonic()
        if len(self._expiring) >= self._next_sweep:  # bounded memory for long-running processes
            self._expiring = {t: entry for t, entry in self._expiring.items() if entry[0] >= now}
            self._next_sweep = max(_SWEEP_SIZE, 2 * len(self._expiring))
        self._expiring[token] = (now + ttl_seconds, value)

    async def claim(self, token: str, ttl_seconds: float) -> bool:
        if self._live(f"claim:{token}") is not None:
            return False
        self._keep(f"claim:{token}", "1", ttl_seconds)
        return True

    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        self._keep(f"value:{token}", value, ttl_seconds)

    async def recall(self, token: str) -> str | None:
        return self._live(f"value:{token}")

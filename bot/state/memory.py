"""The in-process backend: the terminal chat and the tests use it; nothing survives the process."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from bot.locks import KeyedLocks
from bot.state.base import ConversationState
from bot.state.buckets import Bucket, refill_seconds, take_token
from bot.state.interfaces import (
    Admission,
    Inbox,
    InboxEntry,
    InboxLimits,
    Pushed,
    StateStore,
    TokenStore,
)

_SWEEP_SIZE = 1024
"""Expired tokens are swept once this many (or twice the live ones) are kept."""


class ExpiringMap:
    """``name → value`` with an expiry each, swept as it grows so memory stays bounded."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, object]] = {}
        self._next_sweep = _SWEEP_SIZE

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> object | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[name]
            return None
        return entry[1]

    def put(self, name: str, value: object, ttl_seconds: float) -> None:
        now = time.monotonic()
        if len(self._entries) >= self._next_sweep:
            self._entries = {k: entry for k, entry in self._entries.items() if entry[0] >= now}
            self._next_sweep = max(_SWEEP_SIZE, 2 * len(self._entries))
        self._entries[name] = (now + ttl_seconds, value)

    def pop(self, name: str) -> None:
        self._entries.pop(name, None)


class MemoryTokens(TokenStore):
    """Claims, values and buckets in dictionaries."""

    def __init__(self) -> None:
        self.claims = ExpiringMap()
        self.values = ExpiringMap()
        self.buckets = ExpiringMap()

    async def claim(self, token: str, ttl_seconds: float) -> bool:
        if self.claims.get(token) is not None:
            return False
        self.claims.put(token, True, ttl_seconds)
        return True

    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        self.values.put(token, value, ttl_seconds)

    async def remember_many(self, values: Mapping[str, str | None], ttl_seconds: float) -> None:
        for token, value in values.items():
            if value is None:
                self.values.pop(token)
            else:
                self.values.put(token, value, ttl_seconds)

    async def recall(self, token: str) -> str | None:
        value = self.values.get(token)
        return value if isinstance(value, str) else None

    async def forget(self, token: str) -> None:
        self.values.pop(token)

    async def first_value(self, token: str, value: str, ttl_seconds: float) -> str:
        kept = await self.recall(token)
        if kept is not None:
            return kept
        self.values.put(token, value, ttl_seconds)
        return value

    async def take(self, bucket: str, capacity: int, per_seconds: float) -> Admission:
        previous = self.buckets.get(bucket)
        decision, state = take_token(
            previous if isinstance(previous, Bucket) else None, time.monotonic(), capacity, per_seconds
        )
        self.buckets.put(bucket, state, refill_seconds(state, capacity, per_seconds))
        return decision


@dataclass
class _Chat:
    queue: deque[InboxEntry] = field(default_factory=deque)
    owner: str | None = None
    visible_at: float = 0.0


class MemoryInbox(Inbox):
    """Per-chat deques; leases are (owner, expiry) pairs."""

    def __init__(self, claims: ExpiringMap) -> None:
        self._claims = claims
        self._chats: dict[str, _Chat] = {}
        self._size = 0

    async def push(self, chat: str, entry: InboxEntry, limits: InboxLimits) -> Pushed:
        if self._claims.get(entry.id) is not None:
            return Pushed.DUPLICATE
        if self._size >= limits.capacity:
            return Pushed.FULL
        self._claims.put(entry.id, True, limits.dedup_seconds)
        if entry.collapse is not None:
            if self._claims.get(entry.collapse) is not None:
                return Pushed.COLLAPSED
            self._claims.put(entry.collapse, True, limits.collapse_seconds)
        state = self._chats.setdefault(chat, _Chat())
        if len(state.queue) >= limits.per_chat:
            return Pushed.CHAT_FULL
        state.queue.append(entry)
        self._size += 1
        return Pushed.ACCEPTED

    def _held(self, chat: str, owner: str) -> _Chat | None:
        state = self._chats.get(chat)
        if state is None or state.owner != owner or state.visible_at < time.monotonic():
            return None
        return state

    async def take(self, chat: str, owner: str, lease_seconds: float) -> InboxEntry | None:
        state = self._chats.get(chat)
        now = time.monotonic()
        if state is None or (state.owner != owner and state.visible_at > now):
            return None
        if not state.queue:
            del self._chats[chat]
            return None
        state.owner, state.visible_at = owner, now + lease_seconds
        return state.queue[0]

    async def save(self, chat: str, owner: str, entry_id: str, progress: str) -> bool:
        state = self._held(chat, owner)
        if state is None or not state.queue or state.queue[0].id != entry_id:
            return False
        state.queue[0] = replace(state.queue[0], progress=progress)
        return True

    async def done(self, chat: str, owner: str, entry_id: str, lease_seconds: float) -> InboxEntry | None:
        state = self._held(chat, owner)
        if state is None:
            return None
        if state.queue and state.queue[0].id == entry_id:
            finished = state.queue.popleft()
            self._size -= 1
            if finished.collapse is not None:
                self._claims.pop(finished.collapse)
        if not state.queue:
            del self._chats[chat]
            return None
        state.visible_at = time.monotonic() + lease_seconds
        return state.queue[0]

    async def extend(self, chat: str, owner: str, lease_seconds: float) -> bool:
        state = self._held(chat, owner)
        if state is not None:
            state.visible_at = time.monotonic() + lease_seconds
        return state is not None

    async def release(self, chat: str, owner: str, delay_seconds: float = 0.0) -> None:
        state = self._chats.get(chat)
        if state is not None and state.owner == owner:
            state.owner, state.visible_at = None, time.monotonic() + delay_seconds

    async def ready(self, limit: int) -> list[str]:
        now = time.monotonic()
        return [chat for chat, state in self._chats.items() if state.queue and state.visible_at <= now][:limit]

    async def backlog(self) -> int:
        return self._size


class MemoryStore(StateStore):
    """Everything in dictionaries; lost when the process ends."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._locks = KeyedLocks()
        self.tokens = MemoryTokens()
        self.inbox = MemoryInbox(self.tokens.claims)

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

    async def check(self) -> None:
        """Always available."""

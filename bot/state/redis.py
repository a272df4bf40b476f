"""The multi-worker backend: several webhook processes share state, locks, tokens and the inbox.

Key layout: :class:`bot.state.keys.RedisKeys`.

A turn costs two round trips: the conversation lock is a first-come-first-served queue per
conversation (a Lua script joins it and, when this worker is at the head, returns the
stored state with the same call), and the state the turn writes is sent with the release
(one more script, which writes only while this worker still holds the lock). Across
workers, turns of one conversation therefore run in the order they reached Redis; within
a worker they queue on an in-process lock first, so only one of them polls Redis.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.locks import KeyedLocks
from bot.state import redis_scripts as lua
from bot.state.base import ConversationState
from bot.state.interfaces import StateStore, StoreUnavailable
from bot.state.keys import RedisKeys
from bot.state.redis_tables import RedisInbox, RedisTokens, ms, text

log = logging.getLogger(__name__)

POLL_FIRST_SECONDS = 0.005
"""A worker waiting for another worker's turn polls Redis, backing off up to ``lock_poll_seconds``."""


class LockLost(RuntimeError):
    """A turn outlived its conversation lock (``lock_timeout_seconds``); its state was not saved."""


@dataclass
class _Session:
    """The lock held by one turn: its token, the state read with it, the write to make with the release."""

    token: str
    state: str | None
    write: tuple[str, str] | None = None  # ("put", json) or ("del", "")


_NO_SESSIONS: Mapping[tuple[int, str], _Session] = MappingProxyType({})
_sessions: ContextVar[Mapping[tuple[int, str], _Session]] = ContextVar("faqbot_redis_sessions", default=_NO_SESSIONS)


class RedisStore(StateStore):
    """Conversation state in Redis, safe to share between processes and machines."""

    def __init__(
        self,
        client: Redis,
        *,
        key_prefix: str = "faqbot:",
        idle_ttl_seconds: float = 1800.0,
        lock_timeout_seconds: float = 30.0,
        lock_wait_seconds: float = 10.0,
        lock_poll_seconds: float = 0.05,
        check_timeout_seconds: float = 2.0,
    ) -> None:
        """Wrap a connected ``client`` (the store closes it in :meth:`close`).

        ``idle_ttl_seconds``: a state not written for that long expires by itself.
        ``lock_timeout_seconds``: a lock whose holder died frees itself after this; a turn
        taking longer loses its lock and its write (:class:`LockLost`).
        ``lock_wait_seconds``: how long :meth:`lock` waits before raising ``TimeoutError``.
        ``lock_poll_seconds``: the longest pause between two polls of a waiting worker.
        ``check_timeout_seconds``: how long :meth:`check` waits for Redis.
        """
        self.redis = client
        self.keys = RedisKeys(key_prefix)
        self.key_prefix = key_prefix
        self.idle_ttl_seconds = idle_ttl_seconds
        self.lock_timeout_seconds = lock_timeout_seconds
        self.lock_wait_seconds = lock_wait_seconds
        self.lock_poll_seconds = lock_poll_seconds
        self.check_timeout_seconds = check_timeout_seconds
        self.tokens = RedisTokens(client, self.keys)
        self.inbox = RedisInbox(client, self.keys)
        self._local = KeyedLocks()
        self._acquire = client.register_script(lua.LOCK_ACQUIRE)
        self._release = client.register_script(lua.LOCK_RELEASE)
        self._abandon = client.register_script(lua.LOCK_ABANDON)

    def _session(self, key: str) -> _Session | None:
        return _sessions.get().get((id(self), key))

    async def get(self, key: str) -> ConversationState | None:
        session = self._session(key)
        if session is None:
            raw = text(await self.redis.get(self.keys.state(key)))
        elif session.write is not None:
            raw = session.write[1] or None
        else:
            raw = session.state
        return ConversationState.model_validate_json(raw) if raw else None

    async def put(self, key: str, state: ConversationState) -> None:
        session = self._session(key)
        if session is not None:  # sent with the lock's release: one round trip for both
            session.write = ("put", state.model_dump_json())
            return
        await self.redis.set(self.keys.state(key), state.model_dump_json(), px=ms(self.idle_ttl_seconds))

    async def delete(self, key: str) -> None:
        session = self._session(key)
        if session is not None:
            session.write = ("del", "")
            return
        await self.redis.delete(self.keys.state(key))

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold the conversation's lock across all workers (see the module docstring).

        ``get``, ``put`` and ``delete`` of ``key`` inside the block use the state read with
        the lock and send the write with its release; the write raises :class:`LockLost`
        instead of overwriting a later turn's state if the lock expired meanwhile.
        """
        async with self._local.hold(key):
            session = await self._join(key)
            reset = _sessions.set({**_sessions.get(), (id(self), key): session})
            try:
                yield
            except BaseException:
                _sessions.reset(reset)
                await self._leave(key, session, ("keep", ""), quietly=True)
                raise
            _sessions.reset(reset)
            await self._leave(key, session, session.write or ("keep", ""))

    async def _join(self, key: str) -> _Session:
        token = secrets.token_hex(8)
        keys = [self.keys.lock_queue(key), self.keys.state(key)]
        lease, queue_ttl = ms(self.lock_timeout_seconds), ms(self.lock_timeout_seconds + self.lock_wait_seconds)
        deadline = time.monotonic() + self.lock_wait_seconds
        pause, join = POLL_FIRST_SECONDS, 1
        while True:
            result = await self._acquire(keys=keys, args=[token, lease, join, self.keys.lease.prefix, queue_ttl])
            if result[0] == 1:
                return _Session(token, result[1] if len(result) > 1 else None)
            if time.monotonic() >= deadline:
                await self._abandon(keys=keys[:1], args=[token, self.keys.lease.prefix])
                # The key is left out: it identifies a user.
                raise TimeoutError(f"conversation lock still held by another worker after {self.lock_wait_seconds:g} s")
            await asyncio.sleep(pause)
            pause, join = min(pause * 1.5, self.lock_poll_seconds), 0

    async def _leave(self, key: str, session: _Session, write: tuple[str, str], *, quietly: bool = False) -> None:
        args: list[Any] = [session.token, write[0], write[1], ms(self.idle_ttl_seconds), self.keys.lease.prefix]
        try:
            held = await self._release(keys=[self.keys.lock_queue(key), self.keys.state(key)], args=args)
        except RedisError as exc:
            if not quietly:
                raise
            log.warning("lock_release_failed error=%s (the lock expires by itself)", type(exc).__name__)
            return
        if not held and not quietly:
            raise LockLost(
                f"a turn took longer than the conversation lock ({self.lock_timeout_seconds:g} s); its state was not saved"
            )

    async def check(self) -> None:
        """PING, then a write (a full or read-only Redis fails on the write)."""
        try:
            await asyncio.wait_for(self._ping_and_write(), self.check_timeout_seconds)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            reason = "no answer" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
            raise StoreUnavailable(f"redis: {reason}") from None

    async def _ping_and_write(self) -> None:
        await self.redis.ping()
        await self.redis.set(self.keys.health, str(math.floor(time.time())), px=60_000)

    async def close(self) -> None:
        await self.redis.aclose()

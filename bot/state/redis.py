"""The multi-worker store: several webhook processes share state, locks and de-duplication.

Keys (``<prefix>`` defaults to ``faqbot:``, so one Redis can serve several deployments):

* ``<prefix>state:<key>``  the state as JSON, expiring after the idle timeout;
* ``<prefix>lock:<key>``   the cross-process conversation lock (expires if its holder dies);
* ``<prefix>claim:<token>`` set with ``SET NX PX``: the first worker to set it wins;
* ``<prefix>value:<token>`` remembered replies.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

from bot.state.base import ConversationState, KeyedLocks, StateStore

log = logging.getLogger(__name__)


def _ms(seconds: float) -> int:
    """Redis expiry in whole milliseconds, never 0 (which Redis rejects)."""
    return max(1, math.ceil(seconds * 1000))


def _text(raw: str | bytes | None) -> str | None:
    # Works whether or not the client was created with decode_responses=True.
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


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
        lock_poll_seconds: float = 0.02,
    ) -> None:
        """Wrap a connected ``client`` (the store closes it in :meth:`close`).

        ``idle_ttl_seconds``: a state not written for that long expires by itself.
        ``lock_timeout_seconds``: a lock whose holder crashed frees itself after this;
        it must exceed the longest turn, or two workers could handle one conversation.
        ``lock_wait_seconds``: how long :meth:`lock` waits before raising ``TimeoutError``
        (better an error than a webhook request hanging until the platform retries).
        ``lock_poll_seconds``: how often a waiting worker retries; redis-py's locks poll.
        """
        self.redis = client
        self.key_prefix = key_prefix
        self.idle_ttl_seconds = idle_ttl_seconds
        self.lock_timeout_seconds = lock_timeout_seconds
        self.lock_wait_seconds = lock_wait_seconds
        self.lock_poll_seconds = lock_poll_seconds
        self._local = KeyedLocks()

    def _key(self, kind: str, name: str) -> str:
        return f"{self.key_prefix}{kind}:{name}"

    async def get(self, key: str) -> ConversationState | None:
        raw = await self.redis.get(self._key("state", key))
        return ConversationState.model_validate_json(raw) if raw is not None else None

    async def put(self, key: str, state: ConversationState) -> None:
        await self.redis.set(self._key("state", key), state.model_dump_json(), px=_ms(self.idle_ttl_seconds))

    async def delete(self, key: str) -> None:
        await self.redis.delete(self._key("state", key))

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold the conversation lock across all workers.

        Coroutines of this process first queue on a local lock, so only one of them
        polls Redis at a time and they are served in arrival order.
        """
        async with self._local.hold(key):
            lock = Lock(
                self.redis,
                self._key("lock", key),
                timeout=self.lock_timeout_seconds,
                sleep=self.lock_poll_seconds,
                blocking_timeout=self.lock_wait_seconds,
                thread_local=False,  # one Lock object per acquisition; tokens need no thread scoping
            )
            if not await lock.acquire():
                # The key is left out: it identifies a user.
                raise TimeoutError(f"conversation lock still held by another worker after {self.lock_wait_seconds:g} s")
            try:
                yield
            finally:
                try:
                    await lock.release()
                except LockNotOwnedError:
                    log.warning(
                        "a conversation lock expired before its turn finished; raise lock_timeout_seconds (%g s)",
                        self.lock_timeout_seconds,
                    )
                except RedisError as exc:
                    # Not raised: it would hide the turn's own outcome; the lock expires anyway.
                    log.warning("could not release a conversation lock (%s); it will expire", type(exc).__name__)

    async def claim(self, token: str, ttl_seconds: float) -> bool:
        return bool(await self.redis.set(self._key("claim", token), "1", nx=True, px=_ms(ttl_seconds)))

    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        await self.redis.set(self._key("value", token), value, px=_ms(ttl_seconds))

    async def recall(self, token: str) -> str | None:
        return _text(await self.redis.get(self._key("value", token)))

    async def close(self) -> None:
        await self.redis.aclose()

"""The Redis backend's tokens, token buckets and update inbox (one round trip per operation)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from bot.state import redis_scripts as lua
from bot.state.interfaces import Admission, Inbox, InboxEntry, InboxLimits, Pushed, TokenStore
from bot.state.keys import RedisKeys

_ADMISSIONS = {1: Admission.ALLOWED, 2: Admission.REFUSED_NOTIFY, 0: Admission.REFUSED}


def text(raw: str | bytes | None) -> str | None:
    """The client decodes responses; a bytes value would mean it was built without that."""
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def ms(seconds: float) -> int:
    """Redis expiry in whole milliseconds, never 0 (which Redis rejects)."""
    return max(1, math.ceil(seconds * 1000))


class RedisTokens(TokenStore):
    """``<prefix>claim:…``, ``<prefix>value:…`` and ``<prefix>bucket:…`` keys."""

    def __init__(self, client: Redis, keys: RedisKeys) -> None:
        self.redis = client
        self.keys = keys
        self._first_value = client.register_script(lua.FIRST_VALUE)
        self._take = client.register_script(lua.TAKE_TOKEN)

    async def claim(self, token: str, ttl_seconds: float) -> bool:
        return bool(await self.redis.set(self.keys.claim(token), "1", nx=True, px=ms(ttl_seconds)))

    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        await self.redis.set(self.keys.value(token), value, px=ms(ttl_seconds))

    async def remember_many(self, values: Mapping[str, str | None], ttl_seconds: float) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for token, value in values.items():
                if value is None:
                    pipe.delete(self.keys.value(token))
                else:
                    pipe.set(self.keys.value(token), value, px=ms(ttl_seconds))
            await pipe.execute()

    async def recall(self, token: str) -> str | None:
        return text(await self.redis.get(self.keys.value(token)))

    async def forget(self, token: str) -> None:
        await self.redis.delete(self.keys.value(token))

    async def first_value(self, token: str, value: str, ttl_seconds: float) -> str:
        return str(await self._first_value(keys=[self.keys.value(token)], args=[value, ms(ttl_seconds)]))

    async def take(self, bucket: str, capacity: int, per_seconds: float) -> Admission:
        rate = capacity / (per_seconds * 1000)
        result = await self._take(keys=[self.keys.bucket(bucket)], args=[capacity, repr(rate)])
        return _ADMISSIONS[int(result)]


def _entry(raw: str | bytes | None) -> InboxEntry | None:
    if not raw:
        return None
    data: dict[str, Any] = json.loads(raw)
    return InboxEntry(data["id"], data["payload"], data.get("progress"), data.get("collapse"))


def _raw(entry: InboxEntry) -> str:
    data = {"id": entry.id, "payload": entry.payload, "progress": entry.progress, "collapse": entry.collapse}
    return json.dumps(data)


class RedisInbox(Inbox):
    """A list per chat, a sorted set of chats by when they may be taken, a lease key per
    chat and a size counter; every operation is one script (:mod:`bot.state.redis_scripts`)."""

    def __init__(self, client: Redis, keys: RedisKeys) -> None:
        self.redis = client
        self.keys = keys
        self._push = client.register_script(lua.INBOX_PUSH)
        self._take = client.register_script(lua.INBOX_TAKE)
        self._save = client.register_script(lua.INBOX_SAVE)
        self._done = client.register_script(lua.INBOX_DONE)
        self._extend = client.register_script(lua.INBOX_EXTEND)
        self._release = client.register_script(lua.INBOX_RELEASE)
        self._ready = client.register_script(lua.INBOX_READY)

    async def push(self, chat: str, entry: InboxEntry, limits: InboxLimits) -> Pushed:
        claim = self.keys.claim(entry.id)
        collapse = self.keys.claim(entry.collapse) if entry.collapse else claim
        keys = [self.keys.inbox_queue(chat), self.keys.inbox_ready, self.keys.inbox_size, claim, collapse]
        args: list[str | int] = [
            _raw(entry),
            ms(limits.dedup_seconds),
            limits.capacity,
            limits.per_chat,
            chat,
            ms(limits.collapse_seconds),
            1 if entry.collapse else 0,
        ]
        return Pushed(await self._push(keys=keys, args=args))

    def _chat_keys(self, chat: str) -> list[str]:
        return [self.keys.inbox_queue(chat), self.keys.inbox_ready, self.keys.inbox_lease(chat)]

    async def take(self, chat: str, owner: str, lease_seconds: float) -> InboxEntry | None:
        return _entry(await self._take(keys=self._chat_keys(chat), args=[owner, ms(lease_seconds), chat]))

    async def save(self, chat: str, owner: str, entry_id: str, progress: str) -> bool:
        queue, _, lease = self._chat_keys(chat)
        return bool(await self._save(keys=[queue, lease], args=[owner, entry_id, progress]))

    async def done(self, chat: str, owner: str, entry_id: str, lease_seconds: float) -> InboxEntry | None:
        keys = [*self._chat_keys(chat), self.keys.inbox_size]
        args: list[str | int] = [owner, entry_id, ms(lease_seconds), chat, self.keys.claim.prefix]
        return _entry(await self._done(keys=keys, args=args))

    async def extend(self, chat: str, owner: str, lease_seconds: float) -> bool:
        keys = [self.keys.inbox_ready, self.keys.inbox_lease(chat)]
        return bool(await self._extend(keys=keys, args=[owner, ms(lease_seconds), chat]))

    async def release(self, chat: str, owner: str, delay_seconds: float = 0.0) -> None:
        await self._release(keys=self._chat_keys(chat), args=[owner, max(0, round(delay_seconds * 1000)), chat])

    async def ready(self, limit: int) -> list[str]:
        return [str(chat) for chat in await self._ready(keys=[self.keys.inbox_ready], args=[limit])]

    async def backlog(self) -> int:
        return int(await self.redis.get(self.keys.inbox_size) or 0)

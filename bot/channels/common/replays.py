"""De-duplicated replies, for platforms that re-send a message until they get an answer.

The first delivery of a message claims it and runs the turn; its reply is remembered, and
every re-delivery (in any worker) gets that same reply instead of a second turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from bot.state import TokenStore, keys


class ReplyReplay:
    """Claims, remembered replies and waiting for them, over a :class:`TokenStore`."""

    def __init__(self, tokens: TokenStore, ttl_seconds: float, poll_seconds: float = 0.05) -> None:
        self.tokens = tokens
        self.ttl_seconds = ttl_seconds
        self.poll_seconds = poll_seconds

    async def first(self, message: str) -> bool:
        """True for the first delivery of ``message`` (a token from :mod:`bot.state.keys`)."""
        return await self.tokens.claim(message, self.ttl_seconds)

    async def keep(self, message: str, reply: str, also: Mapping[str, str | None] | None = None) -> None:
        """Remember ``reply`` for the re-deliveries of ``message`` — with ``also``, more
        values of the same turn, in the same round trip."""
        await self.tokens.remember_many({keys.reply_of(message): reply, **(also or {})}, self.ttl_seconds)

    async def original(self, message: str, wait_seconds: float) -> str | None:
        """The reply the first delivery produced, once it is there; ``None`` when it does not
        appear within ``wait_seconds`` (the first delivery may run in another worker, so
        this polls the store)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            reply = await self.tokens.recall(keys.reply_of(message))
            if reply is not None or time.monotonic() >= deadline:
                return reply
            await asyncio.sleep(self.poll_seconds)

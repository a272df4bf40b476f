"""De-duplicated replies, for platforms that re-send a message until they get an answer.

The first delivery of a message claims it and runs the turn; its reply is remembered, and
every re-delivery (in any worker) gets that same reply instead of a second turn. The
platforms wait a few seconds for a reply: a turn that takes longer is not cancelled (that
could leave a conversation half-updated) but goes on, and keeps its reply for later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from bot.logs import event
from bot.state import TokenStore, keys

log = logging.getLogger(__name__)


class ReplyReplay:
    """Claims, remembered replies and waiting for them, over a :class:`TokenStore`."""

    def __init__(self, tokens: TokenStore, ttl_seconds: float, poll_seconds: float = 0.05) -> None:
        self.tokens = tokens
        self.ttl_seconds = ttl_seconds
        self.poll_seconds = poll_seconds
        self._late: set[asyncio.Future[Any]] = set()  # turns that outlived their deadline

    def keep_running(self, task: asyncio.Future[Any]) -> None:
        """Hold on to ``task`` until it is done (the event loop keeps only weak references);
        its failure is logged (its class only)."""
        self._late.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._late.discard(task)
        if not task.cancelled() and task.exception() is not None:  # e.g. a Rejected that came too late
            event(log, logging.WARNING, "late_task_failed", error=type(task.exception()).__name__)

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

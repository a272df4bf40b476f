"""Running the engine for a channel: CPU-heavy messages one at a time, metrics, notices.

Matching runs on the event loop and its cost grows with the message (a 2,000-character
Chinese message costs tens of milliseconds). Long messages therefore go through a lane
of their own, one at a time per process, each after a short pause that lets requests
which arrived meanwhile go first: however many long messages arrive together, an
ordinary question waits for at most one of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from bot import metrics
from bot.dialogue import Engine
from bot.logs import event
from bot.messages import Command, Language, Locale, Reply, Turn

log = logging.getLogger(__name__)

HEAVY_CHARS = 200
"""Messages longer than this take the one-at-a-time lane."""
_LANE_PAUSE_SECONDS = 0.002
LOCALE_SECONDS = 0.5
"""How long a notice waits for the conversation's language (a hung store must not delay it)."""


class CpuLane:
    """One long message at a time (see the module docstring)."""

    def __init__(self, heavy_chars: int = HEAVY_CHARS) -> None:
        self.heavy_chars = heavy_chars
        self._gate = asyncio.Semaphore(1)

    @asynccontextmanager
    async def slot(self, text: str | None) -> AsyncIterator[None]:
        if text is None or len(text) <= self.heavy_chars:
            yield
            return
        async with self._gate:
            await asyncio.sleep(_LANE_PAUSE_SECONDS)
            yield


class Turns:
    """The engine as one channel uses it: every call timed, counted and laned."""

    def __init__(self, engine: Engine, channel: str, lane: CpuLane | None = None) -> None:
        self.engine = engine
        self.channel = channel
        self.lane = lane or CpuLane()

    async def handle(self, key: str, message: str | Command, *, hint: Language | None = None) -> Turn:
        """:meth:`Engine.handle`, laned by the message's length."""
        async with self.lane.slot(message if isinstance(message, str) else None):
            started = time.perf_counter()
            turn = await self.engine.handle(key, message, hint=hint, channel=self.channel)
        metrics.observe_turn(self.channel, turn, time.perf_counter() - started)
        return turn

    async def choose(self, key: str, prompt_id: str, index: int) -> Turn | None:
        """:meth:`Engine.choose`; ``None`` for a question no longer pending."""
        started = time.perf_counter()
        turn = await self.engine.choose(key, prompt_id, index)
        if turn is not None:
            metrics.observe_turn(self.channel, turn, time.perf_counter() - started)
        return turn

    async def feedback(self, key: str, feedback: str, vote: Literal["up", "down"]) -> bool:
        """:meth:`Engine.feedback`: whether the vote counted (only the asker's does)."""
        return await self.engine.feedback(key, feedback, vote, channel=self.channel)

    async def classify(self, text: str) -> dict[str, object]:
        """:meth:`Engine.classify` (no conversation state), laned like a turn."""
        async with self.lane.slot(text):
            return self.engine.classify(text)

    async def notice(self, name: str, key: str, hint: Language | None = None) -> tuple[str, Locale]:
        """The fixed notice ``name`` in the language and script of conversation ``key``
        (``hint``'s, or Simplified Chinese, when the store does not answer promptly)."""
        try:
            locale = await asyncio.wait_for(self.engine.locale(key, hint), LOCALE_SECONDS)  # never raises
        except asyncio.TimeoutError:
            locale = Locale(hint or "zh")
        metrics.NOTICES.labels(self.channel, name).inc()
        return self.engine.notice(name, locale), locale

    async def notice_turn(self, name: str, key: str, hint: Language | None = None) -> Turn:
        """:meth:`notice` as a turn of one reply, for channels that render notices like answers."""
        text, locale = await self.notice(name, key, hint)
        return Turn(None, locale.language, (Reply(text),), script=locale.script)

    def failed(self, error: BaseException, **fields: object) -> None:
        """Count and log a turn that failed (the error class only, no message text)."""
        metrics.ERRORS.labels(self.channel, "turn_failed").inc()
        event(log, logging.ERROR, f"{self.channel}.turn_failed", error=type(error).__name__, **fields)
        log.debug("%s.turn_failed details", self.channel, exc_info=error)

"""What the tests share besides the fixtures (``conftest.py``): the one engine double, an
in-loop uvicorn, and the understanding tests' constants and small helpers.

:class:`RecordingEngine` wraps a real :class:`~bot.dialogue.Engine` (so answers come from
the knowledge base, not from the test) and records every call; options slow it down, make
it fail, or replace its replies, to drive a channel through cases the real engine does not
produce on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp

from bot.dialogue import Engine
from bot.knowledge import KnowledgeBase
from bot.messages import Command, Language, Locale, Reply, Turn
from bot.understanding.compiled import Compiled
from bot.understanding.dates import Implausible, Received, parse_received
from bot.understanding.matcher import Matcher
from bot.understanding.normalize import fold


@dataclass
class RecordingEngine:
    """The real engine, every call recorded as ``(method, key, message)``.

    ``delay``: seconds each turn waits first. ``fail``: a turn whose message this returns
    True for raises. ``replies``: replaces a turn's replies (``None`` keeps them).
    ``confidence``: overrides the turns' confidence.
    """

    inner: Engine
    delay: float = 0.0
    fail: Callable[[str | Command], bool] = lambda message: False
    replies: Callable[[str | Command, Turn], tuple[Reply, ...] | None] = lambda message, turn: None
    confidence: float | None = None
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    finished: int = 0

    async def handle(
        self, key: str, message: str | Command, *, hint: Language | None = None, channel: str | None = None
    ) -> Turn:
        self.calls.append(("handle", key, message))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail(message):
            raise RuntimeError("engine failure")
        turn = await self.inner.handle(key, message, hint=hint, channel=channel)
        replaced = self.replies(message, turn)
        if replaced is not None:
            turn = replace(turn, replies=replaced)
        if self.confidence is not None:
            turn = replace(turn, confidence=self.confidence)
        self.finished += 1
        return turn

    async def choose(self, key: str, prompt_id: str, index: int) -> Turn | None:
        self.calls.append(("choose", key, index))
        if self.fail(f"choose:{index}"):
            raise RuntimeError("engine failure")
        return await self.inner.choose(key, prompt_id, index)

    async def feedback(
        self, key: str, feedback: str, vote: Literal["up", "down"], *, channel: str | None = None
    ) -> bool:
        self.calls.append(("feedback", key, vote))
        return await self.inner.feedback(key, feedback, vote, channel=channel)

    async def locale(self, key: str, hint: Language | None = None) -> Locale:
        return await self.inner.locale(key, hint)

    def notice(self, name: str, locale: Locale | Language) -> str:
        return self.inner.notice(name, locale)

    def classify(self, text: str) -> dict[str, object]:
        self.calls.append(("classify", "", text))
        return self.inner.classify(text)

    def handled(self) -> list[tuple[str, Any]]:
        """``(key, message)`` of every ``handle`` call."""
        return [(key, message) for method, key, message in self.calls if method == "handle"]


@contextlib.asynccontextmanager
async def uvicorn_in_loop(app: ASGIApp, *, lifespan: str = "on") -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """Serve ``app`` with a real uvicorn in this event loop on a free loopback port.

    Yields the base URL and the server; stops it on exit.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 10
    while not server.started:
        assert not task.done(), "uvicorn exited during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
        sock.close()


# -- the understanding and dialogue tests ---------------------------------------------------

TODAY = date(2026, 11, 25)
"""Today in the unit tests, as in the conversation tests of ``tests/conversations`` (a Wednesday)."""

LANGUAGES: tuple[Language, ...] = ("zh", "en")


def text_of(turn: Turn) -> str:
    """Every reply text of ``turn``, one after the other."""
    return "\n".join(reply.text for reply in turn.replies)


def is_chinese(text: str) -> bool:
    """Mostly Han characters (an English answer may quote the law's Chinese title)."""
    han = sum("\u4e00" <= char <= "\u9fff" for char in text)
    latin = sum(char.isascii() and char.isalpha() for char in text)
    return han > latin


def topic_labels(kb: KnowledgeBase, language: Language) -> tuple[str, ...]:
    """The menu's choices: the topics' labels in menu order."""
    return tuple(kb.responses[topic].label[language] for topic in kb.topics)


@dataclasses.dataclass(frozen=True)
class FixedModel:
    """A classifier that gives every message the same probabilities."""

    fixed: Mapping[str, float]

    def probabilities(self, units: Sequence[str], allowed: Sequence[str] | None = None) -> dict[str, float]:
        return dict(self.fixed)


def fixed_matcher(compiled_kb: tuple[KnowledgeBase, Compiled], **probabilities: float) -> Matcher:
    """A matcher of the real knowledge base whose classifier always says ``probabilities``."""
    knowledge, compiled = compiled_kb
    return Matcher(knowledge, dataclasses.replace(compiled, intents=FixedModel(probabilities)))  # type: ignore[arg-type]


def read_date(text: str, today: date = TODAY) -> Received | Implausible | None:
    """What the date parser makes of ``text`` as the dialogue passes it (folded)."""
    return parse_received(fold(text), today)


def day(value: str) -> Received:
    """One day, from its ISO form."""
    return Received(date.fromisoformat(value), date.fromisoformat(value))


def span(first: str, last: str) -> Received:
    """A span of days, from the ISO forms of its first and last day."""
    return Received(date.fromisoformat(first), date.fromisoformat(last))

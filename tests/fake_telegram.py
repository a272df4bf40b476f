"""The test harness around the fake Bot API (:mod:`devtools.fake_telegram`): fixtures and helpers
shared by tests/test_telegram_*.py and the process tests (a pytest plugin, see conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from bot.channels.telegram import sending
from bot.channels.telegram.app import Poller, TelegramChannel
from bot.channels.telegram.routing import COMMANDS as SLASH_COMMANDS
from bot.channels.telegram.text import language_of_code, split_message
from bot.dialogue import Engine
from bot.messages import Command, Turn
from bot.settings import Settings
from bot.state import MemoryStore, StateStore
from devtools.fake_telegram import BOT_ID, BOT_USERNAME, TOKEN, FakeTelegram

__all__ = ["BOT_ID", "BOT_USERNAME", "TOKEN", "FakeTelegram", "RunningBot", "polling_bot"]

COMMANDS = {f"/{name}": command for name, command in SLASH_COMMANDS.items()}


def make_settings(fake: FakeTelegram, **overrides: Any) -> Settings:
    """Settings pointing at ``fake``, ignoring any ``.env`` file."""
    values: dict[str, Any] = {
        "telegram_bot_token": fake.token,
        "telegram_base_url": fake.base_url,
        "faqbot_state_url": "memory://",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def expected_messages(turn: Turn) -> list[tuple[str, tuple[str, ...]]]:
    """The (text, button labels) of the messages a turn should become on Telegram."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for reply in turn.replies:
        chunks = split_message(reply.text)
        for n, chunk in enumerate(chunks, 1):
            out.append((chunk, reply.choices if n == len(chunks) and reply.prompt_id else ()))
    return out


def shown(message: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(text, button labels) of a message the fake recorded."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return message["text"], tuple(button["text"] for row in rows for button in row)


def buttons(message: dict[str, Any]) -> list[str]:
    """The ``callback_data`` of a message's inline buttons."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


@dataclass
class RunningBot:
    """The channel polling the fake, with a separate reference engine (what the bot should say)."""

    fake: FakeTelegram
    channel: TelegramChannel
    settings: Settings
    store: StateStore
    engine: Any
    reference: Engine

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every enqueued update was fetched and fully processed."""
        await self.fake.wait_until(lambda: not self.fake.pending_updates, timeout)
        deadline = time.monotonic() + timeout
        while await self.store.inbox.backlog() or self.channel.dispatcher.busy:
            assert time.monotonic() < deadline, "updates still being processed"
            await asyncio.sleep(0.02)

    async def expect_handle(self, key: str, text: str, user: dict[str, Any]) -> Turn:
        """What the reference engine answers to ``text`` (slash commands mapped as the
        channel maps them), with the language hint the channel gives."""
        hint = language_of_code(user.get("language_code"))
        return await self.reference.handle(key, COMMANDS.get(text, text), hint=hint)

    async def expect_welcome(self, key: str, language: Any) -> Turn:
        return await self.reference.handle(key, Command.START, hint=language)

    async def expect_choose_pending(self, key: str, index: int) -> Turn | None:
        """The reference engine choosing ``index`` of the question pending for ``key``."""
        state = await self.reference.store.get(key)
        assert state is not None and state.pending is not None, "nothing pending"
        return await self.reference.choose(key, state.pending.prompt_id, index)

    async def expect_choose(self, key: str, turn: Turn, index: int) -> Turn | None:
        """The reference engine choosing ``index`` of the last question in ``turn``."""
        prompt = next(r.prompt_id for r in reversed(turn.replies) if r.prompt_id)
        return await self.reference.choose(key, prompt, index)

    async def send(self, update: dict[str, Any], replies: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Enqueue ``update`` and return the ``replies`` new messages it caused in its chat."""
        chat_id = (update.get("message") or update["callback_query"]["message"])["chat"]["id"]
        before = len(self.fake.sent(chat_id))
        await self.fake.enqueue(update)
        sent = await self.fake.wait_sent(chat_id, before + replies, timeout)
        return sent[before:]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "SEND_BACKOFF_SECONDS", 0.1)


@contextlib.asynccontextmanager
async def polling_bot(
    fake: FakeTelegram,
    make_engine: Callable[..., Engine],
    *,
    engine_type: Callable[[Engine], Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningBot]:
    """The channel polling ``fake`` (``engine_type`` wraps the real engine: the recording double)."""
    settings = make_settings(fake, **overrides)
    store = MemoryStore()
    engine: Any = make_engine(store)
    if engine_type is not None:
        engine = engine_type(engine)
    poller = Poller(TelegramChannel(settings, engine, store))
    await poller.start(poll_timeout=1)
    try:
        yield RunningBot(fake, poller.channel, settings, store, engine, make_engine())
    finally:
        await poller.stop(5.0)


@pytest_asyncio.fixture
async def tg(fake: FakeTelegram, fast_retries: None, make_engine: Callable[..., Engine]) -> AsyncIterator[RunningBot]:
    """The bot with default settings, polling the fake."""
    async with polling_bot(fake, make_engine) as running:
        yield running

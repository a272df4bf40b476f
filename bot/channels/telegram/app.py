"""The Telegram channel assembled: bot, intake, dispatcher; ``faqbot run`` (long polling).

``faqbot serve`` mounts :meth:`TelegramChannel.routes` and starts and stops the channel
in its lifespan (:mod:`bot.web`); ``faqbot run`` is :func:`run_polling`. Both paths store
accepted updates in the inbox and process them with the same dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Updater

from bot.app import ConfigurationError, load_settings, open_engine, reload_on_hangup, secrets_of
from bot.channels.common.dispatch import Dispatcher
from bot.channels.common.flood import FloodGuard, FloodLimits
from bot.channels.common.ids import log_key
from bot.channels.common.turns import CpuLane, Turns
from bot.channels.telegram.config import ALLOWED_UPDATES, bot_token, build_bot
from bot.channels.telegram.groups import Identity
from bot.channels.telegram.handlers import TelegramHandler
from bot.channels.telegram.intake import Intake, webhook
from bot.channels.telegram.sending import Sender
from bot.dialogue import Engine
from bot.knowledge import load_knowledge
from bot.logs import configure_logging, event, quiet_library_logs
from bot.settings import Settings
from bot.state import StateStore

log = logging.getLogger(__name__)

POLLING_STOP_SECONDS = 20.0
"""How long ``faqbot run`` lets the updates being processed finish when asked to stop."""


class TelegramChannel:
    """Everything the Telegram side of a process needs, built from the settings."""

    def __init__(self, settings: Settings, engine: Engine, store: StateStore, *, lane: CpuLane | None = None):
        quiet_library_logs()
        self.settings = settings
        self.bot = build_bot(settings)
        self.log_key = log_key(bot_token(settings))
        auto_answer = settings.faqbot_group_auto_answer
        flood = FloodGuard(store.tokens, FloodLimits.from_settings(settings))
        sender = Sender(self.bot, store.tokens, self.log_key)
        turns = Turns(engine, "telegram", lane)
        self.handler = TelegramHandler(self.bot, turns, flood, store.tokens, sender, auto_answer)
        self.dispatcher = Dispatcher(store.inbox, self.handler, "telegram")
        self.intake = Intake(
            store.inbox, self.dispatcher, backlog=settings.faqbot_telegram_backlog, auto_answer=auto_answer
        )
        self.started = False

    @property
    def me(self) -> Identity:
        return Identity(self.bot.id, self.bot.username)

    async def start(self) -> None:
        """Ask Telegram who the bot is (getMe) and start processing the inbox."""
        await self.bot.initialize()
        self.dispatcher.start()
        self.started = True

    async def register_webhook(self, url: str, secret: str) -> None:
        """setWebhook with the secret and the handled update types."""
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        event(log, logging.INFO, "telegram.webhook_set", allowed_updates=",".join(ALLOWED_UPDATES))

    async def stop(self, timeout: float) -> None:
        """Let the updates being processed finish within ``timeout``; the rest stay queued."""
        self.started = False
        await self.dispatcher.stop(timeout)
        with contextlib.suppress(Exception):
            await self.bot.shutdown()

    def endpoint(self, secret: str) -> Callable[[Request], Awaitable[Response]]:
        """The handler of ``POST /telegram`` (mounted by :mod:`bot.web`)."""

        async def endpoint(request: Request) -> Response:
            return await webhook(request, self.intake, self.bot, secret if self.started else None)

        return endpoint

    async def accept_polled(self, update: Update) -> None:
        """Store an update fetched by polling, retrying while the store is unreachable."""
        payload = json.dumps(update.to_dict())
        for attempt in range(1, 1_000_000):
            try:
                await self.intake.accept(update, payload, self.me)
                return
            except Exception as exc:
                if attempt == 1 or attempt % 30 == 0:
                    event(log, logging.WARNING, "telegram.update_not_stored", error=type(exc).__name__)
                await asyncio.sleep(min(attempt, 10))


async def check_token(settings: Settings) -> None:
    """Ask Telegram who the token belongs to (getMe) before anything else: raises
    InvalidToken when Telegram rejects it and NetworkError when it cannot be reached."""
    async with build_bot(settings):
        pass


class Poller:
    """Long polling into the inbox: ``getUpdates`` → :meth:`TelegramChannel.accept_polled`.

    python-telegram-bot confirms fetched updates to Telegram with its next ``getUpdates``,
    so they are stored in the inbox as soon as they arrive; processing is the dispatcher's.
    """

    def __init__(self, channel: TelegramChannel) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.updater = Updater(channel.bot, self.queue)
        self._pump: asyncio.Task[None] | None = None

    async def start(self, *, poll_timeout: int = 10) -> None:
        await self.channel.start()
        await self.updater.initialize()
        await self.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=poll_timeout)
        self._pump = asyncio.create_task(self._run_pump())
        event(log, logging.INFO, "telegram.polling_started")

    async def _run_pump(self) -> None:
        while True:
            update = await self.queue.get()
            if isinstance(update, Update):
                await self.channel.accept_polled(update)
            self.queue.task_done()

    async def stop(self, timeout: float = POLLING_STOP_SECONDS) -> None:
        """Stop fetching, store what was fetched, let processing finish within ``timeout``."""
        await self.updater.stop()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.queue.join(), 5.0)
        if self._pump is not None:
            self._pump.cancel()
        await self.channel.stop(timeout)  # before the updater's shutdown, which closes the bot's connections
        await self.updater.shutdown()
        event(log, logging.INFO, "telegram.polling_stopped")


async def _poll(settings: Settings) -> None:
    await check_token(settings)
    engine, store = await open_engine(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    reload_on_hangup(engine, settings)
    try:
        poller = Poller(TelegramChannel(settings, engine, store))
        await poller.start()
        await stop.wait()
        await poller.stop()
    finally:
        await store.close()


def _exit_reason(exc: Exception) -> tuple[int, str]:
    """The exit code and the one-line message of ``faqbot run`` for a failure that ends it."""
    if isinstance(exc, InvalidToken):
        return 2, "Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)"
    if isinstance(exc, NetworkError):
        return 1, f"cannot reach the Telegram Bot API ({type(exc).__name__})"
    return 2, str(exc)  # ConfigurationError: one line of its own


def run_polling(settings: Settings | None = None) -> int:
    """``faqbot run``: serve Telegram by long polling until SIGINT/SIGTERM. Returns the exit code."""
    try:
        settings = settings or load_settings()
        load_knowledge(settings.faqbot_kb_dir)  # refuse a broken knowledge base before anything else
        bot_token(settings)
        configure_logging(settings.faqbot_log_level, secrets_of(settings))
        asyncio.run(_poll(settings))
    except (ConfigurationError, InvalidToken, NetworkError) as exc:
        code, reason = _exit_reason(exc)
        print(f"faqbot run: {reason}", file=sys.stderr)
        return code
    return 0

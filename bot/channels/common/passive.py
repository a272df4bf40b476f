"""Answering a push in its own HTTP response (a passive reply, 被动回复): WeChat and WeCom.

The platform pushes a message, waits a few seconds for the reply in the response, and may
push the same message again. A channel turns its pushes into :class:`Incoming` values and
renders turns in its format; :class:`PassiveAnswers` does the rest, the same way for both:

* a message is processed once: its first delivery claims it and runs the turn, and every
  re-delivery, in any worker, gets that same reply (:class:`~.replays.ReplyReplay`);
* a turn not done by the deadline goes on (it is never cancelled) and keeps its reply;
* a greeting gets the welcome (``Command.START``), non-text the ``non_text`` notice, ``0``
  the rest of a cut answer, a flooding member the ``flood`` notice once, then nothing;
* a turn that fails, or a state store that is down or hung, gets the ``unavailable``
  notice, and a failed turn is never run again;
* one log line per message (``<channel>.reply``) with the sender's hashed id, no text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot import metrics
from bot.channels.common.flood import FloodGuard, FloodLimits
from bot.channels.common.ids import user_ref
from bot.channels.common.replays import ReplyReplay
from bot.channels.common.text import CONTINUE_COMMANDS, clean_text
from bot.channels.common.turns import CpuLane, Turns
from bot.channels.common.webhooks import Rejected, left
from bot.dialogue import Engine
from bot.logs import event
from bot.messages import Command, Reply, Turn
from bot.settings import Settings
from bot.state import Admission, StateStore, keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Incoming:
    """A pushed message as the shared answering needs it."""

    token: str  # the message across the platform's re-sends (a name from bot.state.keys)
    conversation: str  # the engine's key
    user: str  # the sender's platform id: logged only hashed
    kind: str  # for log lines: text, voice, image, enter_chat…
    text: str | None = None  # the question; None: not text (the non_text notice)
    start: bool = False  # a greeting (a new follower, a chat opened): the welcome
    silent: bool = False  # an event with nothing to answer
    group: bool = False  # a group member (the group flood limit)


Render = Callable[[Turn | None], Awaitable[tuple[str, str | None]]]
"""A turn (``None``: nothing to say) as the reply's body, and the rest of a cut answer
(``""``: nothing left over)."""


class PassiveAnswers:
    """The replies of one channel's pushes (see the module docstring)."""

    def __init__(
        self, channel: str, engine: Engine, store: StateStore, settings: Settings, *, retry_wait: float,
        dedup_ttl: float, lane: CpuLane | None = None, log_key: bytes = b"",
    ) -> None:  # fmt: skip
        """``retry_wait``: how long a re-delivery waits for the first one's reply; ``dedup_ttl``:
        how long replies are kept for re-deliveries; ``log_key``: the key of hashed user ids."""
        self.channel, self.engine, self.tokens = channel, engine, store.tokens
        self.turns = Turns(engine, channel, lane)
        self.replay = ReplyReplay(store.tokens, dedup_ttl)
        self.flood = FloodGuard(store.tokens, FloodLimits.from_settings(settings))
        self.retry_wait, self.log_key = retry_wait, log_key

    async def reply(
        self, incoming: Incoming, render: Render, started: float, timeout: float, aliases: Iterable[str] = (), *,
        check: Callable[[], Awaitable[None]] | None = None,
    ) -> str | None:  # fmt: skip
        """The reply to ``incoming``, also kept under ``aliases``; ``None`` when it is not there
        ``timeout`` seconds after ``started`` (``time.monotonic``), or, for a re-delivery,
        ``retry_wait`` seconds after. ``check`` runs first (its :class:`Rejected` is raised).
        One task per message, which the request leaves behind when it runs late."""
        retry = asyncio.Event()  # set when this delivery turns out to be a re-delivery
        task = asyncio.ensure_future(self._respond(incoming, render, tuple(aliases), retry, check))
        with contextlib.suppress(asyncio.TimeoutError):
            return await asyncio.wait_for(asyncio.shield(task), left(started + timeout))
        if retry.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                return await asyncio.wait_for(asyncio.shield(task), left(started + self.retry_wait))
        else:
            event(
                log, logging.WARNING, f"{self.channel}.engine_timeout", user=self.ref(incoming.user), kind=incoming.kind
            )
            metrics.ERRORS.labels(self.channel, "deadline").inc()
        self.replay.keep_running(task)  # not cancelled: that could leave a conversation half-updated
        return None

    async def _respond(
        self, incoming: Incoming, render: Render, aliases: tuple[str, ...], retry: asyncio.Event,
        check: Callable[[], Awaitable[None]] | None,
    ) -> str | None:  # fmt: skip
        try:
            if check is not None:
                await check()
            if not await self.replay.first(incoming.token):
                retry.set()
                event(log, logging.INFO, f"{self.channel}.retry", user=self.ref(incoming.user), kind=incoming.kind)
                return await self.replay.original(incoming.token, self.retry_wait)
        except Rejected:
            raise
        except Exception as exc:  # the store is down
            return await self.unavailable(incoming, render, exc)
        return await self._complete(incoming, render, aliases)

    async def _complete(self, incoming: Incoming, render: Render, aliases: tuple[str, ...]) -> str:
        started, failed = time.monotonic(), False
        try:
            turn, answer = await self._turn(incoming)
        except Exception as exc:
            failed = True
            self.turns.failed(exc, user=self.ref(incoming.user), kind=incoming.kind)
            turn, answer = await self.turns.notice_turn("unavailable", incoming.conversation), False
        reply, rest = await render(turn)
        kept: dict[str, str | None] = dict.fromkeys(aliases, reply)
        if answer:  # a notice leaves the rest of an earlier answer for "0"
            kept[keys.more(incoming.conversation)] = rest or None
        try:
            await self.replay.keep(incoming.token, reply, kept)
        except Exception as exc:
            self.error("store_unavailable", exc)
        ms = round((time.monotonic() - started) * 1000)
        event(log, logging.INFO, f"{self.channel}.reply", user=self.ref(incoming.user), kind=incoming.kind,
              replied=turn is not None, failed=failed, ms=ms)  # fmt: skip
        return reply

    async def _turn(self, incoming: Incoming) -> tuple[Turn | None, bool]:
        """What ``incoming`` is answered with, and whether it is an answer (not a notice)."""
        key, text = incoming.conversation, incoming.text
        if incoming.silent or incoming.start:
            return (None, False) if incoming.silent else (await self.turns.handle(key, Command.START), True)
        if text is None or not text.strip():
            return await self.turns.notice_turn("non_text", key), False
        if text.strip() in CONTINUE_COMMANDS and (kept := await self.tokens.recall(keys.more(key))):
            locale = await self.engine.locale(key)
            return Turn(None, locale.language, (Reply(kept),), script=locale.script), True
        admission = await self.flood.admit(key, group=incoming.group)
        if admission is not Admission.ALLOWED:
            notice = await self.turns.notice_turn("flood", key) if admission is Admission.REFUSED_NOTIFY else None
            return notice, False
        return await self.turns.handle(key, clean_text(text)), True

    async def unavailable(self, incoming: Incoming, render: Render, exc: BaseException) -> str:
        """The ``unavailable`` notice for ``incoming`` when the store failed with ``exc``: the
        message is verified, but it cannot be de-duplicated."""
        self.error("store_unavailable", exc)
        return (await render(await self.turns.notice_turn("unavailable", incoming.conversation)))[0]

    def ref(self, user: str) -> str:
        """``user`` as a log reference."""
        return user_ref(user, self.log_key)

    def error(self, kind: str, exc: BaseException) -> None:
        """Count and log a failure of ``kind`` (the error's class; its traceback at DEBUG level)."""
        metrics.ERRORS.labels(self.channel, kind).inc()
        event(log, logging.ERROR, f"{self.channel}.{kind}", error=type(exc).__name__)
        log.debug("%s.%s details", self.channel, kind, exc_info=exc)

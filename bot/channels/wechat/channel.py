"""WeChat Official Account channel: ``GET /wechat`` (verification), ``POST /wechat`` (messages).

Each pushed message is answered in the HTTP response (a passive reply), or with
``success`` when no reply is due. The channel holds no answer text: it hands text to the
engine, renders what comes back (:mod:`.replies`), and takes its notices from the engine.

Guarantees:

* nothing reaches the engine before the envelope is verified (:mod:`.envelope`);
* a message WeChat re-sends is processed once, and every retry gets the same answer;
* an answer within WeChat's 5-second deadline: ``success`` when the turn is too slow (the
  turn still finishes and its reply is kept for a retry of the message);
* a turn that fails, or a state store that is down or hung, gets the engine's
  ``unavailable`` notice — never a raw 500 — and a failed turn is never run again;
* a member who floods gets the flood notice once, then ``success`` until the limit refills;
* error responses carry a short status text, never a traceback; logs carry no message
  text, no OpenID (only a hash of it) and no secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import metrics
from bot.channels.common.choices import plain_text
from bot.channels.common.flood import FloodGuard, FloodLimits
from bot.channels.common.ids import user_ref
from bot.channels.common.replays import ReplyReplay
from bot.channels.common.text import clean_text
from bot.channels.common.turns import CpuLane, Turns
from bot.channels.wechat.envelope import Envelope, InboundMessage, Rejected
from bot.channels.wechat.replies import CONTINUE_COMMANDS, SUCCESS, Replies, split_content
from bot.dialogue import Engine
from bot.logs import event, event_once_a_minute
from bot.messages import Command, Turn
from bot.settings import Settings
from bot.state import Admission, StateStore, keys

log = logging.getLogger(__name__)

Answer = tuple[str, dict[str, str | None]]
"""A reply body and the tokens to keep with it (the rest of a cut reply, or ``None`` to drop it)."""


class WeChatChannel:
    """The webhook's behaviour; :meth:`routes` mounts it.

    Keyword options exist for tests and tuning: ``engine_timeout`` (seconds a request may
    take before the channel answers ``success``; under WeChat's 5 s), ``retry_wait`` (how
    long a retry waits for the original's reply), ``dedup_ttl`` (how long replies are
    kept for retries), ``clock`` (returns Unix time), and the envelope's ``max_body`` and
    ``max_clock_skew``.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: StateStore,
        *,
        engine_timeout: float = 4.0,
        retry_wait: float = 4.0,
        dedup_ttl: float = 600.0,
        clock: Callable[[], float] = time.time,
        lane: CpuLane | None = None,
        **envelope_options: Any,
    ) -> None:
        self.envelope = Envelope(settings, store.tokens, clock=clock, **envelope_options)
        self.replies = Replies(self.envelope.token, self.envelope.cipher, clock)
        self.turns = Turns(engine, "wechat", lane)
        self.replay = ReplyReplay(store.tokens, dedup_ttl)
        self.flood = FloodGuard(store.tokens, FloodLimits.from_settings(settings))
        self.tokens = store.tokens
        self.engine = engine
        self.engine_timeout = engine_timeout
        self.retry_wait = retry_wait
        self.conversation_ttl = max(settings.faqbot_state_idle_minutes, 1.0) * 60
        self._late: set[asyncio.Task[Any]] = set()  # turns that outlived the deadline

    def __repr__(self) -> str:
        return f"WeChatChannel(safe_mode={self.envelope.cipher is not None})"

    def routes(self) -> list[BaseRoute]:
        """``GET /wechat`` (verification) and ``POST /wechat`` (messages)."""
        return [
            Route("/wechat", self.verify, methods=["GET"], name="wechat_verify"),
            Route("/wechat", self.receive, methods=["POST"], name="wechat_receive"),
        ]

    async def verify(self, request: Request) -> Response:
        """Server verification: echo ``echostr`` when the signature is WeChat's and fresh."""
        try:
            mode, text = self.envelope.echo(request.query_params)
        except Rejected as rejected:
            return _rejected(rejected, "wechat.verify.rejected")
        event(log, logging.INFO, "wechat.verify.ok", mode=mode)
        return PlainTextResponse(text, headers={"X-Content-Type-Options": "nosniff"})

    async def receive(self, request: Request) -> Response:
        """One pushed message or event → a passive reply, ``success``, or an error status."""
        started = time.monotonic()
        try:
            return await self._receive(request, started)
        except Exception as exc:  # never a traceback, never a 500: WeChat would tell the user
            metrics.ERRORS.labels("wechat", "unexpected").inc()
            event(log, logging.ERROR, "wechat.error", error=type(exc).__name__)
            log.debug("wechat.error details", exc_info=True)
            return PlainTextResponse(SUCCESS)

    async def _receive(self, request: Request, started: float) -> Response:
        try:
            message, encrypted, binding = await self.envelope.open(request)
        except Rejected as rejected:
            return _rejected(rejected, "wechat.rejected")
        retry = asyncio.Event()  # set when this delivery turns out to be a retry
        task = asyncio.ensure_future(self._respond(message, binding, retry))
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), _left(started + self.engine_timeout))
        except Rejected as rejected:
            return _rejected(rejected, "wechat.rejected")
        except asyncio.TimeoutError:
            reply = await self._late_reply(task, retry, started, message)
        body, media_type = self.replies.body(reply, encrypted)
        metrics.REQUESTS.labels("/wechat", "200").inc()
        metrics.REQUEST_SECONDS.labels("/wechat").observe(time.monotonic() - started)
        return Response(body, media_type=media_type)

    async def _late_reply(
        self, task: asyncio.Task[str], retry: asyncio.Event, started: float, message: InboundMessage
    ) -> str:
        """A retry waits for the first delivery's reply up to ``retry_wait``; a turn that misses
        the deadline is answered ``success`` and left to finish (its reply kept for the retry)."""
        if retry.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                return await asyncio.wait_for(asyncio.shield(task), _left(started + self.retry_wait))
        else:
            event(log, logging.WARNING, "wechat.engine_timeout", user=user_ref(message.from_user))
            metrics.ERRORS.labels("wechat", "deadline").inc()
        self._late.add(task)  # not cancelled: that could leave a conversation half-updated
        task.add_done_callback(self._late_done)
        return SUCCESS

    async def _respond(
        self, message: InboundMessage, binding: tuple[str, str, bytes] | None, retry: asyncio.Event
    ) -> str:
        """The reply for ``message``: computed once, replayed on retries (see the module
        docstring); the ``unavailable`` notice when the store fails. Runs as a task of its
        own, which the request leaves behind at WeChat's deadline."""
        try:
            if binding is not None:
                await self.envelope.bind(*binding)
            first = await self.replay.first(message.token)
            if not first:
                retry.set()
                event(log, logging.INFO, "wechat.retry", user=user_ref(message.from_user), msg_type=message.msg_type)
                return await self.replay.original(message.token, self.retry_wait) or SUCCESS
        except Rejected:
            raise
        except Exception as exc:  # the store is down: verified, but the replay checks could not run
            self._store_failed(exc)
            return await self._unavailable(message)
        return await self._complete(message)

    def _late_done(self, task: asyncio.Task[str]) -> None:
        self._late.discard(task)
        if not task.cancelled() and task.exception() is not None:  # e.g. a Rejected that came too late
            event(log, logging.WARNING, "wechat.late_failure", error=type(task.exception()).__name__)

    async def _complete(self, message: InboundMessage) -> str:
        """Answer ``message`` and keep the reply for its retries; a failed turn is answered
        with the ``unavailable`` notice (kept too: the turn is never run a second time)."""
        started, failed = time.monotonic(), False
        try:
            reply, also = await self._answer(message)
        except Exception as exc:
            failed = True
            self.turns.failed(exc, user=user_ref(message.from_user), msg_type=message.msg_type)
            reply, also = await self._unavailable(message), {}
        try:
            await self.replay.keep(message.token, reply, also)
        except Exception as exc:
            self._store_failed(exc)
        event(
            log,
            logging.INFO,
            "wechat.reply",
            user=user_ref(message.from_user),
            msg_type=message.msg_type,
            event=(message.event or "-").lower(),
            replied=reply != SUCCESS,
            failed=failed,
            ms=round((time.monotonic() - started) * 1000),
        )
        return reply

    async def _answer(self, message: InboundMessage) -> Answer:
        key = keys.wechat_conversation(message.from_user)
        if message.msg_type == "event":
            if (message.event or "").lower() == "subscribe":
                return self._render(message, await self.turns.handle(key, Command.START))
            return SUCCESS, {}  # unsubscribe, menu clicks, scans…: nothing to say
        text = message.content if message.msg_type == "text" else message.recognition
        if message.msg_type not in ("text", "voice") or text is None or not text.strip():
            return await self._notice("non_text", message), {}
        if text.strip() in CONTINUE_COMMANDS:
            kept = await self.tokens.recall(keys.wechat_more(message.from_user))
            if kept:
                more = self.engine.notice("more", await self.engine.locale(key))
                part, rest = split_content(kept, more)
                return self.replies.text(message, part), {keys.wechat_more(message.from_user): rest or None}
        admission = await self.flood.admit(key, group=False)
        if admission is not Admission.ALLOWED:
            return (await self._notice("flood", message) if admission is Admission.REFUSED_NOTIFY else SUCCESS), {}
        return self._render(message, await self.turns.handle(key, clean_text(text)))

    def _render(self, message: InboundMessage, turn: Turn) -> Answer:
        """``turn`` as one reply with numbered choices, cut to the size limit (the rest is what
        ``0`` sends; a reply that is not cut drops an older rest)."""
        more_key = keys.wechat_more(message.from_user)
        text = plain_text(turn, self.engine.notice("reply_with_number", turn.locale))
        if not text.strip():
            return SUCCESS, {more_key: None}
        part, rest = split_content(text, self.engine.notice("more", turn.locale))
        return self.replies.text(message, part), {more_key: rest or None}

    async def _notice(self, name: str, message: InboundMessage) -> str:
        text, _ = await self.turns.notice(name, keys.wechat_conversation(message.from_user))
        return self.replies.text(message, text)

    async def _unavailable(self, message: InboundMessage) -> str:
        return await self._notice("unavailable", message)

    def _store_failed(self, exc: BaseException) -> None:
        metrics.ERRORS.labels("wechat", "store_unavailable").inc()
        event(log, logging.ERROR, "wechat.store_unavailable", error=type(exc).__name__)


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (at least a moment, so that a late step still gets a try)."""
    return max(0.1, deadline - time.monotonic())


def _rejected(rejected: Rejected, name: str) -> Response:
    fields = {"status": rejected.status, "reason": rejected.reason}
    if rejected.detail:
        fields["detail"] = rejected.detail
    event_once_a_minute(f"{name}:{rejected.reason}", log, logging.WARNING, name, **fields)
    metrics.REQUESTS.labels("/wechat", str(rejected.status)).inc()
    text = {400: "bad request", 403: "forbidden", 413: "payload too large"}.get(rejected.status, "error")
    return PlainTextResponse(text, status_code=rejected.status)


def wechat_routes(settings: Settings, engine: Engine, store: StateStore) -> list[BaseRoute]:
    """``GET /wechat`` and ``POST /wechat`` for the Official Account configured in
    ``settings``; :class:`~bot.channels.wechat.envelope.WeChatConfigError` (a ``ValueError``)
    when WECHAT_TOKEN is empty, or WECHAT_AES_KEY is set without WECHAT_APP_ID or is not
    43 characters."""
    return WeChatChannel(settings, engine, store).routes()

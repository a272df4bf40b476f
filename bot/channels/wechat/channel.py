"""WeChat Official Account channel: ``GET /wechat`` (verification), ``POST /wechat`` (messages).

Each pushed message is answered in the HTTP response (a passive reply), or with
``success`` when no reply is due. The channel holds no answer text: it hands text to the
engine, renders what comes back (:mod:`.replies`), and takes its notices from the engine.

Guarantees (the answering is :mod:`bot.channels.common.passive`'s, shared with WeCom):

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

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import metrics
from bot.channels.common.choices import plain_text
from bot.channels.common.passive import Incoming, PassiveAnswers
from bot.channels.common.turns import CpuLane
from bot.channels.common.webhooks import Rejected, answered, refused
from bot.channels.wechat.envelope import Envelope, InboundMessage
from bot.channels.wechat.replies import SUCCESS, Replies, split_content
from bot.dialogue import Engine
from bot.logs import event
from bot.messages import Turn
from bot.settings import Settings
from bot.state import StateStore, keys

log = logging.getLogger(__name__)


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
        self.answers = PassiveAnswers(
            "wechat", engine, store, settings, retry_wait=retry_wait, dedup_ttl=dedup_ttl, lane=lane
        )
        self.engine = engine
        self.engine_timeout = engine_timeout

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
            return refused(rejected, "wechat", "wechat.verify.rejected")
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
            return refused(rejected, "wechat", "wechat.rejected")
        check = partial(self.envelope.bind, *binding) if binding is not None else None
        try:
            reply = await self.answers.reply(
                _incoming(message), partial(self._render, message), started, self.engine_timeout, check=check
            )
        except Rejected as rejected:  # the plaintext-mode binding
            return refused(rejected, "wechat", "wechat.rejected")
        body, media_type = self.replies.body(reply or SUCCESS, encrypted)
        answered("wechat", started)
        return Response(body, media_type=media_type)

    async def _render(self, message: InboundMessage, turn: Turn | None) -> tuple[str, str | None]:
        """``turn`` as one reply with numbered choices, cut to the size limit (the rest is what
        ``0`` sends)."""
        text = "" if turn is None else plain_text(turn, self.engine.notice("reply_with_number", turn.locale))
        if turn is None or not text.strip():
            return SUCCESS, ""
        part, rest = split_content(text, self.engine.notice("more", turn.locale))
        return self.replies.text(message, part), rest


def _incoming(message: InboundMessage) -> Incoming:
    """What the shared answering needs of a push: a subscription is a greeting, other events
    are silent, text and voice (its transcript) are questions."""
    event_ = (message.event or "").lower() if message.msg_type == "event" else ""
    text = {"text": message.content, "voice": message.recognition}.get(message.msg_type)
    return Incoming(
        message.token,
        keys.wechat_conversation(message.from_user),
        message.from_user,
        f"event:{event_}" if event_ else message.msg_type,
        text,
        start=event_ == "subscribe",
        silent=message.msg_type == "event" and event_ != "subscribe",
    )


def wechat_routes(settings: Settings, engine: Engine, store: StateStore) -> list[BaseRoute]:
    """``GET /wechat`` and ``POST /wechat`` for the Official Account configured in
    ``settings``; :class:`~bot.channels.wechat.envelope.WeChatConfigError` (a ``ValueError``)
    when WECHAT_TOKEN is empty, or WECHAT_AES_KEY is set without WECHAT_APP_ID or is not
    43 characters."""
    return WeChatChannel(settings, engine, store).routes()

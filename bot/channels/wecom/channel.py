"""The robot's routes: ``GET /wecom`` (the URL check) and ``POST /wecom`` (callbacks, answered
in the HTTP response: path 101031, encrypted with the URL's nonce: path 101033).

Answering is :mod:`bot.channels.common.passive`'s, as on WeChat. What only the robot has:

* a turn not done within ``engine_timeout`` is answered with an unfinished stream, which
  WeCom asks for again (流式消息刷新, 100719) for 6 minutes; a turn done later than
  ``refresh_seconds`` goes to ``response_url`` instead (主动回复, 101138);
* a card button is answered empty at once (unanswered for 5 s, a press is dropped: 101027);
  the choice is made for the presser's own conversation and answered through
  ``response_url``. A press on another member's card selects nothing and sends nothing: a
  press may only be answered empty or with a card update (101031), and an active reply
  would be shown, quoting the card, to the whole group (101138);
* 👍/👎 (feedback_event, answered empty: 101027) go to the review log, one per answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from functools import partial

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import metrics
from bot.app import ConfigurationError
from bot.channels.common.crypto import WeChatCipher, seal
from bot.channels.common.ids import log_key
from bot.channels.common.passive import PassiveAnswers
from bot.channels.common.turns import CpuLane
from bot.channels.common.webhooks import Rejected, bounded_body, open_signed, post_json, refused
from bot.channels.wecom import render
from bot.channels.wecom.envelope import Callback, parse_callback
from bot.dialogue import Engine
from bot.logs import event
from bot.messages import Turn
from bot.settings import Settings
from bot.state import StateStore, keys

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
REFRESH_SECONDS = 5 * 60.0
"""After this, a turn's answer goes to ``response_url``: WeCom asks for an unfinished stream
for 6 minutes from the message ("最多等待6min"); a minute is left for its last refresh."""


def wecom_keys(settings: Settings) -> tuple[str, WeChatCipher]:
    """The Token and the cipher (the receive id is empty: "receiveid直接传空字符串即可");
    :class:`ConfigurationError` naming the setting, never its value."""
    token, key = (s.get_secret_value().strip() if s else "" for s in (settings.wecom_token, settings.wecom_aes_key))
    if not token or not key:
        raise ConfigurationError("WECOM_TOKEN and WECOM_AES_KEY go together: the robot's Token and EncodingAESKey")
    try:
        return token, WeChatCipher(key, "")
    except ValueError as exc:
        raise ConfigurationError(f"WECOM_AES_KEY {exc}") from None


class WeComChannel:
    """The webhook's behaviour; :meth:`routes` mounts it. Keyword options exist for tests."""

    def __init__(
        self, settings: Settings, engine: Engine, store: StateStore, *, engine_timeout: float = 4.0,
        retry_wait: float = 4.0, dedup_ttl: float = 3600.0, refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.time, lane: CpuLane | None = None,
    ) -> None:  # fmt: skip
        self.token, self.cipher = wecom_keys(settings)
        self.names = tuple(filter(None, [(settings.wecom_bot_name or "").strip()]))
        self.answers = PassiveAnswers("wecom", engine, store, settings, retry_wait=retry_wait, dedup_ttl=dedup_ttl,
                                      lane=lane, log_key=log_key(self.token))  # fmt: skip
        self.engine, self.engine_timeout, self.refresh_seconds, self.clock = (
            engine,
            engine_timeout,
            refresh_seconds,
            clock,
        )

    def routes(self) -> list[BaseRoute]:
        return [Route("/wecom", self.verify, methods=["GET"], name="wecom_verify"),
                Route("/wecom", self.receive, methods=["POST"], name="wecom_receive")]  # fmt: skip

    def _open(self, query: QueryParams, encrypt: str) -> str:
        signed = (query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""))
        return open_signed(self.token, self.cipher, signed, encrypt, self.clock())

    async def verify(self, request: Request) -> Response:
        """The URL check: ``echostr`` decrypted and answered as it is, within the second (101033)."""
        try:
            return PlainTextResponse(self._open(request.query_params, request.query_params.get("echostr", "")))
        except Rejected as rejected:
            return refused(rejected, "wecom", "wecom.verify.rejected")

    async def receive(self, request: Request) -> Response:
        """One callback: an encrypted reply, an empty 200, or an error status (no traceback)."""
        started, query = time.monotonic(), request.query_params
        try:
            body = json.loads(await bounded_body(request, MAX_BODY_BYTES))
            encrypt = body.get("encrypt") if isinstance(body, dict) else None
            if not isinstance(encrypt, str) or not encrypt:
                raise ValueError("not the documented {encrypt: …}")
            callback = parse_callback(self._open(query, encrypt), robot_names=self.names)
        except Rejected as rejected:
            return refused(rejected, "wecom", "wecom.rejected")
        except ValueError as exc:  # the body, or the callback in it, malformed (CallbackError names the field)
            return refused(Rejected(400, "malformed", str(exc)), "wecom", "wecom.rejected")
        try:
            reply = await self._respond(callback, started)
        except Exception as exc:  # a bug of ours: a bare 500
            self.answers.error("unexpected", exc)
            return PlainTextResponse("error", status_code=500)
        metrics.REQUESTS.labels("/wecom", "200").inc()
        metrics.REQUEST_SECONDS.labels("/wecom").observe(time.monotonic() - started)
        if not reply:
            return Response(b"")  # "直接回复空包"
        timestamp, nonce = int(self.clock()), query.get("nonce", "")
        encrypt, signature = seal(self.token, self.cipher, reply, str(timestamp), nonce)
        return JSONResponse({"encrypt": encrypt, "msgsignature": signature, "timestamp": timestamp, "nonce": nonce})

    async def _respond(self, callback: Callback, started: float) -> str:
        """The plaintext of the reply (``""``: an empty one)."""
        incoming, stream = callback.incoming, _stream_id(callback.incoming.token)
        if callback.refresh is not None:
            kept = await self.answers.tokens.recall(keys.wecom_stream(callback.refresh))
            return kept or render.dumps(render.pending_stream(callback.refresh))
        if callback.press is not None or callback.vote is not None:
            self.answers.replay.keep_running(asyncio.ensure_future(self._act(callback)))
            return ""
        draw = partial(self._render, callback, started)
        reply = await self.answers.reply(incoming, draw, started + self.engine_timeout, (keys.wecom_stream(stream),))
        streamed = not (incoming.silent or incoming.kind == "enter_chat")
        return reply if reply is not None else render.dumps(render.pending_stream(stream)) if streamed else ""

    async def _act(self, callback: Callback) -> None:
        """A card button or a vote, once per ``msgid``."""
        answers, key = self.answers, callback.incoming.conversation
        try:
            if not await answers.replay.first(callback.incoming.token):
                return
            if callback.vote is not None:
                answer, vote = callback.vote
                for feedback in render.feedback_ids(answer):
                    if vote is not None:
                        await self.engine.feedback(key, feedback, vote, channel="wecom")
                return
            chosen = render.parse_press(callback.press) if callback.press is not None else None
            turn = await answers.turns.choose(key, *chosen) if chosen is not None else None
        except Exception as exc:
            answers.turns.failed(exc, user=answers.ref(callback.incoming.user), kind=callback.incoming.kind)
            turn = await answers.turns.notice_turn("unavailable", key)
        if turn is None:  # answered, replaced, expired, or another member's question
            event(log, logging.INFO, "wecom.press_ignored", user=answers.ref(callback.incoming.user))
        elif callback.response_url:
            rest = await self._post(callback, turn)
            await answers.tokens.remember_many({keys.more(key): rest or None}, answers.replay.ttl_seconds)

    async def _render(self, callback: Callback, started: float, turn: Turn | None) -> tuple[str, str | None]:
        """The passive reply saying ``turn``, and the rest of a cut answer."""
        if turn is None:
            return "", ""
        stream, notice = _stream_id(callback.incoming.token), partial(self.engine.notice, locale=turn.locale)
        if callback.incoming.kind == "enter_chat":
            return render.dumps(render.welcome_reply(turn, notice)), ""
        if callback.response_url and time.monotonic() - started > self.refresh_seconds:
            rest = await self._post(callback, turn)  # the unfinished stream ends empty
            return render.dumps({"msgtype": "stream", "stream": {"id": stream, "finish": True}}), rest
        payload, rest = render.stream_reply(turn, notice, stream_id=stream)
        return render.dumps(payload), rest

    async def _post(self, callback: Callback, turn: Turn) -> str:
        """``turn`` as an active reply (markdown) through ``response_url``: one call, within the
        hour (101138); the rest of a cut answer."""
        payload, rest = render.markdown_reply(turn, partial(self.engine.notice, locale=turn.locale))
        await post_json(
            str(callback.response_url), render.dumps(payload), "wecom", user=self.answers.ref(callback.incoming.user)
        )
        return rest


def _stream_id(token: str) -> str:
    """The stream of a callback's reply: the same across its re-sends and across workers."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]

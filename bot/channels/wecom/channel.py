"""The robot's routes: ``GET /wecom`` (the URL check), ``POST /wecom`` (callbacks answered in
the response, 101031, encrypted with the URL's nonce, 101033). Answering is shared with WeChat
(:mod:`bot.channels.common.passive`); what only the robot has:

* a turn slower than ``engine_timeout`` gets an unfinished stream, which WeCom asks for again
  (流式消息刷新, 100719) for 6 minutes; one done after ``refresh_seconds`` goes to ``response_url``;
* a press or a vote is answered empty at once (a press unanswered for 5 s is dropped; a vote
  takes an empty reply only: 101027); the choice is made for the presser's own conversation,
  its answer sent to ``response_url`` (101138). Another member's press selects and sends
  nothing: a press can only be answered empty or with a card update (101031), and an active
  reply would be shown to the whole group, quoting the card (101138).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from functools import partial

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.app import ConfigurationError
from bot.channels.common.crypto import WeChatCipher, seal
from bot.channels.common.ids import log_key
from bot.channels.common.passive import PassiveAnswers
from bot.channels.common.turns import CpuLane
from bot.channels.common.webhooks import Rejected, answered, bounded_body, open_signed, post_json, refused
from bot.channels.wecom import render
from bot.channels.wecom.envelope import Callback, CallbackError, parse_callback
from bot.dialogue import Engine
from bot.logs import event
from bot.messages import Turn
from bot.settings import Settings, secret
from bot.state import StateStore, keys

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5 * 60.0  # WeCom refreshes for 6 minutes ("最多等待6min"): a minute left for the last one


def wecom_keys(settings: Settings) -> tuple[str, WeChatCipher]:
    """The Token and the cipher (the receive id is empty: "receiveid直接传空字符串即可");
    :class:`ConfigurationError` naming the setting, never its value."""
    token, key = secret(settings.wecom_token), secret(settings.wecom_aes_key)
    if not token or not key:
        raise ConfigurationError("WECOM_TOKEN and WECOM_AES_KEY go together: the robot's Token and EncodingAESKey")
    try:
        return token, WeChatCipher(key, "", key_setting="WECOM_AES_KEY")
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


class WeComChannel:
    """The webhook's behaviour; :meth:`routes` mounts it. Keyword options exist for tests."""

    def __init__(
        self, settings: Settings, engine: Engine, store: StateStore, *, engine_timeout: float = 4.0,
        retry_wait: float = 4.0, dedup_ttl: float = 3600.0, refresh_seconds: float = REFRESH_SECONDS,
        lane: CpuLane | None = None,
    ) -> None:  # fmt: skip
        self.token, self.cipher = wecom_keys(settings)
        self.names = tuple(filter(None, [(settings.wecom_bot_name or "").strip()]))
        self.answers = PassiveAnswers("wecom", engine, store, settings, retry_wait=retry_wait, dedup_ttl=dedup_ttl,
                                      lane=lane, log_key=log_key(self.token))  # fmt: skip
        self.engine, self.engine_timeout, self.refresh_seconds = engine, engine_timeout, refresh_seconds

    def routes(self) -> list[BaseRoute]:
        return [Route("/wecom", self.verify, methods=["GET"], name="wecom_verify"),
                Route("/wecom", self.receive, methods=["POST"], name="wecom_receive")]  # fmt: skip

    def _open(self, query: QueryParams, encrypt: str) -> str:
        signed = (query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""))
        return open_signed(self.token, self.cipher, signed, encrypt, time.time())

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
            callback = parse_callback(await bounded_body(request), partial(self._open, query), self.names)
        except Rejected as rejected:
            return refused(rejected, "wecom", "wecom.rejected")
        except CallbackError as exc:
            return refused(Rejected(400, "malformed", str(exc)), "wecom", "wecom.rejected")
        try:
            reply = await self._respond(callback, started)
        except Exception as exc:  # a bug of ours: a bare 500
            self.answers.error("unexpected", exc)
            return PlainTextResponse("error", status_code=500)
        answered("wecom", started)
        if not reply:
            return Response(b"")  # "直接回复空包"
        timestamp, nonce = int(time.time()), query.get("nonce", "")
        encrypt, signature = seal(self.token, self.cipher, reply, str(timestamp), nonce)
        return JSONResponse({"encrypt": encrypt, "msgsignature": signature, "timestamp": timestamp, "nonce": nonce})

    async def _respond(self, callback: Callback, started: float) -> str:
        """The plaintext of the reply (``""``: an empty one)."""
        incoming, stream = callback.incoming, _stream_id(callback.incoming.token)
        if callback.refresh is not None:
            kept = await self.answers.tokens.recall(keys.wecom_stream(callback.refresh))  # "": finished, nothing to say
            return kept or render.empty_stream(callback.refresh, finish=kept is not None)
        if callback.press is not None or callback.vote is not None:
            self.answers.replay.keep_running(asyncio.ensure_future(self._act(callback)))
            return ""
        draw = partial(self._render, callback, started)
        reply = await self.answers.reply(incoming, draw, started, self.engine_timeout, (keys.wecom_stream(stream),))
        streamed = not (incoming.silent or incoming.kind == "enter_chat")
        return reply if reply is not None else render.empty_stream(stream, finish=False) if streamed else ""

    async def _act(self, callback: Callback) -> None:
        """A card button or a vote, once per ``msgid``."""
        answers, key, user = self.answers, callback.incoming.conversation, self.answers.ref(callback.incoming.user)
        try:
            if not await answers.replay.first(callback.incoming.token):
                return
            if callback.vote is not None:
                for feedback in render.feedback_ids(callback.vote[0]):
                    await answers.turns.feedback(key, feedback, callback.vote[1])
                return
            chosen = render.parse_press(callback.press) if callback.press and callback.response_url else None
            turn = await answers.turns.choose(key, *chosen) if chosen is not None else None
        except Exception as exc:
            answers.turns.failed(exc, user=user, kind=callback.incoming.kind)
            turn = await answers.turns.notice_turn("unavailable", key)
        if turn is None:  # answered, replaced, expired, or another member's question
            event(log, logging.INFO, "wecom.press_ignored", user=user)
        elif callback.response_url:
            rest = await self._post(callback, turn)
            await answers.tokens.remember_many({keys.more(key): rest or None}, answers.replay.ttl_seconds)

    async def _render(self, callback: Callback, started: float, turn: Turn | None) -> tuple[str, str | None]:
        """The passive reply saying ``turn``, and the rest of a cut answer."""
        if turn is None:
            return "", ""
        stream, notice = _stream_id(callback.incoming.token), partial(self.engine.notice, locale=turn.locale)
        if callback.incoming.kind == "enter_chat":
            return render.welcome_reply(turn, notice), ""
        if callback.response_url and time.monotonic() - started > self.refresh_seconds:
            return render.empty_stream(stream, finish=True), await self._post(callback, turn)  # shown once
        return render.stream_reply(turn, notice, stream_id=stream)

    async def _post(self, callback: Callback, turn: Turn) -> str:
        """``turn`` as an active reply through ``response_url`` (one call, within the hour:
        101138); the rest of a cut answer."""
        reply, rest = render.markdown_reply(turn, partial(self.engine.notice, locale=turn.locale))
        await post_json(str(callback.response_url), reply, "wecom", user=self.answers.ref(callback.incoming.user))
        return rest


def _stream_id(token: str) -> str:
    """The stream of a callback's reply: the same across its re-sends and across workers."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]

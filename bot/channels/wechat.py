"""WeChat Official Account channel: the ``/wechat`` webhook.

``GET /wechat`` answers WeChat's server verification; ``POST /wechat`` receives user
messages and events and answers each with a passive reply (or ``success`` when no reply
is due). Plaintext, compatible and safe (AES) modes are supported; see the README, "Deployment: WeChat Official Account".

The channel holds no answer text: it hands text to the :class:`~bot.dialogue.Engine`,
numbers the choices of what comes back, and takes its fixed notices from the engine.

Guarantees:

* nothing reaches the engine before the request's signature (and, in safe mode, the
  message signature, decryption and app id) has been verified;
* in plaintext mode, where the signature does not cover the body, a signed
  ``(timestamp, nonce)`` is accepted with one body only: a captured URL cannot carry
  another message;
* a message WeChat re-sends (same ``MsgId``; for events same sender, ``CreateTime`` and
  event) is processed once, and every retry gets the same answer;
* an answer is produced within WeChat's 5-second deadline: ``success`` when the turn is
  too slow. The turn still finishes and its reply is kept for a retry of the message
  (WeChat retries when it got no answer in time, e.g. the ``success`` was late; a
  ``success`` it did get ends its retries, so that reply is then never seen);
* a turn that fails is answered with the engine's ``unavailable`` notice, never run again;
* no reply ``Content`` exceeds 2047 UTF-8 bytes: longer text is cut, and the rest is
  sent when the user replies ``0``;
* error responses carry a short status text, never a traceback; logs carry no message
  text, no OpenID (only a hash of it) and no secrets.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.log_ids import user_ref as _user_ref  # OpenIDs: long enough for a plain hash
from bot.channels.wechat_crypto import CryptoError, WeChatCipher, sign, signature_matches
from bot.channels.wechat_format import MAX_CONTENT_BYTES, format_turn, split_content
from bot.channels.wechat_xml import (
    XmlError,
    encrypted_reply_xml,
    parse_fields,
    strip_illegal_xml_chars,
    text_reply_xml,
)
from bot.dialogue import Engine
from bot.messages import Command, Locale, Turn
from bot.settings import Settings
from bot.state import StateStore

__all__ = [
    "SUCCESS",
    "InboundMessage",
    "MessageError",
    "WeChatChannel",
    "WeChatConfigError",
    "parse_message",
    "wechat_routes",
]

log = logging.getLogger(__name__)

SUCCESS = "success"
"""The body that tells WeChat no reply is due (and stops its retries)."""

CONTINUE_COMMANDS = frozenset({"0", "０"})
"""What a user sends to get the rest of a reply that was cut."""


class WeChatConfigError(ValueError):
    """The WECHAT_* settings cannot work (raised when the routes are built)."""


class MessageError(ValueError):
    """A decrypted, verified body that is not a usable WeChat message (missing field)."""


@dataclass(frozen=True)
class InboundMessage:
    """The parts of a WeChat push the channel uses."""

    to_user: str  # the Official Account's original id (gh_…)
    from_user: str  # the sender's OpenID
    create_time: int
    msg_type: str
    msg_id: str | None = None
    content: str | None = None  # text messages
    recognition: str | None = None  # voice messages, when speech recognition is on
    event: str | None = None  # event pushes

    @property
    def dedup_token(self) -> str:
        """Identifies this push across WeChat's retries."""
        if self.msg_id:
            return f"wechat:msg:{self.to_user}:{self.msg_id}"
        kind = self.event or self.msg_type
        return f"wechat:evt:{self.to_user}:{self.from_user}:{self.create_time}:{kind}"


def parse_message(fields: dict[str, str]) -> InboundMessage:
    """An :class:`InboundMessage` from a push's fields; :class:`MessageError` names the
    first missing or malformed field."""
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(name):
            raise MessageError(f"missing {name}")
    if not fields["CreateTime"].isdigit():
        raise MessageError("CreateTime is not a number")
    msg_type = fields["MsgType"].lower()
    if msg_type == "text" and "Content" not in fields:
        raise MessageError("missing Content")
    if msg_type == "event" and not fields.get("Event"):
        raise MessageError("missing Event")
    return InboundMessage(
        to_user=fields["ToUserName"],
        from_user=fields["FromUserName"],
        create_time=int(fields["CreateTime"]),
        msg_type=msg_type,
        msg_id=fields.get("MsgId") or None,
        content=fields.get("Content"),
        recognition=fields.get("Recognition"),
        event=fields.get("Event"),
    )


def _log(level: int, name: str, /, **fields: object) -> None:
    """One structured log line, ``name key=value …``; the fields are also attached to the
    record as ``record.wechat`` for JSON formatters."""
    rendered = " ".join(f"{key}={value}" for key, value in fields.items())
    log.log(level, "%s %s", name, rendered, extra={"wechat": {"name": name, **fields}})


class WeChatChannel:
    """The webhook's behaviour; :func:`wechat_routes` is the usual way to mount it.

    Keyword options exist for tests and tuning: ``engine_timeout`` (seconds a turn may
    take before the channel answers ``success``), ``retry_wait`` (how long a retry waits
    for the original's reply before it answers ``success``; both stay under WeChat's
    5 s), ``max_body`` (bytes), ``max_clock_skew`` (seconds a POST's timestamp may differ
    from now), ``clock`` (returns Unix time).
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: StateStore,
        *,
        engine_timeout: float = 4.0,
        retry_wait: float = 4.0,
        max_body: int = 64 * 1024,
        max_clock_skew: float = 300.0,
        dedup_ttl: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        token = settings.wechat_token.get_secret_value().strip() if settings.wechat_token else ""
        if not token:
            raise WeChatConfigError("WECHAT_TOKEN is empty: set it to the Token of the server configuration")
        aes_key = settings.wechat_aes_key.get_secret_value().strip() if settings.wechat_aes_key else ""
        app_id = (settings.wechat_app_id or "").strip()
        self._cipher: WeChatCipher | None = None
        if aes_key:
            try:
                self._cipher = WeChatCipher(aes_key, app_id)
            except ValueError as exc:
                raise WeChatConfigError(str(exc)) from None
        self._token = token
        self.engine = engine
        self.store = store
        self.engine_timeout = engine_timeout
        self.retry_wait = retry_wait
        self.max_body = max_body
        self.max_clock_skew = max_clock_skew
        self.dedup_ttl = dedup_ttl
        self.conversation_ttl = max(settings.faqbot_state_idle_minutes, 1.0) * 60
        self.clock = clock
        self._late: set[asyncio.Task[Any]] = set()  # turns that outlived the deadline

    def __repr__(self) -> str:
        return f"WeChatChannel(safe_mode={self.safe_mode})"

    @property
    def safe_mode(self) -> bool:
        """True when an EncodingAESKey is configured (safe or compatible mode)."""
        return self._cipher is not None

    def routes(self) -> list[BaseRoute]:
        """``GET /wechat`` (verification) and ``POST /wechat`` (messages)."""
        return [
            Route("/wechat", self.verify, methods=["GET"], name="wechat_verify"),
            Route("/wechat", self.receive, methods=["POST"], name="wechat_receive"),
        ]

    # ------------------------------------------------------------------ GET

    async def verify(self, request: Request) -> Response:
        """Server verification: echo ``echostr`` when the signature is WeChat's.

        Official Accounts sign ``[token, timestamp, nonce]`` in ``signature`` and expect
        ``echostr`` back verbatim, in every encryption mode. When a ``msg_signature`` over
        an encrypted ``echostr`` is sent instead (the WeCom-style variant), it is checked
        and the decrypted ``echostr`` returned.
        """
        query = request.query_params
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        echostr = query.get("echostr")
        if echostr is None:
            _log(logging.WARNING, "wechat.verify.rejected", reason="missing_echostr")
            return PlainTextResponse("bad request", status_code=400)
        if signature_matches(query.get("signature"), self._token, timestamp, nonce):
            _log(logging.INFO, "wechat.verify.ok", mode="plain")
            return _plain(echostr)
        msg_signature = query.get("msg_signature")
        if self._cipher is not None and signature_matches(msg_signature, self._token, timestamp, nonce, echostr):
            try:
                plain = self._cipher.decrypt(echostr)
            except CryptoError as exc:
                _log(logging.WARNING, "wechat.verify.rejected", reason="decrypt", detail=str(exc))
                return PlainTextResponse("forbidden", status_code=403)
            _log(logging.INFO, "wechat.verify.ok", mode="aes")
            return _plain(plain)
        _log(logging.WARNING, "wechat.verify.rejected", reason="bad_signature")
        return PlainTextResponse("forbidden", status_code=403)

    # ------------------------------------------------------------------ POST

    async def receive(self, request: Request) -> Response:
        """One pushed message or event → a passive reply, ``success``, or an error status."""
        try:
            return await self._receive(request)
        except Exception as exc:  # never a traceback in the response
            _log(logging.ERROR, "wechat.error", error=type(exc).__name__)
            log.debug("wechat.error details", exc_info=True)
            return PlainTextResponse("internal error", status_code=500)

    async def _receive(self, request: Request) -> Response:
        query = request.query_params
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not signature_matches(query.get("signature"), self._token, timestamp, nonce):
            return _rejected(403, "bad_signature")
        if not self._fresh(timestamp):
            return _rejected(403, "stale_timestamp")
        body = await self._read_body(request)
        if body is None:
            return _rejected(413, "body_too_large")
        try:
            outer = parse_fields(body)
        except XmlError as exc:
            return _rejected(400, "bad_xml", detail=str(exc))

        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if encrypted and self._cipher is None:
            if "Encrypt" in outer and "MsgType" not in outer:
                return _rejected(403, "encrypted_but_no_aes_key")
            encrypted = False  # compatible mode without a key: use the plain fields, reply plain
        elif not encrypted and self._cipher is not None:
            # The plain signature does not cover the body: with a key configured, only
            # bodies authenticated by msg_signature are accepted.
            return _rejected(403, "plaintext_in_safe_mode")
        if not encrypted and not await self._first_body_for(timestamp, nonce, body):
            return _rejected(403, "nonce_reused")

        fields = outer
        if encrypted:
            assert self._cipher is not None
            ciphertext = outer.get("Encrypt", "")
            if not ciphertext:
                return _rejected(400, "missing_field", detail="Encrypt")
            if not signature_matches(query.get("msg_signature"), self._token, timestamp, nonce, ciphertext):
                return _rejected(403, "bad_msg_signature")
            try:
                inner = self._cipher.decrypt(ciphertext)
            except CryptoError as exc:
                return _rejected(403, "decrypt", detail=str(exc))
            try:
                fields = parse_fields(inner)
            except XmlError as exc:
                return _rejected(400, "bad_xml", detail=str(exc))
        try:
            message = parse_message(fields)
        except MessageError as exc:
            return _rejected(400, "missing_field", detail=str(exc))

        reply = await self._respond(message)
        if reply == SUCCESS:
            return PlainTextResponse(SUCCESS)
        if encrypted:
            reply = self._encrypt_reply(reply)
        return Response(reply, media_type="application/xml")

    def _fresh(self, timestamp: str) -> bool:
        if not timestamp.isdigit():
            return False
        return abs(self.clock() - int(timestamp)) <= self.max_clock_skew

    async def _first_body_for(self, timestamp: str, nonce: str, body: bytes) -> bool:
        """False when this signed ``(timestamp, nonce)`` already came with another body.

        In plaintext mode the signature covers the timestamp and nonce but not the body,
        so a captured signed URL could carry any body while its timestamp is fresh. The
        first body seen with a pair is kept (its hash) for as long as the pair can pass
        the freshness check, ``2 * max_clock_skew``; the same body again is let through
        (a replay or a retry of one message, which the ``MsgId`` de-duplication answers
        without running it twice), any other body is refused.
        """
        key = f"wechat:nonce:{timestamp}:{nonce}"
        digest = hashlib.sha256(body).hexdigest()
        ttl = 2 * self.max_clock_skew
        if await self.store.claim(key, ttl):
            await self.store.remember(key + ":body", digest, ttl)
            return True
        deadline = time.monotonic() + 1.0  # the first request may be between claim and remember
        while (seen := await self.store.recall(key + ":body")) is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # the first request may run in another worker: no Event to wait on
        return seen == digest

    async def _read_body(self, request: Request) -> bytes | None:
        """The body, or ``None`` when it is larger than ``max_body`` (read no further)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _encrypt_reply(self, reply: str) -> str:
        assert self._cipher is not None
        timestamp = str(int(self.clock()))
        nonce = str(secrets.randbelow(9_000_000_000) + 1_000_000_000)
        encrypt = self._cipher.encrypt(reply)
        signature = sign(self._token, timestamp, nonce, encrypt)
        return encrypted_reply_xml(encrypt=encrypt, signature=signature, timestamp=timestamp, nonce=nonce)

    # ------------------------------------------------------------ answering

    async def _respond(self, message: InboundMessage) -> str:
        """The plaintext reply body for ``message``: computed once, replayed on retries.

        The turn runs as a task of its own that remembers its reply when it ends. When it
        takes longer than ``engine_timeout`` this request is answered ``success`` and
        nothing is remembered yet: the task is not cancelled (that could leave a
        conversation half-updated), and the reply it remembers later is what a retry of
        the same message gets.
        """
        token = message.dedup_token
        reply_token = token + ":reply"
        if not await self.store.claim(token, self.dedup_ttl):
            _log(logging.INFO, "wechat.retry", user=_user_ref(message.from_user), msg_type=message.msg_type)
            return await self._await_original(reply_token)
        task = asyncio.ensure_future(self._complete(message, reply_token))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.engine_timeout)
        except asyncio.TimeoutError:
            _log(
                logging.WARNING,
                "wechat.engine_timeout",
                user=_user_ref(message.from_user),
                msg_type=message.msg_type,
                seconds=self.engine_timeout,
            )
            self._late.add(task)
            task.add_done_callback(self._late_done)
            return SUCCESS

    async def _complete(self, message: InboundMessage, reply_token: str) -> str:
        """Answer ``message`` and remember the reply under ``reply_token`` for retries.

        When answering fails, the engine's ``unavailable`` notice is the reply (and is
        remembered): the turn is never run a second time, since a failed turn may already
        have changed the conversation.
        """
        user = _user_ref(message.from_user)
        started = time.monotonic()
        failed = False
        try:
            reply = await self._answer(message)
        except Exception as exc:
            failed = True
            _log(logging.ERROR, "wechat.answer_failed", user=user, msg_type=message.msg_type, error=type(exc).__name__)
            log.debug("wechat.answer_failed details", exc_info=True)
            reply = await self._failure_reply(message)
        await self.store.remember(reply_token, reply, self.dedup_ttl)
        _log(
            logging.INFO,
            "wechat.reply",
            user=user,
            msg_type=message.msg_type,
            event=(message.event or "-").lower(),
            replied=reply != SUCCESS,
            failed=failed,
            ms=round((time.monotonic() - started) * 1000),
        )
        return reply

    async def _failure_reply(self, message: InboundMessage) -> str:
        """The ``unavailable`` notice, in the user's last language when the store can tell."""
        locale = await self.engine.locale(self._key(message.from_user))  # never raises
        return await self._reply_with(message, self.engine.notice("unavailable", locale), locale, keep_rest=False)

    async def _await_original(self, reply_token: str) -> str:
        """The reply the first delivery produced, once it is there (also when that turn
        outlived the first delivery's deadline); ``success``, not remembered, when it does
        not appear within ``retry_wait``, so that a later retry may still get it."""
        deadline = time.monotonic() + self.retry_wait
        while True:
            reply = await self.store.recall(reply_token)
            if reply is not None:
                return reply
            if time.monotonic() >= deadline:
                _log(logging.WARNING, "wechat.retry_unanswered")
                return SUCCESS
            await asyncio.sleep(0.05)

    async def _answer(self, message: InboundMessage) -> str:
        key = self._key(message.from_user)
        if message.msg_type == "event":
            if (message.event or "").lower() == "subscribe":
                return await self._send_turn(message, await self.engine.handle(key, Command.START))
            return SUCCESS  # unsubscribe, menu clicks, scans…: nothing to say

        text: str | None = None
        if message.msg_type == "text":
            text = message.content
        elif message.msg_type == "voice":
            text = message.recognition
        if text is None or not text.strip():
            locale = await self.engine.locale(key)
            return await self._reply_with(message, self.engine.notice("non_text", locale), locale, keep_rest=False)

        if text.strip() in CONTINUE_COMMANDS:
            rest = await self.store.recall(self._more_key(message.from_user))
            if rest:
                return await self._reply_with(message, rest, await self.engine.locale(key))

        return await self._send_turn(message, await self.engine.handle(key, text))

    def _late_done(self, task: asyncio.Task[Any]) -> None:
        self._late.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the store failed: nothing remembered
            _log(logging.ERROR, "wechat.late_reply_failed", error=type(task.exception()).__name__)

    async def _send_turn(self, message: InboundMessage, turn: Turn) -> str:
        text = format_turn(turn, self.engine.notice("reply_with_number", turn.locale))
        if not text.strip():
            await self.store.remember(self._more_key(message.from_user), "", self.conversation_ttl)
            return SUCCESS
        return await self._reply_with(message, text, turn.locale)

    async def _reply_with(self, message: InboundMessage, text: str, locale: Locale, *, keep_rest: bool = True) -> str:
        """A reply with as much of ``text`` as fits. With ``keep_rest`` the rest (maybe
        none) becomes what ``0`` sends; without, a kept continuation is left alone (for
        notices that interrupt a long answer)."""
        part, rest = split_content(strip_illegal_xml_chars(text), self.engine.notice("more", locale), MAX_CONTENT_BYTES)
        if keep_rest:
            await self.store.remember(self._more_key(message.from_user), rest, self.conversation_ttl)
        return self._reply_xml(message, part)

    def _reply_xml(self, message: InboundMessage, content: str) -> str:
        return text_reply_xml(
            to_user=message.from_user,
            from_user=message.to_user,
            create_time=int(self.clock()),
            content=content,
        )

    @staticmethod
    def _key(open_id: str) -> str:
        return f"wechat:{open_id}"

    @staticmethod
    def _more_key(open_id: str) -> str:
        return f"wechat:more:{open_id}"


def _plain(text: str) -> Response:
    return PlainTextResponse(text, headers={"X-Content-Type-Options": "nosniff"})


def _rejected(status: int, reason: str, **fields: object) -> Response:
    _log(logging.WARNING, "wechat.rejected", status=status, reason=reason, **fields)
    text = {400: "bad request", 403: "forbidden", 413: "payload too large"}.get(status, "error")
    return PlainTextResponse(text, status_code=status)


def wechat_routes(settings: Settings, engine: Engine, store: StateStore) -> list[BaseRoute]:
    """``GET /wechat`` and ``POST /wechat`` for the Official Account configured in
    ``settings``; :class:`WeChatConfigError` (a ``ValueError``) when WECHAT_TOKEN is
    empty, or WECHAT_AES_KEY is set without WECHAT_APP_ID or is not 43 characters."""
    return WeChatChannel(settings, engine, store).routes()

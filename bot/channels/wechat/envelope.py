"""WeChat's envelope: verifying and opening what WeChat sends, before anything reaches the engine.

* ``GET /wechat`` (server verification): the signature over ``[token, timestamp, nonce]``
  and a fresh timestamp; the answer is ``echostr`` (decrypted when it comes encrypted).
* ``POST /wechat``: signature, timestamp window, bounded body, well-formed XML without
  entities, the mode (plaintext / compatible / safe); in safe mode the message signature,
  decryption and the AppID. In plaintext mode, where the signature does not cover the
  body, a signed ``(timestamp, nonce)`` is accepted with one body only.

Numbers from the outside are bounded before they are parsed (a timestamp has at most 10
digits), and nothing here logs a message text, an OpenID or a secret.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.requests import Request

from bot.app import ConfigurationError
from bot.channels.common.crypto import WeChatCipher, signature_matches
from bot.channels.common.webhooks import (
    MAX_BODY_BYTES,
    MAX_CLOCK_SKEW_SECONDS,
    Rejected,
    bounded_body,
    bounded_int,
    check_fresh,
    open_signed,
)
from bot.channels.wechat.xmlcodec import XmlError, parse_fields
from bot.settings import Settings, secret
from bot.state import TokenStore, keys


class WeChatConfigError(ConfigurationError, ValueError):
    """The WECHAT_* settings cannot work (raised when the channel is built)."""


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
    def token(self) -> str:
        """Identifies this push across WeChat's retries (with its sender: MsgIds are per user)."""
        if self.msg_id:
            return keys.wechat_message(self.to_user, self.from_user, self.msg_id)
        return keys.wechat_event(self.to_user, self.from_user, self.create_time, self.event or self.msg_type)


def parse_message(fields: dict[str, str]) -> InboundMessage:
    """An :class:`InboundMessage` from a push's fields; :class:`Rejected` (400) names the
    first missing or malformed field."""
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(name):
            raise Rejected(400, "missing_field", name)
    create_time = bounded_int(fields["CreateTime"])
    if create_time is None:
        raise Rejected(400, "bad_field", "CreateTime")
    msg_type = fields["MsgType"].lower()
    if msg_type == "text" and "Content" not in fields:
        raise Rejected(400, "missing_field", "Content")
    if msg_type == "event" and not fields.get("Event"):
        raise Rejected(400, "missing_field", "Event")
    if len(fields.get("MsgId", "")) > 32:
        raise Rejected(400, "bad_field", "MsgId")
    return InboundMessage(
        to_user=fields["ToUserName"],
        from_user=fields["FromUserName"],
        create_time=create_time,
        msg_type=msg_type,
        msg_id=fields.get("MsgId") or None,
        content=fields.get("Content"),
        recognition=fields.get("Recognition"),
        event=fields.get("Event"),
    )


def wechat_keys(settings: Settings) -> tuple[str, WeChatCipher | None]:
    """The Token and, with an EncodingAESKey, the safe-mode cipher; :class:`WeChatConfigError`
    when WECHAT_TOKEN is empty, or WECHAT_AES_KEY is set without WECHAT_APP_ID or is not 43
    characters (the values themselves never appear in the error)."""
    token = secret(settings.wechat_token)
    if not token:
        raise WeChatConfigError("WECHAT_TOKEN is empty: set it to the Token of the server configuration")
    aes_key = secret(settings.wechat_aes_key)
    if not aes_key:
        return token, None
    app_id = (settings.wechat_app_id or "").strip()
    if not app_id:
        raise WeChatConfigError("WECHAT_APP_ID is required when WECHAT_AES_KEY is set (safe mode)")
    try:
        return token, WeChatCipher(aes_key, app_id)
    except ValueError as exc:
        raise WeChatConfigError(str(exc)) from None


class Envelope:
    """Verification and decryption for one Official Account."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenStore,
        *,
        max_body: int = MAX_BODY_BYTES,
        max_clock_skew: float = MAX_CLOCK_SKEW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token, self.cipher = wechat_keys(settings)
        self.tokens = tokens
        self.max_body = max_body
        self.max_clock_skew = max_clock_skew
        self.clock = clock

    def _fresh(self, timestamp: str) -> None:
        check_fresh(timestamp, self.clock(), self.max_clock_skew)

    def _signed(self, query: QueryParams) -> tuple[str, str]:
        """The query's timestamp and nonce once its signature and freshness are checked."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not signature_matches(query.get("signature"), self.token, timestamp, nonce):
            raise Rejected(403, "bad_signature")
        self._fresh(timestamp)
        return timestamp, nonce

    def echo(self, query: QueryParams) -> tuple[str, str]:
        """Server verification: ``(mode, text to answer)``; :class:`Rejected` otherwise.

        Official Accounts sign ``[token, timestamp, nonce]`` in ``signature`` and expect
        ``echostr`` back verbatim, in every encryption mode. When a ``msg_signature`` over
        an encrypted ``echostr`` is sent instead (the WeCom-style variant), it is checked
        and the decrypted ``echostr`` returned.
        """
        echostr = query.get("echostr")
        if echostr is None:
            raise Rejected(400, "missing_echostr")
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if signature_matches(query.get("signature"), self.token, timestamp, nonce):
            self._fresh(timestamp)
            return "plain", echostr
        if self.cipher is None:
            raise Rejected(403, "bad_signature")
        return "aes", self._open((query.get("msg_signature"), timestamp, nonce), echostr, "bad_signature")

    async def open(self, request: Request) -> tuple[InboundMessage, bool, tuple[str, str, bytes] | None]:
        """The verified message of a POST, whether the reply must be encrypted, and — in
        plaintext mode — the ``(timestamp, nonce, body)`` to :meth:`bind` before answering."""
        query = request.query_params
        timestamp, nonce = self._signed(query)
        body = await bounded_body(request, self.max_body)
        outer = _parse(body)
        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if encrypted and self.cipher is None:
            if "Encrypt" in outer and "MsgType" not in outer:
                raise Rejected(403, "encrypted_but_no_aes_key")
            encrypted = False  # compatible mode without a key: use the plain fields, reply plain
        elif not encrypted and self.cipher is not None:
            # The plain signature does not cover the body: with a key configured, only
            # bodies authenticated by msg_signature are accepted.
            raise Rejected(403, "plaintext_in_safe_mode")
        if not encrypted:
            return parse_message(outer), False, (timestamp, nonce, body)
        return parse_message(_parse(self._decrypt(query, timestamp, nonce, outer))), True, None

    def _decrypt(self, query: QueryParams, timestamp: str, nonce: str, outer: dict[str, str]) -> str:
        ciphertext = outer.get("Encrypt", "")
        if not ciphertext:
            raise Rejected(400, "missing_field", "Encrypt")
        return self._open((query.get("msg_signature"), timestamp, nonce), ciphertext, "bad_msg_signature")

    def _open(self, signed: tuple[str | None, str, str], encrypt: str, bad: str) -> str:
        assert self.cipher is not None
        return open_signed(
            self.token, self.cipher, signed, encrypt, self.clock(), bad=bad, max_skew=self.max_clock_skew
        )

    async def bind(self, timestamp: str, nonce: str, body: bytes) -> None:
        """Refuse a signed ``(timestamp, nonce)`` that already came with another body.

        In plaintext mode the signature covers the timestamp and nonce but not the body, so a
        captured signed URL could carry any body while its timestamp is fresh. The first
        body's hash is kept for as long as the pair can pass the freshness check; the same
        body again is let through (a retry of one message, which the MsgId de-duplication
        answers without running it twice).
        """
        digest = hashlib.sha256(body).hexdigest()
        kept = await self.tokens.first_value(keys.wechat_nonce(timestamp, nonce), digest, 2 * self.max_clock_skew)
        if kept != digest:
            raise Rejected(403, "nonce_reused")


def _parse(body: bytes | str) -> dict[str, str]:
    try:
        return parse_fields(body)
    except XmlError as exc:
        raise Rejected(400, "bad_xml", str(exc)) from None

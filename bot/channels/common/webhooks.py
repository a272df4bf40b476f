"""What the signed webhooks (WeChat, WeCom) share: a refused request with its status and
logged reason, the signed payload opened within the timestamp window, the time left
before a platform's deadline, and an active reply posted to a URL the platform gave.

Numbers from the outside are bounded before they are parsed, and a refusal logs its
reason at most once a minute: anyone can send garbage.
"""

from __future__ import annotations

import logging
import time

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot import metrics
from bot.channels.common.bodies import BodyTooLarge, ClientGone, read_body
from bot.channels.common.crypto import CryptoError, WeChatCipher, signature_matches
from bot.logs import event, event_once_a_minute

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""Largest body a push may have (the platforms' messages are a few KiB)."""
MAX_CLOCK_SKEW_SECONDS = 300.0
"""How far a signed timestamp may be from the server clock."""
ACTIVE_REPLY_SECONDS = 10.0
MAX_DIGITS = 10
"""Unix seconds have 10 digits until the year 2286; anything longer is refused unparsed."""
_STATUS_TEXTS = {400: "bad request", 403: "forbidden", 413: "payload too large"}


class Rejected(Exception):
    """A request that does not verify or parse: its status and a reason for the log line."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.status, self.reason, self.detail = status, reason, detail


async def bounded_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's body, of at most ``limit`` bytes (413), sent whole (400)."""
    try:
        return await read_body(request, limit)
    except BodyTooLarge:
        raise Rejected(413, "body_too_large") from None
    except ClientGone:
        raise Rejected(400, "client_gone") from None


def bounded_int(text: str) -> int | None:
    """``text`` as a non-negative integer of at most :data:`MAX_DIGITS` digits, else ``None``."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS else None


def check_fresh(timestamp: str, now: float, max_skew: float = MAX_CLOCK_SKEW_SECONDS) -> None:
    """:class:`Rejected` (403 ``stale_timestamp``) unless ``timestamp`` (Unix seconds) is
    within ``max_skew`` of ``now``."""
    sent = bounded_int(timestamp)
    if sent is None or abs(now - sent) > max_skew:
        raise Rejected(403, "stale_timestamp")


def open_signed(
    token: str, cipher: WeChatCipher, signed: tuple[str | None, str, str], encrypt: str, now: float, *,
    bad: str = "bad_signature", max_skew: float = MAX_CLOCK_SKEW_SECONDS,
) -> str:  # fmt: skip
    """The message in ``encrypt`` once ``signed`` — ``(msg_signature, timestamp, nonce)`` — is
    found to sign it (403 ``bad``), the timestamp fresh (403), and it decrypts (403 ``decrypt``)."""
    signature, timestamp, nonce = signed
    if not signature_matches(signature, token, timestamp, nonce, encrypt):
        raise Rejected(403, bad)
    check_fresh(timestamp, now, max_skew)
    try:
        return cipher.decrypt(encrypt)
    except CryptoError as exc:
        raise Rejected(403, "decrypt", str(exc)) from None


def refused(rejected: Rejected, channel: str, name: str) -> Response:
    """The response to a :class:`Rejected` request of ``channel`` (its route is ``/<channel>``):
    a short status text, counted, and logged as ``name`` once a minute per reason."""
    fields = {"status": rejected.status, "reason": rejected.reason}
    if rejected.detail:
        fields["detail"] = rejected.detail
    event_once_a_minute(f"{name}:{rejected.reason}", log, logging.WARNING, name, **fields)
    metrics.REQUESTS.labels(f"/{channel}", str(rejected.status)).inc()
    return PlainTextResponse(_STATUS_TEXTS.get(rejected.status, "error"), status_code=rejected.status)


def answered(channel: str, started: float) -> None:
    """Count a request of ``channel`` answered with 200, and its time (``started``: ``time.monotonic``)."""
    metrics.REQUESTS.labels(f"/{channel}", "200").inc()
    metrics.REQUEST_SECONDS.labels(f"/{channel}").observe(time.monotonic() - started)


def left(deadline: float) -> float:
    """Seconds until ``deadline`` (``time.monotonic``), at least a moment, so that a late
    step still gets a try."""
    return max(0.1, deadline - time.monotonic())


async def post_json(url: str, body: str, channel: str, **fields: object) -> None:
    """POST ``body`` (JSON) to ``url``, an active reply; the outcome (HTTP status and the
    platform's ``errcode``) is logged with ``fields``, a failure counted, nothing raised."""
    status, errcode = "-", None
    try:
        async with httpx.AsyncClient(timeout=ACTIVE_REPLY_SECONDS) as client:
            response = await client.post(url, content=body.encode(), headers={"Content-Type": "application/json"})
        status = str(response.status_code)
        errcode = response.json().get("errcode") if "json" in response.headers.get("content-type", "") else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        status = type(exc).__name__
    if status != "200" or errcode not in (None, 0):
        metrics.ERRORS.labels(channel, "active_reply").inc()
    event(log, logging.INFO, f"{channel}.active_reply", status=status, errcode=errcode, **fields)

"""Accepting updates: ``POST /telegram`` (webhook) and the polling loop both end here.

An update is acknowledged only once it is stored in the inbox (the state store), so an
update Telegram got a 200 for survives a crash, a restart or a store failover; when the
store is down or the backlog is full the webhook answers 503 and Telegram re-delivers
later. Updates the bot has nothing to do with (edited messages, group chatter with
auto-answer off…) are acknowledged without being stored.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from telegram import Bot, Update

from bot import metrics
from bot.channels.common.bodies import BodyTooLarge, ClientGone, read_body
from bot.channels.common.dispatch import Dispatcher
from bot.channels.telegram.config import SECRET_HEADER
from bot.channels.telegram.groups import Identity
from bot.channels.telegram.routing import collapse_name, route
from bot.logs import event
from bot.state import Inbox, InboxEntry, InboxLimits, Pushed, keys

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
"""Largest webhook body accepted (Telegram updates are a few KiB)."""
UPDATE_ID_TTL_SECONDS = 24 * 3600
"""How long an update id is remembered (Telegram gives up re-delivering after 24 h)."""
PER_CHAT_BACKLOG = 500
"""Updates waiting in one chat at most; more from a flooding chat are dropped."""
COLLAPSE_SECONDS = 3600
"""The longest a waiting question blocks identical ones (it is freed once answered)."""
MAX_UPDATE_ID = 2**53
_RETRY_AFTER = {"Retry-After": "5"}


class Intake:
    """Routes an update and stores it in its chat's queue."""

    def __init__(self, inbox: Inbox, dispatcher: Dispatcher, *, backlog: int, auto_answer: bool) -> None:
        self.inbox = inbox
        self.dispatcher = dispatcher
        self.auto_answer = auto_answer
        self.limits = InboxLimits(backlog, PER_CHAT_BACKLOG, UPDATE_ID_TTL_SECONDS, COLLAPSE_SECONDS)

    async def accept(self, update: Update, payload: str, me: Identity) -> Pushed | None:
        """Store ``update`` (``payload`` is its JSON) for processing; ``None`` when ignored."""
        routed = route(update, me, auto_answer=self.auto_answer)
        if routed is None:
            metrics.UPDATES.labels("ignored").inc()
            return None
        chat = keys.telegram_chat(routed.chat_id)
        entry = InboxEntry(keys.telegram_update(update.update_id), payload, collapse=collapse_name(update, routed))
        pushed = await self.inbox.push(chat, entry, self.limits)
        metrics.UPDATES.labels(pushed.value).inc()
        if pushed is Pushed.ACCEPTED:
            self.dispatcher.kick(chat)
        elif pushed is Pushed.DUPLICATE:
            event(log, logging.INFO, "telegram.update_duplicate", update_id=update.update_id)
        else:
            event(log, logging.WARNING, "telegram.update_not_queued", update_id=update.update_id, outcome=pushed.value)
        return pushed


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    metrics.REQUESTS.labels("/telegram", str(status)).inc()
    return PlainTextResponse(text, status_code=status, headers=headers)


def parse_update(body: bytes, bot: Bot) -> tuple[Update, str] | None:
    """The update in a webhook body and the body as text, or ``None`` when it is not one
    (invalid UTF-8, malformed JSON of any depth, no integer ``update_id``, fields of the
    wrong type)."""
    try:
        text = body.decode("utf-8")
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        return None
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id <= MAX_UPDATE_ID:
        return None
    try:
        return Update.de_json(data, bot), text
    except Exception:
        return None


async def webhook(request: Request, intake: Intake, bot: Bot, secret: str | None) -> Response:
    """One update: 403 missing or wrong secret, 413 too large, 400 not an update, 503 not
    stored (Telegram re-delivers), 200 stored or ignored (also for a repeated ``update_id``)."""
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not secret or not hmac.compare_digest(given, secret.encode()):
        return _text(403, "forbidden")
    try:
        body = await read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        return _text(413, "request body too large")
    except ClientGone:
        return _text(400, "incomplete body")
    parsed = parse_update(body, bot)
    if parsed is None:
        return _text(400, "not a Telegram update")
    update, payload = parsed
    try:
        pushed = await intake.accept(update, payload, Identity(bot.id, bot.username))
    except Exception as exc:  # the store is down: not acknowledged, Telegram re-delivers
        metrics.ERRORS.labels("telegram", "store_unavailable").inc()
        event(log, logging.ERROR, "telegram.update_not_stored", update_id=update.update_id, error=type(exc).__name__)
        return _text(503, "unavailable", _RETRY_AFTER)
    if pushed is Pushed.FULL:
        return _text(503, "backlog full", _RETRY_AFTER)
    return _text(200, "ok")

"""What a processed update sends, and sending it.

A turn becomes an :class:`Outbox` — messages (with their buttons), a callback answer,
a keyboard to remove — which is saved on the inbox entry before anything is sent (see
:mod:`bot.channels.common.dispatch`). Messages are plain text (no parse mode, so nothing
needs escaping), split at 4096 units, paced by the bot's rate limiter, and retried on
network errors for up to :data:`SEND_RETRY_SECONDS`, so that a short Bot API outage delays
answers instead of losing them. A longer outage keeps the rest of the outbox for later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import metrics
from bot.channels.common.choices import VOTES, choice_data, feedback_data
from bot.channels.common.dispatch import RetryLater
from bot.channels.common.ids import user_ref
from bot.channels.telegram.groups import BUTTON_MEMORY_SECONDS
from bot.channels.telegram.text import split_message
from bot.logs import event
from bot.messages import Turn
from bot.state import TokenStore, keys

log = logging.getLogger(__name__)

T = TypeVar("T")

SEND_RETRY_SECONDS = 30.0
"""How long one Bot API call is retried on network errors before the outbox waits."""
SEND_BACKOFF_SECONDS = 0.5
"""The first pause between retries; it doubles up to :data:`SEND_BACKOFF_MAX_SECONDS`."""
SEND_BACKOFF_MAX_SECONDS = 5.0
OUTAGE_PAUSE_SECONDS = 30.0
"""How long a chat waits after its sends kept failing, before it is tried again."""


@dataclass(frozen=True)
class Send:
    """One message; ``buttons`` are ``(label, data)``, one per row (``one_row``: side by side,
    as the two vote buttons); ``owner`` the conversation the buttons belong to (groups)."""

    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)
    reply_to: int | None = None
    thread: int | None = None
    owner: str | None = None
    one_row: bool = False


@dataclass(frozen=True)
class AnswerQuery:
    """Answer a button press (stops its spinner), with a notice or without."""

    query_id: str
    text: str | None = None


@dataclass(frozen=True)
class DropKeyboard:
    """Remove the buttons of an answered question."""

    message_id: int


Action = Send | AnswerQuery | DropKeyboard
_KINDS: dict[str, type[Send] | type[AnswerQuery] | type[DropKeyboard]] = {
    "send": Send,
    "answer": AnswerQuery,
    "drop": DropKeyboard,
}


@dataclass(frozen=True)
class Outbox:
    """Everything one update sends, in order, to one chat."""

    chat_id: int
    actions: list[Action]

    def dumps(self) -> str:
        kinds = {cls: name for name, cls in _KINDS.items()}
        return json.dumps({"chat": self.chat_id, "actions": [[kinds[type(a)], asdict(a)] for a in self.actions]})

    @classmethod
    def loads(cls, raw: str) -> Outbox:
        data = json.loads(raw)
        actions: list[Action] = []
        for kind, fields in data["actions"]:
            if kind == "send":
                fields["buttons"] = [tuple(button) for button in fields["buttons"]]
            actions.append(_KINDS[kind](**fields))
        return cls(int(data["chat"]), actions)


def turn_messages(
    turn: Turn,
    *,
    reply_to: int | None,
    thread: int | None,
    owner: str | None,
    votes: tuple[str, str] | None = None,
) -> list[Action]:
    """The messages of ``turn``: each reply split to Telegram's size, its choices as buttons
    on its last piece (each button carries ``<prompt_id>:<index>``); an answer from the
    source gets the two vote buttons ``votes`` (👍, 👎 labels) side by side instead."""
    actions: list[Action] = []
    for reply in turn.replies:
        pieces = split_message(reply.text)
        one_row = False
        if reply.choices and reply.prompt_id is not None:
            buttons = [(label, choice_data(reply.prompt_id, index)) for index, label in enumerate(reply.choices)]
        elif reply.feedback is not None and votes is not None:
            buttons = [(label, feedback_data(reply.feedback, vote)) for label, vote in zip(votes, VOTES, strict=True)]
            one_row = True
        else:
            buttons = []
        for number, piece in enumerate(pieces, 1):
            last = number == len(pieces)
            owned = owner if last and buttons and not one_row else None
            actions.append(Send(piece, buttons if last else [], reply_to, thread, owned, one_row and last))
    return actions


class Sender:
    """Delivers outboxes through the bot."""

    def __init__(self, bot: Bot, tokens: TokenStore, log_key: bytes) -> None:
        self.bot = bot
        self.tokens = tokens
        self.log_key = log_key

    async def deliver(self, outbox: Outbox) -> None:
        """Carry out every action in order; :class:`RetryLater` (with what is left) when the
        Bot API stays unreachable or keeps asking to wait."""
        for done, action in enumerate(outbox.actions):
            try:
                await self._act(outbox.chat_id, action)
            except (NetworkError, RetryAfter) as exc:
                if isinstance(exc, BadRequest):
                    raise
                metrics.ERRORS.labels("telegram", "send_postponed").inc()
                rest = Outbox(outbox.chat_id, outbox.actions[done:])
                raise RetryLater(OUTAGE_PAUSE_SECONDS, rest.dumps()) from exc

    async def _act(self, chat_id: int, action: Action) -> None:
        if isinstance(action, Send):
            await self._send(chat_id, action)
        elif isinstance(action, AnswerQuery):
            answer = partial(self.bot.answer_callback_query, action.query_id, action.text)
            await self._quietly(chat_id, "telegram.callback_not_answered", answer)
        else:
            drop = partial(self.bot.edit_message_reply_markup, chat_id=chat_id, message_id=action.message_id)
            await self._quietly(chat_id, "keyboard_not_removed", drop)

    async def _send(self, chat_id: int, send: Send) -> None:
        buttons = [InlineKeyboardButton(label, callback_data=data) for label, data in send.buttons]
        rows = [buttons] if send.one_row else [[button] for button in buttons]
        markup = InlineKeyboardMarkup(rows) if buttons else None
        reply = ReplyParameters(send.reply_to, allow_sending_without_reply=True) if send.reply_to else None
        try:
            sent = await with_retries(
                lambda: self.bot.send_message(
                    chat_id=chat_id,
                    text=send.text,
                    message_thread_id=send.thread,
                    reply_parameters=reply,
                    reply_markup=markup,
                )
            )
        except (BadRequest, Forbidden) as exc:  # blocked, chat gone…: nothing to retry
            metrics.ERRORS.labels("telegram", "send_refused").inc()
            event(log, logging.WARNING, "telegram.send_refused", chat=self._ref(chat_id), error=type(exc).__name__)
            return
        if send.owner is not None:
            await self.tokens.remember(keys.telegram_owner(chat_id, sent.message_id), send.owner, BUTTON_MEMORY_SECONDS)

    async def _quietly(self, chat_id: int, what: str, call: Callable[[], Awaitable[object]]) -> None:
        """Best effort: a callback answered too late or a keyboard already gone is only logged."""
        try:
            await with_retries(call)
        except TelegramError as exc:
            if not isinstance(exc, BadRequest | Forbidden):
                raise
            event(log, logging.INFO, what, chat=self._ref(chat_id), error=type(exc).__name__)

    def _ref(self, chat_id: int) -> str:
        return user_ref(chat_id, self.log_key)  # a private chat's id is the user's


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, retrying network errors (not Telegram's refusals) with backoff
    for up to :data:`SEND_RETRY_SECONDS`. 429 RetryAfter is waited out by the rate limiter;
    BadRequest is a NetworkError subclass in python-telegram-bot but repeating it would not help."""
    deadline = time.monotonic() + SEND_RETRY_SECONDS
    delay = SEND_BACKOFF_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except (BadRequest, Forbidden):
            raise
        except NetworkError as exc:  # includes TimedOut and 5xx answers
            if time.monotonic() + delay > deadline:
                raise
            event(log, logging.WARNING, "telegram.send_retry", attempt=attempt, error=type(exc).__name__, delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, SEND_BACKOFF_MAX_SECONDS)

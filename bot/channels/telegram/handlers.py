"""Processing one accepted update: the flood check, the turn, and what to send back.

Every answer, follow-up question and notice comes from the engine; this module only
decides which engine call an update is and where the replies go (quoting the asker in a
group, in the same forum topic). A turn that fails is answered with the engine's
``unavailable`` notice and never run again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from telegram import Bot, MaybeInaccessibleMessage, Message, Update

from bot.channels.common.choices import parse_choice_data, parse_feedback_data
from bot.channels.common.flood import FloodGuard
from bot.channels.common.turns import Turns
from bot.channels.telegram.groups import Identity, button_owner, confident_enough
from bot.channels.telegram.routing import Action, Route, route
from bot.channels.telegram.sending import AnswerQuery, DropKeyboard, Outbox, Send, Sender, turn_messages
from bot.logs import event
from bot.messages import Turn
from bot.state import Admission, InboxEntry, TokenStore

log = logging.getLogger(__name__)


@dataclass
class TelegramHandler:
    """The dispatcher's :class:`~bot.channels.common.dispatch.EntryHandler` for Telegram."""

    bot: Bot
    turns: Turns
    flood: FloodGuard
    tokens: TokenStore
    sender: Sender
    auto_answer: bool

    @property
    def me(self) -> Identity:
        return Identity(self.bot.id, self.bot.username)

    async def prepare(self, entry: InboxEntry) -> str | None:
        update = Update.de_json(json.loads(entry.payload), self.bot)
        routed = route(update, self.me, auto_answer=self.auto_answer)
        if routed is None:
            return None
        if routed.action is Action.CHOICE:
            actions = await self._choice(update, routed)
        else:
            actions = await self._message(update, routed)
        return Outbox(routed.chat_id, actions).dumps() if actions else None

    async def deliver(self, progress: str) -> None:
        await self.sender.deliver(Outbox.loads(progress))

    async def _message(self, update: Update, routed: Route) -> list[Send | AnswerQuery | DropKeyboard]:
        message = update.message
        assert message is not None
        if routed.action is Action.AUTO and not confident_enough(await self.turns.classify(routed.text)):
            return []  # chatter never reaches the conversations
        target = _Target.answering(message, routed)
        admission = await self.flood.admit(routed.conversation, group=routed.group)
        if admission is not Admission.ALLOWED:
            return [await self._notice("flood", routed, target)] if admission is Admission.REFUSED_NOTIFY else []
        if routed.action is Action.NON_TEXT:
            return [await self._notice("non_text", routed, target)]
        try:
            turn = await self.turns.handle(routed.conversation, routed.message, hint=routed.hint)
        except Exception as exc:
            self.turns.failed(exc, update=update.update_id)
            return [await self._notice("unavailable", routed, target)]
        return target.messages(turn, self._votes(turn))

    async def _choice(self, update: Update, routed: Route) -> list[Send | AnswerQuery | DropKeyboard]:
        """A button: select that choice of the pending question, as typing it would. A button
        of a question no longer open, or of another member's, gets the ``stale_choice`` notice."""
        query = update.callback_query
        assert query is not None
        if (vote := parse_feedback_data(query.data)) is not None:
            return await self._vote(query.id, query.message, routed, *vote)
        question, parsed = query.message, parse_choice_data(query.data)
        if parsed is None or question is None:
            return [
                AnswerQuery(query.id, (await self.turns.notice("stale_choice", routed.conversation, routed.hint))[0])
            ]
        owner = await button_owner(self.tokens, question, self.me)
        if owner is not None and owner != routed.conversation:
            return [
                AnswerQuery(query.id, (await self.turns.notice("stale_choice", routed.conversation, routed.hint))[0])
            ]
        try:
            turn = await self.turns.choose(routed.conversation, *parsed)
        except Exception as exc:
            self.turns.failed(exc, update=update.update_id)
            notice = await self._notice("unavailable", routed, _Target(None, None, None))
            return [AnswerQuery(query.id), notice]
        if turn is None:
            stale = (await self.turns.notice("stale_choice", routed.conversation, routed.hint))[0]
            return [AnswerQuery(query.id, stale), DropKeyboard(question.message_id)]
        target = _Target.answering(question, routed) if isinstance(question, Message) else _Target(None, None, None)
        return [AnswerQuery(query.id), DropKeyboard(question.message_id), *target.messages(turn, self._votes(turn))]

    def _votes(self, turn: Turn) -> tuple[str, str]:
        """The labels of the vote buttons, in the turn's language and script."""
        engine = self.turns.engine
        return engine.notice("feedback_up", turn.locale), engine.notice("feedback_down", turn.locale)

    async def _vote(
        self, query_id: str, answer: MaybeInaccessibleMessage | None, routed: Route, feedback: str, vote: str
    ) -> list[Send | AnswerQuery | DropKeyboard]:
        """👍 or 👎 on an answer: counted only from the member who asked (a vote again changes
        it); the buttons then go, with a short thank-you."""
        counted = await self.turns.feedback(routed.conversation, feedback, "up" if vote == "up" else "down")
        name = "feedback_thanks" if counted else "feedback_not_counted"
        text = (await self.turns.notice(name, routed.conversation, routed.hint))[0]
        if not counted or answer is None:
            return [AnswerQuery(query_id, text)]
        return [AnswerQuery(query_id, text), DropKeyboard(answer.message_id)]

    async def _notice(self, name: str, routed: Route, target: _Target) -> Send:
        text, _ = await self.turns.notice(name, routed.conversation, routed.hint)
        if name == "flood":
            event(log, logging.INFO, "telegram.flood_refused", group=routed.group)
        return Send(text, reply_to=target.reply_to, thread=target.thread)


class _Target:
    """Where replies go: plainly in a private chat; in a group quoting the message they
    answer, in its forum topic, with follow-up buttons owned by the asker."""

    def __init__(self, reply_to: int | None, thread: int | None, owner: str | None) -> None:
        self.reply_to, self.thread, self.owner = reply_to, thread, owner

    @classmethod
    def answering(cls, message: Message, routed: Route) -> _Target:
        if not routed.group:
            return cls(None, None, None)
        thread = message.message_thread_id if message.is_topic_message else None
        return cls(message.message_id, thread, routed.conversation)

    def messages(self, turn: Turn, votes: tuple[str, str]) -> list[Send | AnswerQuery | DropKeyboard]:
        return turn_messages(turn, reply_to=self.reply_to, thread=self.thread, owner=self.owner, votes=votes)

"""What an update asks of the bot, decided once — when it arrives (to queue it or not) and
again when it is processed (what to do).

Only new messages and button presses are handled: edited messages, channel posts, member
updates and the like are ignored on purpose (an edited question is not answered again).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType

from bot.channels.common.text import clean_text
from bot.channels.telegram.groups import Identity, is_reply_to_bot, mentions_of_bot, sender_id
from bot.channels.telegram.text import Span, language_of_code, remove_spans, text_after
from bot.messages import Command, Language
from bot.state import keys

COMMANDS = {"start": Command.START, "help": Command.HELP, "cancel": Command.CANCEL}
"""Telegram's slash commands and the engine's commands they stand for (``/ask`` is a question)."""


class Action(enum.Enum):
    ASK = "ask"
    """A question (or, when empty, the topics)."""
    COMMAND = "command"
    AUTO = "auto"
    """An unaddressed group message: answered only when the engine is sure (auto-answer)."""
    NON_TEXT = "non_text"
    CHOICE = "choice"


@dataclass(frozen=True)
class Route:
    """Where an update goes: the chat whose queue it joins, the member's conversation, what to do."""

    action: Action
    chat_id: int
    conversation: str
    group: bool
    text: str = ""
    command: Command | None = None
    hint: Language = "en"

    @property
    def message(self) -> str | Command:
        """What to hand the engine: the command, the question, or the topics for an empty one."""
        if self.command is not None:
            return self.command
        return self.text or Command.START


def route(update: Update, me: Identity, *, auto_answer: bool) -> Route | None:
    """The :class:`Route` of ``update``, or ``None`` when the bot has nothing to do with it."""
    query = update.callback_query
    if query is not None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        hint = language_of_code(query.from_user.language_code)
        conversation = keys.telegram_conversation(chat_id, query.from_user.id)
        return Route(Action.CHOICE, chat_id, conversation, chat_id != query.from_user.id, hint=hint)
    message = update.message  # not edited_message, channel_post, …
    if message is None:
        return None
    group = message.chat.type != ChatType.PRIVATE
    base = Route(
        Action.ASK,
        message.chat.id,
        keys.telegram_conversation(message.chat.id, sender_id(message)),
        group,
        hint=language_of_code(message.from_user.language_code if message.from_user else None),
    )
    if message.text is None:
        return _non_text(message, base, me)
    return _text(message, message.text, base, me, auto_answer)


def _non_text(message: Message, base: Route, me: Identity) -> Route | None:
    """Stickers, photos, voice…: ask for the question in writing (in a group only when they
    answer the bot). Service messages (members joining…) are ignored."""
    service = message.new_chat_members or message.left_chat_member or message.forum_topic_created
    if service or message.pinned_message is not None or (base.group and not is_reply_to_bot(message, me)):
        return None
    return Route(Action.NON_TEXT, base.chat_id, base.conversation, base.group, hint=base.hint)


def _command(message: Message, text: str, me: Identity) -> tuple[str, Span] | None:
    """The leading ``/command`` (``/command@ThisBot`` too) and its span; ``None`` when the
    message does not start with one or it is addressed to another bot."""
    entity = next((e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None)
    if entity is None:
        return None
    name, _, target = message.parse_entity(entity)[1:].partition("@")
    if target and target.lower() != me.username.lower():
        return ("", Span(0, 0))  # another bot's command
    return name.lower(), Span(entity.offset, entity.length)


def _text(message: Message, text: str, base: Route, me: Identity, auto_answer: bool) -> Route | None:
    def ask(question: str, action: Action = Action.ASK) -> Route:
        return Route(action, base.chat_id, base.conversation, base.group, clean_text(question), hint=base.hint)

    command = _command(message, text, me)
    if command is not None:
        name, span = command
        if name in COMMANDS:
            return Route(Action.COMMAND, base.chat_id, base.conversation, base.group, "", COMMANDS[name], base.hint)
        if name == "ask":
            return ask(text_after(text, span))
        return None if base.group else ask(text)
    if not base.group:
        return ask(text)
    mentions = mentions_of_bot(message, me)
    if mentions:
        return ask(remove_spans(text, mentions))  # "@Bot" alone: the topics
    if is_reply_to_bot(message, me):
        return ask(text)
    return ask(text, Action.AUTO) if auto_answer else None


def collapse_name(update: Update, routed: Route) -> str | None:
    """For a question, the name under which identical questions of the same member collapse
    while it waits; ``None`` for everything else."""
    if routed.action is not Action.ASK or not routed.text or update.message is None:
        return None
    return keys.telegram_asked(routed.chat_id, sender_id(update.message), routed.text)

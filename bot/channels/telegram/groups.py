"""Groups: when the bot is addressed, whose buttons a message carries, auto-answers.

The bot speaks in a group only when addressed — an @mention (removed from the question),
a reply to one of its messages, ``/ask …`` — or, with ``FAQBOT_GROUP_AUTO_ANSWER``, when
the engine is sure a message is one of the FAQ questions. Each member has a conversation
of their own, and only the member who asked may press the buttons of a follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from telegram import MaybeInaccessibleMessage, Message, MessageEntity

from bot.channels.telegram.text import Span
from bot.state import TokenStore, keys

#: Group auto-answer: how sure the engine must be, and intents never worth interrupting for.
#: The matcher's confidences top out around 0.85 for FAQ questions; on
#: tests/data/heldout.jsonl, 0.5 answers about a quarter of the FAQ questions and none
#: wrongly (0.45 already answers one wrongly). Re-check when the matcher is re-tuned.
AUTO_ANSWER_MIN_CONFIDENCE = 0.5
AUTO_ANSWER_SKIPPED_INTENTS = frozenset({"greeting", "thanks", "help"})
#: How long the owner of a group keyboard is remembered.
BUTTON_MEMORY_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Identity:
    """Who the bot is (from getMe)."""

    id: int
    username: str


def sender_id(message: Message) -> int:
    """The member who wrote ``message`` (anonymous admins and channels: their chat)."""
    if message.from_user is not None:
        return message.from_user.id
    if message.sender_chat is not None:
        return message.sender_chat.id
    return message.chat.id


def is_reply_to_bot(message: Message, me: Identity) -> bool:
    """A reply to one of the bot's messages (not a forum topic's implicit reply to its
    opening service message)."""
    replied = message.reply_to_message
    return (
        replied is not None
        and replied.forum_topic_created is None
        and replied.from_user is not None
        and replied.from_user.id == me.id
    )


def mentions_of_bot(message: Message, me: Identity) -> list[Span]:
    """Where ``message`` mentions the bot (``@username`` or a text mention of it)."""
    spans = []
    wanted = f"@{me.username}".lower()
    for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        is_bot = (
            text.lower() == wanted
            if entity.type == MessageEntity.MENTION
            else entity.user is not None and entity.user.id == me.id
        )
        if is_bot:
            spans.append(Span(entity.offset, entity.length))
    return spans


def confident_enough(classified: Mapping[str, object]) -> bool:
    """Whether an unaddressed group message is a FAQ question the engine is sure about,
    judged from :meth:`Engine.classify` (which reads and writes no conversation state)."""
    intent, confidence = classified.get("intent"), classified.get("confidence")
    return (
        isinstance(intent, str)
        and intent not in AUTO_ANSWER_SKIPPED_INTENTS
        and isinstance(confidence, (int, float))
        and confidence >= AUTO_ANSWER_MIN_CONFIDENCE
    )


async def button_owner(tokens: TokenStore, question: MaybeInaccessibleMessage, me: Identity) -> str | None:
    """The conversation a follow-up's buttons belong to: remembered when the bot sent them,
    else the member the bot's question quotes; ``None`` in private chats and when unknown."""
    chat_id = question.chat.id
    owner = await tokens.recall(keys.telegram_owner(chat_id, question.message_id))
    if owner is None and isinstance(question, Message) and question.reply_to_message is not None:
        asker = question.reply_to_message
        if asker.from_user is None or asker.from_user.id != me.id:
            owner = keys.telegram_conversation(chat_id, sender_id(asker))
    return owner

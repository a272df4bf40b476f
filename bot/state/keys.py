"""Every key the bot stores, in one place.

Three layers:

* conversation keys, chosen per channel and passed to the engine (one per person, per
  chat in groups);
* token names, the channels' short-lived values in the :class:`~bot.state.interfaces.TokenStore`
  (and the :class:`~bot.state.interfaces.Inbox`'s entry ids and collapse names);
* the Redis layout (:class:`RedisKeys`): where a backend puts each of them. SQLite keeps
  the same names in its tables (``states``, ``tokens``, ``buckets``, ``inbox``…).

Names never carry message text; where a text must be recognised again (collapsing
identical questions) only a hash of it is used.
"""

from __future__ import annotations

import hashlib
import unicodedata

# -- conversation keys ---------------------------------------------------------------------


def telegram_conversation(chat_id: int, user_id: int) -> str:
    """One conversation per member of each Telegram chat."""
    return f"tg:{chat_id}:{user_id}"


def wechat_conversation(open_id: str) -> str:
    """One conversation per WeChat follower."""
    return f"wechat:{open_id}"


def wecom_conversation(user_id: str, chat_id: str | None) -> str:
    """One conversation per member of each WeCom group (``chat_id``), one per user alone."""
    return f"wecom:{chat_id}:{user_id}" if chat_id else f"wecom:{user_id}"


# -- token names ---------------------------------------------------------------------------


def flood_bucket(conversation: str) -> str:
    """The flood-limit token bucket of one member of one chat."""
    return f"flood:{conversation}"


def telegram_update(update_id: int) -> str:
    """An accepted Telegram update (entry id in the inbox; its re-deliveries are dropped)."""
    return f"telegram:update:{update_id}"


def telegram_chat(chat_id: int) -> str:
    """The inbox queue of a Telegram chat (all its members' updates, in order)."""
    return f"telegram:{chat_id}"


def telegram_owner(chat_id: int, message_id: int) -> str:
    """The conversation whose follow-up buttons a group message carries."""
    return f"telegram:owner:{chat_id}:{message_id}"


def telegram_asked(chat_id: int, user_id: int, text: str) -> str:
    """A question still waiting in the inbox: the same text from the same member collapses
    into it. The text enters only as a hash of its case- and space-folded form."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    digest = hashlib.sha256(f"{chat_id}:{user_id}:{folded}".encode("utf-8", "replace")).hexdigest()[:32]
    return f"telegram:asked:{digest}"


def wechat_message(account: str, open_id: str, msg_id: str) -> str:
    """A WeChat message across WeChat's retries (the sender is part of it: MsgIds are
    only unique per account and user)."""
    return f"wechat:msg:{account}:{open_id}:{msg_id}"


def wechat_event(account: str, open_id: str, create_time: int, event: str) -> str:
    """A WeChat event push (events carry no MsgId)."""
    return f"wechat:evt:{account}:{open_id}:{create_time}:{event}"


def reply_of(message: str) -> str:
    """The reply remembered for a message token, replayed to its retries."""
    return f"{message}:reply"


def wechat_nonce(timestamp: str, nonce: str) -> str:
    """The hash of the one body a signed plaintext-mode (timestamp, nonce) may carry."""
    return f"wechat:nonce:{timestamp}:{nonce}"


def wecom_callback(user_id: str, msgid: str) -> str:
    """A WeCom robot callback across WeCom's re-sends ("开发者需据此进行事件排重")."""
    return f"wecom:msg:{user_id}:{msgid}"


def wecom_stream(stream_id: str) -> str:
    """The finished stream reply WeCom fetches with a stream refresh (流式消息刷新)."""
    return f"wecom:stream:{stream_id}"


def answer_feedback(feedback_id: str) -> str:
    """What a 👍/👎 on one answer needs (its topic, the question, a digest of whose it was)."""
    return f"feedback:{feedback_id}"


def more(conversation: str) -> str:
    """The rest of a reply cut at a platform's size limit (WeChat, WeCom), sent when the
    person replies ``0``."""
    return f"more:{conversation}"


# -- the Redis layout ------------------------------------------------------------------------


class Namespace:
    """Keys under one prefix: ``namespace(name)`` is ``prefix + name``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, name: str) -> str:
        return self.prefix + name


class RedisKeys:
    """Redis key names under one prefix (default ``faqbot:``; one Redis can serve several
    deployments with different prefixes)."""

    def __init__(self, prefix: str = "faqbot:") -> None:
        self.prefix = prefix
        self.state = Namespace(f"{prefix}state:")
        """The conversation state as JSON, expiring after the idle timeout."""
        self.lock_queue = Namespace(f"{prefix}lock:")
        """The tokens waiting for a conversation's lock, the holder first."""
        self.lease = Namespace(f"{prefix}lease:")
        """Alive while the worker of a lock token is; an expired one belonged to a dead worker."""
        self.claim = Namespace(f"{prefix}claim:")
        self.value = Namespace(f"{prefix}value:")
        self.bucket = Namespace(f"{prefix}bucket:")
        self.inbox_queue = Namespace(f"{prefix}inbox:q:")
        """A chat's accepted updates, oldest first."""
        self.inbox_lease = Namespace(f"{prefix}inbox:lease:")
        """The worker draining a chat."""
        self.inbox_ready = f"{prefix}inbox:ready"
        """Sorted set: chat → when it may be taken (now, or when its lease runs out)."""
        self.inbox_size = f"{prefix}inbox:size"
        self.health = f"{prefix}health"
        self.review = f"{prefix}review"
        """The review log: one stream shared by every worker (see :mod:`bot.review.log`)."""

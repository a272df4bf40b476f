"""Conversation state, short-lived tokens and the update inbox, in one backend.

The engine talks to a :class:`StateStore` (its ``get``/``put``/``delete``/``lock``); the
channels use its ``tokens`` (:class:`TokenStore`) and ``inbox`` (:class:`Inbox`). Which
backend is used is a deployment choice (``FAQBOT_STATE_URL``, opened with
:func:`open_store`): memory for tests and the terminal chat, SQLite by default, Redis when
several webhook workers must share everything. ``bot.state.sqlite.SQLiteStore`` and
``bot.state.redis.RedisStore`` are imported on demand, so that a memory-only run does not
load redis-py. Every key is built in :mod:`bot.state.keys`.
"""

from bot.state.base import ConversationState, PendingQuestion, StateStoreError, TopicContext
from bot.state.factory import RedisPool, open_store
from bot.state.interfaces import (
    Admission,
    ConversationStore,
    Inbox,
    InboxEntry,
    InboxLimits,
    Pushed,
    StateStore,
    StoreUnavailable,
    TokenStore,
)
from bot.state.memory import MemoryStore

__all__ = [
    "Admission",
    "ConversationState",
    "ConversationStore",
    "Inbox",
    "InboxEntry",
    "InboxLimits",
    "MemoryStore",
    "PendingQuestion",
    "Pushed",
    "RedisPool",
    "StateStore",
    "StateStoreError",
    "StoreUnavailable",
    "TokenStore",
    "TopicContext",
    "open_store",
]

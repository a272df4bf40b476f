"""Conversation state: what a pending follow-up needs to survive between two messages.

The engine talks to a :class:`StateStore`; which one is used is a deployment choice
(``FAQBOT_STATE_URL``, opened with :func:`open_store`): memory for tests and the
terminal chat, SQLite by default, Redis when several webhook workers must share state.
``bot.state.sqlite.SQLiteStore`` and ``bot.state.redis.RedisStore`` are imported on
demand, so that a memory-only run does not load redis-py.
"""

from bot.state.base import ConversationState, PendingQuestion, StateStore, StateStoreError, TopicContext
from bot.state.factory import open_store
from bot.state.memory import MemoryStore

__all__ = [
    "ConversationState",
    "MemoryStore",
    "PendingQuestion",
    "StateStore",
    "StateStoreError",
    "TopicContext",
    "open_store",
]

"""Conversation state: what a pending follow-up needs to survive between two messages.

The engine talks to a :class:`StateStore`; which one is used is a deployment choice
(``FAQBOT_STATE_URL``): memory for tests and the terminal chat, SQLite by default,
Redis when several webhook workers must share state.
"""

from bot.state.base import ConversationState, PendingQuestion, StateStore
from bot.state.memory import MemoryStore

__all__ = ["ConversationState", "PendingQuestion", "StateStore", "MemoryStore"]

"""The named interfaces of a state backend.

One backend (memory, SQLite, Redis) provides all of them, so that whatever must be shared
between workers lives in one place and one ``FAQBOT_STATE_URL`` configures it:

* :class:`ConversationStore` — the engine's typed conversation state and its per-conversation
  lock (the engine uses ``lock``, ``get``, ``put`` and ``delete``, nothing else);
* :class:`TokenStore` — short-lived, untyped, expiring values the channels keep: "seen this
  update", a reply to replay, the owner of a keyboard, a member's flood bucket;
* :class:`Inbox` — accepted Telegram updates waiting to be processed, one queue per chat.

:class:`StateStore` is what a backend hands out: the conversation store itself (the engine's
``store``) with ``tokens`` and ``inbox`` beside it. A review log (issue 13) belongs here as a
fourth attribute, e.g. a SQLite table or a capped Redis stream. Every key and token name is
built in :mod:`bot.state.keys`.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from bot.state.base import ConversationState


class StoreUnavailable(RuntimeError):
    """The backend does not answer or refuses writes (raised by :meth:`StateStore.check`)."""


class ConversationStore(abc.ABC):
    """Conversation state between messages, keyed by a channel's conversation key."""

    @abc.abstractmethod
    async def get(self, key: str) -> ConversationState | None:
        """The stored state, or ``None``."""

    @abc.abstractmethod
    async def put(self, key: str, state: ConversationState) -> None:
        """Store ``state`` for ``key``, replacing what was there (kept for the idle period)."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Forget ``key`` entirely."""

    @abc.abstractmethod
    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Serialise the turns of one conversation, first come first served; other keys
        proceed in parallel."""


class Admission(enum.Enum):
    """What :meth:`TokenStore.take` decided for one message."""

    ALLOWED = "allowed"
    REFUSED_NOTIFY = "refused_notify"
    """Refused, and the first refusal since the last allowed message: say so once."""
    REFUSED = "refused"
    """Refused again: stay silent."""


class TokenStore(abc.ABC):
    """Expiring tokens and values; every name comes from :mod:`bot.state.keys`."""

    @abc.abstractmethod
    async def claim(self, token: str, ttl_seconds: float) -> bool:
        """True the first time ``token`` is claimed within ``ttl_seconds``, False after
        (de-duplication of re-sent messages; atomic across workers)."""

    @abc.abstractmethod
    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        """Keep ``value`` under ``token`` for ``ttl_seconds``."""

    @abc.abstractmethod
    async def remember_many(self, values: Mapping[str, str | None], ttl_seconds: float) -> None:
        """:meth:`remember` several values in one round trip; a ``None`` value forgets its token."""

    @abc.abstractmethod
    async def recall(self, token: str) -> str | None:
        """What :meth:`remember` kept under ``token``, if it has not expired."""

    @abc.abstractmethod
    async def forget(self, token: str) -> None:
        """Drop the value under ``token`` (no error when there is none)."""

    @abc.abstractmethod
    async def first_value(self, token: str, value: str, ttl_seconds: float) -> str:
        """Keep ``value`` under ``token`` unless a value is kept there already; return the
        value that is kept (``value`` itself for the first caller). Atomic across workers."""

    @abc.abstractmethod
    async def take(self, bucket: str, capacity: int, per_seconds: float) -> Admission:
        """Take one token from the token bucket ``bucket``: it holds at most ``capacity``
        tokens and refills ``capacity`` of them every ``per_seconds``."""


@dataclass(frozen=True)
class InboxEntry:
    """One accepted update: its id, its raw payload, and what processing has saved of it."""

    id: str
    payload: str
    progress: str | None = None
    collapse: str | None = None


@dataclass(frozen=True)
class InboxLimits:
    """Bounds of :meth:`Inbox.push`."""

    capacity: int
    """Updates queued in all chats together; beyond, pushes are refused (``FULL``)."""
    per_chat: int
    """Updates queued in one chat; beyond, the chat's updates are dropped (``CHAT_FULL``)."""
    dedup_seconds: float
    """How long an entry id is remembered after it was pushed (re-deliveries are dropped)."""
    collapse_seconds: float
    """How long a collapse name blocks identical entries at most (it is freed when done)."""


class Pushed(enum.Enum):
    """The outcome of :meth:`Inbox.push`."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    COLLAPSED = "collapsed"
    FULL = "full"
    CHAT_FULL = "chat_full"


class Inbox(abc.ABC):
    """Per-chat queues of accepted updates with leases, shared by every worker.

    A worker ``take``s a chat (a lease: the chat is invisible to other workers until it
    expires or is released), processes its head entry, ``save``s progress, then ``done``
    removes the head and hands over the next one. An entry is removed only once processed,
    so a worker killed mid-way leaves it for the next lease holder: at-least-once delivery,
    in order per chat.
    """

    @abc.abstractmethod
    async def push(self, chat: str, entry: InboxEntry, limits: InboxLimits) -> Pushed:
        """Append ``entry`` to ``chat``'s queue unless its id was pushed before, an entry
        with the same ``collapse`` name is still queued, or a limit is reached."""

    @abc.abstractmethod
    async def take(self, chat: str, owner: str, lease_seconds: float) -> InboxEntry | None:
        """Lease ``chat`` for ``owner`` and return its head; ``None`` when the chat is
        leased by someone else or empty."""

    @abc.abstractmethod
    async def save(self, chat: str, owner: str, entry_id: str, progress: str) -> bool:
        """Record ``progress`` on the head entry ``entry_id``; False when the lease is lost."""

    @abc.abstractmethod
    async def done(self, chat: str, owner: str, entry_id: str, lease_seconds: float) -> InboxEntry | None:
        """Remove the head entry ``entry_id`` and return the next one (lease renewed), or
        ``None`` (lease released) when the queue is empty or the lease was lost."""

    @abc.abstractmethod
    async def extend(self, chat: str, owner: str, lease_seconds: float) -> bool:
        """Renew ``owner``'s lease of ``chat``; False when it is not the holder any more."""

    @abc.abstractmethod
    async def release(self, chat: str, owner: str, delay_seconds: float = 0.0) -> None:
        """Give the lease up; the chat becomes visible again after ``delay_seconds``."""

    @abc.abstractmethod
    async def ready(self, limit: int) -> list[str]:
        """Up to ``limit`` chats with queued entries that nobody holds a lease of."""

    @abc.abstractmethod
    async def backlog(self) -> int:
        """Entries queued in all chats."""


class StateStore(ConversationStore):
    """A backend: the conversation store, with its ``tokens`` and ``inbox`` beside it."""

    tokens: TokenStore
    inbox: Inbox

    @abc.abstractmethod
    async def check(self) -> None:
        """Prove the backend answers and takes writes; :class:`StoreUnavailable` with a
        short reason (no URL, no credentials) otherwise."""

    async def close(self) -> None:
        """Release connections; the memory store has none."""

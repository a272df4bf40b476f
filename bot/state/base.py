"""The store interface and the state it keeps."""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal

from pydantic import BaseModel, Field

PendingKind = Literal["slot", "disambiguation", "menu"]


class StateStoreError(ValueError):
    """A state store URL that cannot be used: malformed, unsupported, or its server silent.

    A ``ValueError`` because it is a configuration mistake the operator must fix, not
    a transient fault to retry. The message is a single line that names the scheme and
    the problem and never contains credentials, so the CLI can print it as is.
    """


class PendingQuestion(BaseModel):
    """A question the bot asked and is waiting to have answered.

    For ``"disambiguation"`` and ``"menu"``, ``values`` are the intent ids the ``choices``
    stand for; a slot question's choices map to the slot's values in the knowledge base.
    """

    kind: PendingKind
    prompt_id: str
    intent: str | None = None
    slot: str | None = None
    choices: list[str] = Field(default_factory=list)
    values: list[str] = Field(default_factory=list)
    reasks: int = 0
    question: str = ""
    """The message that led to this question, normalised and its numbers masked: what the
    review log shows for the answer that follows (a vote on it, a re-ask)."""


class TopicContext(BaseModel):
    """The topic answered last and the details it used, so that an elliptical follow-up
    ("那银行呢", "what about the hospital?") is read against it for a few minutes."""

    intent: str
    slots: dict[str, bool | str | None] = Field(default_factory=dict)
    at: float = Field(default_factory=time.time)


class ConversationState(BaseModel):
    """Everything the dialogue remembers about one conversation, and nothing more.

    It is kept for the idle period after the last message (the store expires it), so
    that the person's language and script, and the pending question, carry over.
    """

    language: Literal["zh", "en"] = "zh"
    script: Literal["hans", "hant", "hk", "tw"] = "hans"
    pending: PendingQuestion | None = None
    slots: dict[str, bool | str | None] = Field(default_factory=dict)
    queue: list[str] = Field(default_factory=list)
    """Further topics the last message asked about, answered once the pending question is."""
    context: TopicContext | None = None
    updated_at: float = Field(default_factory=time.time)


class StateStore(abc.ABC):
    """Where conversation state lives between messages.

    Keys are opaque conversation keys chosen by a channel (e.g. ``tg:<chat>:<user>``).
    """

    @abc.abstractmethod
    async def get(self, key: str) -> ConversationState | None:
        """The stored state, or ``None``."""

    @abc.abstractmethod
    async def put(self, key: str, state: ConversationState) -> None:
        """Store ``state`` for ``key``, replacing what was there."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Forget ``key`` entirely."""

    @abc.abstractmethod
    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Serialise the handling of one conversation; other keys proceed in parallel."""

    @abc.abstractmethod
    async def claim(self, token: str, ttl_seconds: float) -> bool:
        """True the first time ``token`` is claimed within ``ttl_seconds``, False after.

        Channels use it to process a re-sent update (same Telegram ``update_id``,
        same WeChat ``MsgId``) only once.
        """

    @abc.abstractmethod
    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        """Keep ``value`` under ``token`` so a retried request can be answered the same."""

    @abc.abstractmethod
    async def recall(self, token: str) -> str | None:
        """What :meth:`remember` kept under ``token``, if it has not expired."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default store has none."""


class KeyedLocks:
    """One :class:`asyncio.Lock` per key, forgotten as soon as nobody holds or awaits it.

    Every store needs in-process serialisation per conversation (the Redis store adds a
    cross-process lock on top, so that coroutines of one worker queue here in order
    instead of polling Redis). Dropping idle locks keeps memory flat however many
    conversations a long-running worker sees.
    """

    def __init__(self) -> None:
        # key -> (lock, number of holders + waiters)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the lock of ``key`` for the duration of the ``async with`` block."""
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

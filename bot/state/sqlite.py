"""The default store: one SQLite file, so a restarted bot still knows pending follow-ups.

SQLite is a *single-process* store here: the per-conversation lock is an in-process
:class:`asyncio.Lock`, so two workers sharing the file could interleave one
conversation's turns. De-duplication (:meth:`SQLiteStore.claim`) is nevertheless
atomic across processes, being one SQL statement. Several webhook workers need Redis.

All ``sqlite3`` calls run on one dedicated thread that owns the connection: the event
loop never blocks on disk, and no connection is shared between threads.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from bot.state.base import ConversationState, KeyedLocks, StateStore, StateStoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS states (
    key        TEXT PRIMARY KEY,
    json       TEXT NOT NULL,
    updated_at REAL NOT NULL              -- unix time of the last put
);
CREATE INDEX IF NOT EXISTS states_updated_at ON states (updated_at);
CREATE TABLE IF NOT EXISTS tokens (
    kind       TEXT NOT NULL,             -- 'claim' (claim) or 'value' (remember)
    token      TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at REAL NOT NULL,             -- unix time
    PRIMARY KEY (kind, token)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokens_expires_at ON tokens (expires_at);
"""

# Claim: insert, or take over a row whose claim has expired; rowcount tells which.
_CLAIM = """
INSERT INTO tokens (kind, token, value, expires_at) VALUES ('claim', ?, '1', ?)
ON CONFLICT (kind, token) DO UPDATE SET expires_at = excluded.expires_at
WHERE tokens.expires_at <= ?
"""


class SQLiteStore(StateStore):
    """Conversation state in one SQLite file (WAL, every write committed at once).

    Use :meth:`open`, which creates the file and its parent folders and reports an
    unusable path as :class:`StateStoreError` at start-up rather than at the first message.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        idle_ttl_seconds: float = 1800.0,
        purge_interval_seconds: float = 60.0,
    ) -> None:
        """Prefer :meth:`open`; this does not touch the disk yet.

        ``idle_ttl_seconds``: a state not written for that long is gone (the Redis
        store's TTL, the same here so that switching stores changes nothing).
        ``purge_interval_seconds``: how often a write also deletes expired rows, so
        that the file does not grow forever without paying a DELETE on every write.
        """
        self.path = str(path)
        self.idle_ttl_seconds = idle_ttl_seconds
        self.purge_interval_seconds = purge_interval_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faqbot-sqlite")
        self._conn: sqlite3.Connection | None = None  # touched only on the executor thread
        self._next_purge = 0.0
        self._locks = KeyedLocks()
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        idle_ttl_seconds: float = 1800.0,
        purge_interval_seconds: float = 60.0,
    ) -> SQLiteStore:
        """A ready store on ``path`` (``":memory:"`` for a throw-away database)."""
        store = cls(path, idle_ttl_seconds=idle_ttl_seconds, purge_interval_seconds=purge_interval_seconds)
        try:
            await store._run(store._connect)
        except (sqlite3.Error, OSError) as exc:
            await store.close()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StateStoreError(f"sqlite state store: cannot open {store.path}: {reason}") from None
        return store

    # -- running on the database thread ------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise RuntimeError("the SQLite state store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def _connect(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit (isolation_level=None): each statement is its own committed
        # transaction, so a put survives a killed process. WAL + synchronous=NORMAL
        # can lose the last commits only on an OS crash or power loss, never on a kill.
        conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._maybe_purge(time.time())

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "SQLiteStore used before open()"
        return self._conn

    def _maybe_purge(self, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + self.purge_interval_seconds
        db = self._db()
        states = db.execute("DELETE FROM states WHERE updated_at <= ?", (now - self.idle_ttl_seconds,)).rowcount
        tokens = db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,)).rowcount
        if states or tokens:
            log.debug("purged %d idle states and %d expired tokens", states, tokens)

    def _get(self, key: str) -> str | None:
        row = (
            self._db()
            .execute(
                "SELECT json FROM states WHERE key = ? AND updated_at > ?",
                (key, time.time() - self.idle_ttl_seconds),
            )
            .fetchone()
        )
        return row[0] if row else None

    def _put(self, key: str, raw: str) -> None:
        now = time.time()
        self._db().execute(
            "INSERT INTO states (key, json, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at",
            (key, raw, now),
        )
        self._maybe_purge(now)

    def _delete(self, key: str) -> None:
        self._db().execute("DELETE FROM states WHERE key = ?", (key,))

    def _claim(self, token: str, ttl_seconds: float) -> bool:
        now = time.time()
        claimed = self._db().execute(_CLAIM, (token, now + ttl_seconds, now)).rowcount == 1
        self._maybe_purge(now)
        return claimed

    def _remember(self, token: str, value: str, ttl_seconds: float) -> None:
        now = time.time()
        self._db().execute(
            "INSERT INTO tokens (kind, token, value, expires_at) VALUES ('value', ?, ?, ?)"
            " ON CONFLICT (kind, token) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            (token, value, now + ttl_seconds),
        )
        self._maybe_purge(now)

    def _recall(self, token: str) -> str | None:
        row = (
            self._db()
            .execute(
                "SELECT value FROM tokens WHERE kind = 'value' AND token = ? AND expires_at > ?",
                (token, time.time()),
            )
            .fetchone()
        )
        return row[0] if row else None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- the StateStore interface ---------------------------------------------------------

    async def get(self, key: str) -> ConversationState | None:
        raw = await self._run(self._get, key)
        return ConversationState.model_validate_json(raw) if raw is not None else None

    async def put(self, key: str, state: ConversationState) -> None:
        await self._run(self._put, key, state.model_dump_json())

    async def delete(self, key: str) -> None:
        await self._run(self._delete, key)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """In-process only: see the module docstring."""
        async with self._locks.hold(key):
            yield

    async def claim(self, token: str, ttl_seconds: float) -> bool:
        return await self._run(self._claim, token, ttl_seconds)

    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        await self._run(self._remember, token, value, ttl_seconds)

    async def recall(self, token: str) -> str | None:
        return await self._run(self._recall, token)

    async def close(self) -> None:
        """Close the connection (after queued writes) and stop the database thread."""
        if self._closed:
            return
        try:
            await self._run(self._close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)

"""The default backend: one SQLite file, so a restarted bot still knows pending follow-ups
and still holds the Telegram updates it acknowledged.

SQLite is a *single-process* backend: the per-conversation lock and the inbox leases are
in-process (leases left by a killed process are cleared on open), so two processes sharing
the file could interleave one conversation's turns. Several webhook workers need Redis.

Where the statements run:

* the short ones (a read, an upsert, a small transaction) run directly on the event loop:
  in WAL mode with ``synchronous=NORMAL`` a commit appends to the log without an fsync,
  tens of microseconds, cheaper than handing the call to a thread. That connection never
  waits for a lock (busy timeout 0) and never checkpoints;
* what may take long runs on one background thread with a connection of its own: a
  statement the loop connection found the file busy for (retried there with a 5 s busy
  timeout), the periodic purge of expired rows with ``incremental_vacuum`` (so the file
  shrinks), and the WAL checkpoints.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from bot.locks import KeyedLocks
from bot.state.base import ConversationState, StateStoreError
from bot.state.interfaces import StateStore, StoreUnavailable
from bot.state.sqlite_tables import SCHEMA, SQLiteInbox, SQLiteTokens, atomic

log = logging.getLogger(__name__)

T = TypeVar("T")
Statement = Callable[[sqlite3.Connection], T]

BUSY_TIMEOUT_SECONDS = 5.0
"""How long the background thread waits for a lock held by another connection."""
CHECKPOINT_EVERY_WRITES = 1000
"""A passive WAL checkpoint is started on the background thread after this many writes."""


_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (sqlite3 names them from Python 3.11 on)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES or "locked" in str(exc)


class SQLiteDatabase:
    """The two connections to one file and where each statement runs (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._memory = path == ":memory:"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faqbot-sqlite")
        self._loop_conn: sqlite3.Connection | None = None
        self._thread_conn: sqlite3.Connection | None = None
        self._writes = 0
        self._background: set[asyncio.Future[object]] = set()
        self.closed = False

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        # Autocommit (isolation_level=None): each statement is its own committed transaction,
        # so a write survives a killed process (WAL + synchronous=NORMAL loses commits only
        # on an OS crash or power loss). check_same_thread=False: each connection is still
        # used by one thread only, but it is created on the thread that opens the store.
        conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_thread_side(self) -> None:
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect(BUSY_TIMEOUT_SECONDS)
        try:
            if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # lets purges give pages back
                conn.execute("VACUUM")  # needed once for a file created without it
            conn.executescript(SCHEMA)
            # Single process: leases of updates left by a killed predecessor are void.
            conn.execute("UPDATE inbox_chats SET owner = NULL, visible_at = 0")
        except BaseException:
            conn.close()
            raise
        self._thread_conn = conn

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open_thread_side)
        if self._memory:
            self._loop_conn = self._thread_conn  # one in-memory database: no second connection
            return
        conn = self._connect(0.0)
        conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run on the thread
        self._loop_conn = conn

    async def on_thread(self, statement: Statement[T]) -> T:
        """Run ``statement`` on the background thread's connection."""
        if self.closed:
            raise StoreUnavailable("the SQLite state store is closed")
        if self._memory and self._loop_conn is not None:
            return statement(self._loop_conn)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: statement(self._require(self._thread_conn)))

    async def run(self, statement: Statement[T], *, writes: bool = False) -> T:
        """Run ``statement`` on the loop's connection, or on the thread when the file is busy."""
        if self.closed:
            raise StoreUnavailable("the SQLite state store is closed")
        try:
            result = statement(self._require(self._loop_conn))
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            result = await self.on_thread(statement)
        if writes:
            self._wrote()
        return result

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % CHECKPOINT_EVERY_WRITES == 0 and not self._memory:
            self.in_background(lambda conn: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())

    def in_background(self, statement: Statement[object]) -> None:
        """Start ``statement`` on the thread without waiting for it (failures are logged)."""
        future = asyncio.ensure_future(self.on_thread(statement))
        self._background.add(future)
        future.add_done_callback(self._background_done)

    def _background_done(self, future: asyncio.Future[object]) -> None:
        self._background.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.warning("sqlite_background_failed error=%s", type(future.exception()).__name__)

    @staticmethod
    def _require(conn: sqlite3.Connection | None) -> sqlite3.Connection:
        if conn is None:
            raise StoreUnavailable("the SQLite state store is not open")
        return conn

    async def close(self) -> None:
        if self.closed:
            return
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        self.closed = True
        loop = asyncio.get_running_loop()
        for conn in {id(c): c for c in (self._loop_conn, self._thread_conn) if c is not None}.values():
            if conn is self._thread_conn and not self._memory:
                await loop.run_in_executor(self._executor, conn.close)
            else:
                conn.close()
        self._executor.shutdown(wait=False)


class SQLiteStore(StateStore):
    """Conversation state, tokens and the update inbox in one SQLite file (WAL).

    Use :meth:`open`, which creates the file and its parent folders and reports an
    unusable path as :class:`StateStoreError` at start-up rather than at the first message.
    """

    def __init__(self, path: str | Path, *, idle_ttl_seconds: float = 1800.0, purge_interval_seconds: float = 60.0):
        """Prefer :meth:`open`; this does not touch the disk yet.

        ``idle_ttl_seconds``: a state not written for that long is gone (the Redis store's
        TTL, the same here so that switching stores changes nothing).
        ``purge_interval_seconds``: how often a write also starts a purge of expired rows.
        """
        self.path = str(path)
        self.idle_ttl_seconds = idle_ttl_seconds
        self.purge_interval_seconds = purge_interval_seconds
        self.db = SQLiteDatabase(self.path)
        self.tokens = SQLiteTokens(self.db)
        self.inbox = SQLiteInbox(self.db)
        self._locks = KeyedLocks()
        self._next_purge = 0.0

    @classmethod
    async def open(
        cls, path: str | Path, *, idle_ttl_seconds: float = 1800.0, purge_interval_seconds: float = 60.0
    ) -> SQLiteStore:
        """A ready store on ``path`` (``":memory:"`` for a throw-away database)."""
        store = cls(path, idle_ttl_seconds=idle_ttl_seconds, purge_interval_seconds=purge_interval_seconds)
        try:
            await store.db.open()
        except (sqlite3.Error, OSError) as exc:
            await store.close()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StateStoreError(f"sqlite state store: cannot open {store.path}: {reason}") from None
        return store

    async def get(self, key: str) -> ConversationState | None:
        oldest = time.time() - self.idle_ttl_seconds
        row = await self.db.run(
            lambda conn: conn.execute(
                "SELECT json FROM states WHERE key = ? AND updated_at > ?", (key, oldest)
            ).fetchone()
        )
        return ConversationState.model_validate_json(row[0]) if row else None

    async def put(self, key: str, state: ConversationState) -> None:
        raw, now = state.model_dump_json(), time.time()
        await self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO states (key, json, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at",
                (key, raw, now),
            ),
            writes=True,
        )
        self._maybe_purge(now)

    async def delete(self, key: str) -> None:
        await self.db.run(lambda conn: conn.execute("DELETE FROM states WHERE key = ?", (key,)), writes=True)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """In-process only: see the module docstring."""
        async with self._locks.hold(key):
            yield

    def _maybe_purge(self, now: float) -> None:
        if now >= self._next_purge:
            self._next_purge = now + self.purge_interval_seconds
            self.db.in_background(self._purge_rows)

    async def purge(self) -> None:
        """Delete expired rows and give their pages back to the file system (also periodic)."""
        await self.db.on_thread(self._purge_rows)

    def _purge_rows(self, conn: sqlite3.Connection) -> None:
        now = time.time()

        def delete(db: sqlite3.Connection) -> int:
            states = db.execute("DELETE FROM states WHERE updated_at <= ?", (now - self.idle_ttl_seconds,)).rowcount
            tokens = db.execute("DELETE FROM tokens WHERE expires_at <= ?", (now,)).rowcount
            return states + tokens

        if atomic(conn, delete):
            conn.executescript("PRAGMA incremental_vacuum;")  # execute() would free a single page
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    async def check(self) -> None:
        """A write: a full disk or a read-only file fails here as it would for a turn."""
        try:
            await self.db.run(
                lambda conn: conn.execute("INSERT OR REPLACE INTO health (id, at) VALUES (1, ?)", (time.time(),)),
                writes=True,
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None

    async def close(self) -> None:
        """Close both connections (after background work) and stop the thread."""
        await self.db.close()

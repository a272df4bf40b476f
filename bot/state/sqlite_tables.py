"""The SQLite backend's tables: schema, short-lived tokens, token buckets and the update inbox.

Statements are plain functions of a connection, run by :class:`bot.state.sqlite.SQLiteDatabase`
on the event loop (or on its thread when the file is busy). On the loop, the statements of
one operation run without yielding, so no other coroutine's come in between; the inbox's,
which must also hold against the thread, are one ``BEGIN IMMEDIATE`` transaction each
(:func:`atomic`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from bot.state.interfaces import Admission, Inbox, InboxEntry, InboxLimits, Pushed, TokenStore
from bot.state.memory import MemoryTokens

if TYPE_CHECKING:
    from bot.state.sqlite import SQLiteDatabase

T = TypeVar("T")

SCHEMA = """
-- No index on the expiry columns: the purge (every minute, on the background thread) scans
-- instead, so that each write of a message touches one B-tree, not two.
DROP INDEX IF EXISTS states_updated_at;
DROP INDEX IF EXISTS tokens_expires_at;
CREATE TABLE IF NOT EXISTS states (
    key        TEXT PRIMARY KEY,
    json       TEXT NOT NULL,
    updated_at REAL NOT NULL              -- unix time of the last put
);
CREATE TABLE IF NOT EXISTS tokens (
    kind       TEXT NOT NULL,             -- 'claim' (claim, inbox ids) or 'value' (remember)
    token      TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at REAL NOT NULL,             -- unix time
    PRIMARY KEY (kind, token)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    chat       TEXT NOT NULL,
    entry_id   TEXT NOT NULL,
    payload    TEXT NOT NULL,
    collapse   TEXT,
    progress   TEXT
);
CREATE INDEX IF NOT EXISTS inbox_chat ON inbox (chat, seq);
CREATE TABLE IF NOT EXISTS inbox_chats (
    chat       TEXT PRIMARY KEY,
    owner      TEXT,                      -- lease holder, NULL when free
    visible_at REAL NOT NULL              -- when another worker may take it
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_chats_visible ON inbox_chats (visible_at);
CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY, at REAL NOT NULL);
"""

# Claim: insert, or take over a row whose claim has expired; rowcount tells which.
_CLAIM = """
INSERT INTO tokens (kind, token, value, expires_at) VALUES ('claim', ?, '1', ?)
ON CONFLICT (kind, token) DO UPDATE SET expires_at = excluded.expires_at WHERE tokens.expires_at <= ?
"""
_REMEMBER = """
INSERT INTO tokens (kind, token, value, expires_at) VALUES ('value', ?, ?, ?)
ON CONFLICT (kind, token) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
"""


def atomic(conn: sqlite3.Connection, statements: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``statements`` in one write transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = statements(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


def _claim(conn: sqlite3.Connection, token: str, ttl_seconds: float) -> bool:
    now = time.time()
    return bool(conn.execute(_CLAIM, (token, now + ttl_seconds, now)).rowcount == 1)


def _claimed(conn: sqlite3.Connection, token: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM tokens WHERE kind = 'claim' AND token = ? AND expires_at > ?", (token, time.time())
    ).fetchone()
    return row is not None


class SQLiteTokens(TokenStore):
    """Tokens in the ``tokens`` table. Flood buckets stay in the process: SQLite serves one
    process, and a bucket is not worth a disk write per message (nor survives a restart
    meaningfully: it refills within a minute)."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self._buckets = MemoryTokens()

    async def claim(self, token: str, ttl_seconds: float) -> bool:
        return await self.db.run(lambda conn: _claim(conn, token, ttl_seconds), writes=True)

    async def remember(self, token: str, value: str, ttl_seconds: float) -> None:
        expires = time.time() + ttl_seconds
        await self.db.run(lambda conn: conn.execute(_REMEMBER, (token, value, expires)), writes=True)

    async def remember_many(self, values: Mapping[str, str | None], ttl_seconds: float) -> None:
        expires = time.time() + ttl_seconds
        kept = [(token, value, expires) for token, value in values.items() if value is not None]
        dropped = [(token,) for token, value in values.items() if value is None]

        def write(conn: sqlite3.Connection) -> None:  # a DELETE that finds nothing writes nothing
            conn.executemany(_REMEMBER, kept)
            conn.executemany("DELETE FROM tokens WHERE kind = 'value' AND token = ?", dropped)

        await self.db.run(lambda conn: atomic(conn, write) if len(kept) > 1 else write(conn), writes=True)

    async def recall(self, token: str) -> str | None:
        row = await self.db.run(
            lambda conn: conn.execute(
                "SELECT value FROM tokens WHERE kind = 'value' AND token = ? AND expires_at > ?", (token, time.time())
            ).fetchone()
        )
        return str(row[0]) if row else None

    async def forget(self, token: str) -> None:
        await self.db.run(
            lambda conn: conn.execute("DELETE FROM tokens WHERE kind = 'value' AND token = ?", (token,)), writes=True
        )

    async def first_value(self, token: str, value: str, ttl_seconds: float) -> str:
        def keep(conn: sqlite3.Connection) -> str:
            now = time.time()
            written = conn.execute(
                "INSERT INTO tokens (kind, token, value, expires_at) VALUES ('value', ?, ?, ?)"
                " ON CONFLICT (kind, token) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
                " WHERE tokens.expires_at <= ?",
                (token, value, now + ttl_seconds, now),
            ).rowcount
            if written == 1:  # inserted, or took over an expired row: ``value`` is the first
                return value
            row = conn.execute("SELECT value FROM tokens WHERE kind = 'value' AND token = ?", (token,)).fetchone()
            return str(row[0])

        return await self.db.run(keep, writes=True)

    async def take(self, bucket: str, capacity: int, per_seconds: float) -> Admission:
        return await self._buckets.take(bucket, capacity, per_seconds)


def _head(conn: sqlite3.Connection, chat: str) -> InboxEntry | None:
    row = conn.execute(
        "SELECT entry_id, payload, progress, collapse FROM inbox WHERE chat = ? ORDER BY seq LIMIT 1", (chat,)
    ).fetchone()
    return InboxEntry(row[0], row[1], row[2], row[3]) if row else None


def _holds(conn: sqlite3.Connection, chat: str, owner: str) -> bool:
    row = conn.execute("SELECT owner, visible_at FROM inbox_chats WHERE chat = ?", (chat,)).fetchone()
    return row is not None and row[0] == owner and row[1] > time.time()


class SQLiteInbox(Inbox):
    """Entries in ``inbox`` (ordered by ``seq``), leases in ``inbox_chats``."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def push(self, chat: str, entry: InboxEntry, limits: InboxLimits) -> Pushed:
        def push(conn: sqlite3.Connection) -> Pushed:
            if _claimed(conn, entry.id):
                return Pushed.DUPLICATE
            if conn.execute("SELECT count(*) FROM inbox").fetchone()[0] >= limits.capacity:
                return Pushed.FULL
            _claim(conn, entry.id, limits.dedup_seconds)
            if entry.collapse is not None and not _claim(conn, entry.collapse, limits.collapse_seconds):
                return Pushed.COLLAPSED
            if conn.execute("SELECT count(*) FROM inbox WHERE chat = ?", (chat,)).fetchone()[0] >= limits.per_chat:
                return Pushed.CHAT_FULL
            conn.execute(
                "INSERT INTO inbox (chat, entry_id, payload, collapse) VALUES (?, ?, ?, ?)",
                (chat, entry.id, entry.payload, entry.collapse),
            )
            conn.execute("INSERT OR IGNORE INTO inbox_chats (chat, owner, visible_at) VALUES (?, NULL, 0)", (chat,))
            return Pushed.ACCEPTED

        return await self.db.run(lambda conn: atomic(conn, push), writes=True)

    async def take(self, chat: str, owner: str, lease_seconds: float) -> InboxEntry | None:
        def take(conn: sqlite3.Connection) -> InboxEntry | None:
            now = time.time()
            row = conn.execute("SELECT owner, visible_at FROM inbox_chats WHERE chat = ?", (chat,)).fetchone()
            if row is None or (row[0] != owner and row[1] > now):
                return None
            head = _head(conn, chat)
            if head is None:
                conn.execute("DELETE FROM inbox_chats WHERE chat = ?", (chat,))
                return None
            conn.execute(
                "UPDATE inbox_chats SET owner = ?, visible_at = ? WHERE chat = ?", (owner, now + lease_seconds, chat)
            )
            return head

        return await self.db.run(take, writes=True)

    async def save(self, chat: str, owner: str, entry_id: str, progress: str) -> bool:
        def save(conn: sqlite3.Connection) -> bool:
            head = _head(conn, chat)
            if not _holds(conn, chat, owner) or head is None or head.id != entry_id:
                return False
            conn.execute("UPDATE inbox SET progress = ? WHERE chat = ? AND entry_id = ?", (progress, chat, entry_id))
            return True

        return await self.db.run(lambda conn: atomic(conn, save), writes=True)

    async def done(self, chat: str, owner: str, entry_id: str, lease_seconds: float) -> InboxEntry | None:
        def done(conn: sqlite3.Connection) -> InboxEntry | None:
            if not _holds(conn, chat, owner):
                return None
            head = _head(conn, chat)
            if head is not None and head.id == entry_id:
                conn.execute("DELETE FROM inbox WHERE chat = ? AND entry_id = ?", (chat, entry_id))
                if head.collapse is not None:
                    conn.execute("DELETE FROM tokens WHERE kind = 'claim' AND token = ?", (head.collapse,))
                head = _head(conn, chat)
            if head is None:
                conn.execute("DELETE FROM inbox_chats WHERE chat = ?", (chat,))
                return None
            conn.execute("UPDATE inbox_chats SET visible_at = ? WHERE chat = ?", (time.time() + lease_seconds, chat))
            return head

        return await self.db.run(lambda conn: atomic(conn, done), writes=True)

    async def extend(self, chat: str, owner: str, lease_seconds: float) -> bool:
        until = time.time() + lease_seconds
        return await self.db.run(
            lambda conn: (
                conn.execute(
                    "UPDATE inbox_chats SET visible_at = ? WHERE chat = ? AND owner = ? AND visible_at > ?",
                    (until, chat, owner, time.time()),
                ).rowcount
                == 1
            ),
            writes=True,
        )

    async def release(self, chat: str, owner: str, delay_seconds: float = 0.0) -> None:
        at = time.time() + delay_seconds
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE inbox_chats SET owner = NULL, visible_at = ? WHERE chat = ? AND owner = ?", (at, chat, owner)
            ),
            writes=True,
        )

    async def ready(self, limit: int) -> list[str]:
        rows = await self.db.run(
            lambda conn: conn.execute(
                "SELECT chat FROM inbox_chats WHERE visible_at <= ? ORDER BY visible_at LIMIT ?", (time.time(), limit)
            ).fetchall()
        )
        return [str(row[0]) for row in rows]

    async def backlog(self) -> int:
        return int(await self.db.run(lambda conn: conn.execute("SELECT count(*) FROM inbox").fetchone()[0]))

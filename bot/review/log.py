"""Where review entries live: the same backend as the conversation state, expiring by themselves.

* memory (the terminal chat, tests): gone at exit;
* SQLite (the default): a ``review`` table in the state file;
* Redis (several workers): one stream, trimmed by time on every write, so that every
  worker's entries appear in one review.

Entries older than ``FAQBOT_REVIEW_DAYS`` (90 by default) are deleted; ``faqbot review
--purge`` deletes them at once.
"""

from __future__ import annotations

import abc
import time
from typing import TYPE_CHECKING

from bot.review.entry import ReviewEntry
from bot.state import StateStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.state.sqlite import SQLiteDatabase

DAY = 24 * 3600.0


class ReviewLog(abc.ABC):
    """An append-only, expiring log of :class:`ReviewEntry`."""

    def __init__(self, keep_days: float) -> None:
        self.keep_seconds = keep_days * DAY

    @abc.abstractmethod
    async def add(self, entry: ReviewEntry) -> None:
        """Keep ``entry`` (and forget entries past the keeping period)."""

    @abc.abstractmethod
    async def entries(self, since: float | None = None) -> list[ReviewEntry]:
        """Entries at or after ``since`` (Unix time; all when ``None``), oldest first."""

    @abc.abstractmethod
    async def purge(self, before: float | None = None) -> int:
        """Delete entries before ``before`` (all when ``None``); how many went."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryReviewLog(ReviewLog):
    """Entries in a list (lost at exit)."""

    def __init__(self, keep_days: float = 90) -> None:
        super().__init__(keep_days)
        self._entries: list[ReviewEntry] = []

    async def add(self, entry: ReviewEntry) -> None:
        horizon = time.time() - self.keep_seconds
        self._entries = [e for e in self._entries if e.at >= horizon]
        self._entries.append(entry)

    async def entries(self, since: float | None = None) -> list[ReviewEntry]:
        return [e for e in self._entries if since is None or e.at >= since]

    async def purge(self, before: float | None = None) -> int:
        kept = [e for e in self._entries if before is not None and e.at >= before]
        gone = len(self._entries) - len(kept)
        self._entries = kept
        return gone


class SQLiteReviewLog(ReviewLog):
    """A ``review`` table in the state's SQLite file, through the store's own connections
    (statements on the event loop, the file's busy moments on its thread). Entries past the
    keeping period are deleted at most once a minute, in the background."""

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS review (at REAL NOT NULL, entry TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS review_at ON review (at);"
    )
    PURGE_SECONDS = 60.0

    def __init__(self, db: SQLiteDatabase, keep_days: float = 90) -> None:
        super().__init__(keep_days)
        self.db = db
        self._ready = False
        self._next_purge = 0.0

    async def _table(self) -> None:
        if not self._ready:
            await self.db.on_thread(lambda conn: conn.executescript(self._SCHEMA))
            self._ready = True

    async def add(self, entry: ReviewEntry) -> None:
        await self._table()
        row = (entry.at, entry.model_dump_json())
        await self.db.run(lambda conn: conn.execute("INSERT INTO review (at, entry) VALUES (?, ?)", row), writes=True)
        now = time.time()
        if now >= self._next_purge:
            self._next_purge = now + self.PURGE_SECONDS
            horizon = now - self.keep_seconds
            self.db.in_background(lambda conn: conn.execute("DELETE FROM review WHERE at < ?", (horizon,)))

    async def entries(self, since: float | None = None) -> list[ReviewEntry]:
        await self._table()
        horizon = max(since or 0.0, time.time() - self.keep_seconds)
        query = "SELECT entry FROM review WHERE at >= ? ORDER BY at"
        rows = await self.db.run(lambda conn: conn.execute(query, (horizon,)).fetchall())
        return [ReviewEntry.model_validate_json(str(row[0])) for row in rows]

    async def purge(self, before: float | None = None) -> int:
        await self._table()
        bound = before if before is not None else float("inf")
        deleted = await self.db.run(lambda conn: conn.execute("DELETE FROM review WHERE at < ?", (bound,)).rowcount)
        return int(deleted)


class RedisReviewLog(ReviewLog):
    """One Redis stream shared by every worker; entry ids are their times, so trimming by
    ``MINID`` on each write keeps exactly the keeping period. It uses the state store's
    client (and connection pool), which the store closes."""

    def __init__(self, client: Redis, key: str, keep_days: float = 90) -> None:
        super().__init__(keep_days)
        self.redis = client
        self.key = key

    async def add(self, entry: ReviewEntry) -> None:
        horizon = int((time.time() - self.keep_seconds) * 1000)
        await self.redis.xadd(self.key, {"entry": entry.model_dump_json()}, minid=horizon, approximate=False)

    async def entries(self, since: float | None = None) -> list[ReviewEntry]:
        start = str(int(since * 1000)) if since else "-"
        rows = await self.redis.xrange(self.key, min=start, max="+") or []
        return [ReviewEntry.model_validate_json(str(fields["entry"])) for _, fields in rows if fields]

    async def purge(self, before: float | None = None) -> int:
        if before is None:
            count = int(await self.redis.xlen(self.key))
            await self.redis.delete(self.key)
            return count
        return int(await self.redis.xtrim(self.key, minid=int(before * 1000), approximate=False))


def review_log_for(store: StateStore, keep_days: float) -> ReviewLog:
    """The review log in ``store``'s backend: its SQLite file, its Redis (and pool), or memory."""
    from bot.state.redis import RedisStore
    from bot.state.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        return SQLiteReviewLog(store.db, keep_days)
    if isinstance(store, RedisStore):
        return RedisReviewLog(store.redis, store.keys.review, keep_days)
    return MemoryReviewLog(keep_days)

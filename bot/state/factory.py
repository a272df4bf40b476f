"""From ``FAQBOT_STATE_URL`` to an open store, failing at start-up rather than at the first message.

Supported URLs:

* ``memory://`` — in-process, lost on exit (tests, terminal chat);
* ``sqlite:///relative/path.db`` (relative to the working directory) or
  ``sqlite:////absolute/path.db`` — the default, single process;
* ``redis://[user:password@]host[:port][/db]``, ``rediss://…`` (TLS),
  ``unix:///path/to/redis.sock[?db=N]`` — shared by several workers.

Error messages and logs name the scheme, host, port and database but never the
URL itself, which may carry a password.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from bot.state.base import StateStoreError
from bot.state.interfaces import StateStore
from bot.state.memory import MemoryStore

log = logging.getLogger(__name__)

_HINT = "use memory://, sqlite:///path/to/state.db or redis://host:port/db"


@dataclass(frozen=True)
class RedisPool:
    """The Redis connections of one worker: at most ``size``; a command waits up to
    ``wait_seconds`` for a free one (then fails, and the request gets the bot's
    ``unavailable`` answer), and up to ``timeout_seconds`` for Redis's reply."""

    size: int = 32
    wait_seconds: float = 5.0
    timeout_seconds: float = 2.0


async def open_store(
    url: str,
    *,
    idle_ttl_seconds: float = 1800.0,
    key_prefix: str = "faqbot:",
    connect_timeout_seconds: float = 2.0,
    pool: RedisPool | None = None,
) -> StateStore:
    """Open the store ``url`` names; raise :class:`StateStoreError` if it cannot be used.

    ``idle_ttl_seconds`` is the conversation idle timeout: SQLite and Redis forget a
    state not written for that long (memory keeps it; the engine checks ``updated_at``
    anyway). ``key_prefix`` and ``pool`` apply to Redis only, ``connect_timeout_seconds``
    bounds the PING that proves a Redis server answers.
    """
    if idle_ttl_seconds <= 0:
        raise StateStoreError(f"state idle timeout must be positive, not {idle_ttl_seconds!r}")
    url = url.strip()
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep or not scheme:
        raise StateStoreError(f"state store URL has no scheme: {_HINT}")
    if scheme == "memory":
        log.info("conversation state: in memory (lost on exit)")
        return MemoryStore()
    if scheme == "sqlite":
        return await _open_sqlite(url, idle_ttl_seconds)
    if scheme in ("redis", "rediss", "unix"):
        return await _open_redis(
            url, scheme, idle_ttl_seconds, key_prefix, connect_timeout_seconds, pool or RedisPool()
        )
    raise StateStoreError(f"unsupported state store URL scheme {scheme!r}: {_HINT}")


def sqlite_path(url: str) -> str:
    """The file a ``sqlite:`` URL names: three slashes then the path, four for an absolute one."""
    parts = urlsplit(url)
    if parts.netloc:
        raise StateStoreError(
            "sqlite URL must not name a host: use sqlite:///relative/state.db or sqlite:////absolute/state.db"
        )
    if parts.query or parts.fragment:
        raise StateStoreError("sqlite URL takes no ?options or #fragment")
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if not path or path.endswith("/"):
        raise StateStoreError("sqlite URL has no file name: use sqlite:///path/to/state.db")
    return path


async def _open_sqlite(url: str, idle_ttl_seconds: float) -> StateStore:
    from bot.state.sqlite import SQLiteStore

    path = sqlite_path(url)
    store = await SQLiteStore.open(path, idle_ttl_seconds=idle_ttl_seconds)
    log.info("conversation state: SQLite file %s (single process)", path)
    return store


def _redis_location(url: str, scheme: str) -> tuple[str, str | None]:
    """Validate a Redis URL; return where it points (safe to show) and its password, if any.

    redis-py silently ignores some mistakes (a non-numeric database becomes 0), so
    the URL is checked here first.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise StateStoreError(f"{scheme} URL has a port that is not a number between 0 and 65535") from None
    password = unquote(parts.password) if parts.password else None
    if scheme == "unix":
        if not parts.path:
            raise StateStoreError("unix URL has no socket path: use unix:///path/to/redis.sock?db=0")
        dbs = parse_qs(parts.query).get("db", ["0"])
        if not all(db.isdigit() for db in dbs):
            raise StateStoreError("unix URL database (?db=) must be a number")
        return f"unix://{parts.path}?db={dbs[-1]}", password
    if not parts.hostname:
        raise StateStoreError(f"{scheme} URL has no host: use {scheme}://host:6379/0")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise StateStoreError(f"{scheme} URL database (the /path) must be a number such as /0")
    return f"{scheme}://{parts.hostname}:{port or 6379}/{db}", password


def _scrub(text: str, secret: str | None) -> str:
    first = text.splitlines()[0] if text else ""
    return first.replace(secret, "***") if secret else first


async def _open_redis(
    url: str, scheme: str, idle_ttl_seconds: float, key_prefix: str, connect_timeout_seconds: float, pool: RedisPool
) -> StateStore:
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import RedisError

    from bot.state.redis import RedisStore

    where, password = _redis_location(url, scheme)
    try:
        # A blocking pool: past ``size`` commands in flight, a command waits for a free
        # connection instead of failing (redis-py's default pool raises at 100).
        connections = BlockingConnectionPool.from_url(
            url,
            max_connections=pool.size,
            timeout=pool.wait_seconds,
            decode_responses=True,
            socket_connect_timeout=connect_timeout_seconds,
            socket_timeout=pool.timeout_seconds,
            # One quick retry for a dropped connection; redis-py's default (three, backing
            # off up to 10 s) would outlast WeChat's 5-second deadline on a hung server.
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), 1),
        )
        client = Redis.from_pool(connections)
    except ValueError as exc:  # bad query options and the like
        raise StateStoreError(f"{scheme} URL is malformed: {_scrub(str(exc), password)}") from None
    try:
        await asyncio.wait_for(client.ping(), timeout=connect_timeout_seconds)
    except (RedisError, OSError, asyncio.TimeoutError) as exc:
        await client.aclose()
        reason = _scrub(str(exc), password) or "no answer"
        raise StateStoreError(
            f"redis state store at {where} is not answering PING ({type(exc).__name__}: {reason};"
            f" waited up to {connect_timeout_seconds:g} s)"
        ) from None
    log.info("conversation state: Redis at %s, key prefix %r, pool of %d", where, key_prefix, pool.size)
    return RedisStore(client, key_prefix=key_prefix, idle_ttl_seconds=idle_ttl_seconds)

"""``faqbot serve``: uvicorn with the limits a public endpoint needs.

* Every connection must deliver a complete request (headers and body) within
  ``FAQBOT_HTTP_REQUEST_TIMEOUT_SECONDS`` of connecting or of its previous response, and
  idle keep-alive connections close after ``FAQBOT_HTTP_KEEPALIVE_SECONDS``: slow or
  half-sent requests cannot hold sockets for long.
* At most ``FAQBOT_MAX_CONNECTIONS`` connections per worker (and never more than the
  open-file limit allows, with room left for Redis, SQLite and the Bot API): past it, the
  oldest connection without a request in progress makes room, or the new one is closed.
* Running out of file descriptors anyway (``EMFILE`` when accepting) is logged once a
  minute, in one line, instead of a traceback per attempt.
* ``TCP_NODELAY`` on every connection (uvicorn leaves it unset with ``--workers N``:
  https://github.com/Kludex/uvicorn/issues/3149).
* The engine is built once per process: by this process for one worker (before uvicorn
  starts), by each worker for ``--workers N`` (the parent only checks the configuration).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot import metrics
from bot.app import ConfigurationError, open_state, secrets_of
from bot.dialogue import Engine
from bot.logs import configure_logging, event
from bot.settings import Settings
from bot.web import GRACEFUL_REQUESTS_SECONDS, check_settings, create_app

log = logging.getLogger(__name__)

ACCEPT_BACKLOG = 128
"""The listen queue, which is also how many connections asyncio accepts in one go."""
RESERVED_FILES = 2 * ACCEPT_BACKLOG + 64
"""File descriptors kept free of client connections (plus the Redis pool): two batches of
accepts (the connections a batch evicts are closed an iteration later) and the rest —
logs, SQLite, the Bot API."""
ACCEPT_ERROR_LOG_SECONDS = 60.0
_ACCEPT_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class ConnectionGuard:
    """The connections of one worker process, oldest first, and the limits on them."""

    def __init__(self, limit: int, request_timeout: float) -> None:
        self.limit = limit
        self.request_timeout = request_timeout
        self.open: dict[GuardedProtocol, None] = {}

    def admit(self, connection: GuardedProtocol) -> bool:
        """Register ``connection``; at the limit, close the oldest idle one to make room.
        False when every connection is busy (``connection`` is then to be closed)."""
        if len(self.open) >= self.limit:
            idle = next((c for c in self.open if not c.busy), None)
            if idle is None:
                metrics.CONNECTIONS_CLOSED.labels("limit").inc()
                return False
            metrics.CONNECTIONS_CLOSED.labels("evicted").inc()
            self.forget(idle)  # now: its socket closes an iteration later, after more accepts
            idle.close()
        self.open[connection] = None
        return True

    def forget(self, connection: GuardedProtocol) -> None:
        self.open.pop(connection, None)


GUARD = ConnectionGuard(limit=1000, request_timeout=10.0)


def configure_guard(settings: Settings) -> None:
    """Set this process's connection limits from ``settings`` and the open-file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - RESERVED_FILES - settings.faqbot_redis_pool_size if soft != resource.RLIM_INFINITY else sys.maxsize
    GUARD.limit = max(16, min(settings.faqbot_max_connections, room))
    GUARD.request_timeout = settings.faqbot_http_request_timeout_seconds


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with ``TCP_NODELAY``, a request deadline and :data:`GUARD`."""

    _deadline: asyncio.TimerHandle | None = None

    @property
    def busy(self) -> bool:
        """A request is being answered (as opposed to idle or still arriving)."""
        return self.cycle is not None and not self.cycle.response_complete

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]
        if not GUARD.admit(self):
            self.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE):
            self._disarm()  # the whole request is in
        elif self._deadline is None:
            self._arm()  # a new request began on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        GUARD.forget(self)
        super().connection_lost(exc)

    def close(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(GUARD.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.conn.their_state not in (h11.DONE, h11.MUST_CLOSE) and not self.busy:
            metrics.CONNECTIONS_CLOSED.labels("slow_client").inc()
            self.close()


def install_accept_error_throttle(loop: asyncio.AbstractEventLoop) -> None:
    """Log running out of file descriptors once a minute, without a traceback."""
    previous = loop.get_exception_handler()
    last = [-ACCEPT_ERROR_LOG_SECONDS]

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in _ACCEPT_ERRNOS:
            now = time.monotonic()
            if now - last[0] >= ACCEPT_ERROR_LOG_SECONDS:
                last[0] = now
                name = errno.errorcode.get(error.errno or 0, "OSError")
                event(log, logging.ERROR, "http.accept_failed", error=name, next_log_in_seconds=60)
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


async def _preflight(settings: Settings, *, build: bool) -> Engine | None:
    """Check what would fail a worker's start-up, so that it ends ``faqbot serve`` with one
    line instead: the store opens (Redis answers PING), the knowledge base loads. With
    ``build`` the engine is built here, once, and handed to the app."""
    from bot.knowledge import load_knowledge
    from bot.runtime import build_engine

    store = await open_state(settings)
    try:
        if build:
            engine = build_engine(settings, store)
            return engine
        load_knowledge(settings.faqbot_kb_dir)
        return None
    finally:
        await store.close()


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "proxy_headers": True,
        "log_config": None,
        "http": GuardedProtocol,
        "access_log": False,  # its lines carry WeChat's query string: OpenIDs, signatures
        "timeout_keep_alive": settings.faqbot_http_keepalive_seconds,
        "timeout_graceful_shutdown": GRACEFUL_REQUESTS_SECONDS,
        "backlog": ACCEPT_BACKLOG,
        "lifespan": "on",
    }


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> int:
    """``faqbot serve``: run the app under uvicorn until interrupted. Returns the exit code."""
    import uvicorn

    try:
        check_settings(settings)
        if workers > 1 and not settings.faqbot_state_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                "--workers N needs FAQBOT_STATE_URL=redis://…: SQLite and memory state is not shared between processes"
            )
        engine = asyncio.run(_preflight(settings, build=workers == 1))
    except ConfigurationError as exc:
        print(f"faqbot serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.faqbot_log_level, secrets_of(settings))
    configure_guard(settings)
    if workers == 1:
        uvicorn.run(create_app(settings, engine=engine), host=host, port=port, **_uvicorn_options(settings))
        return 0
    folder = tempfile.mkdtemp(prefix="faqbot-metrics-")  # a fresh one each run, as prometheus_client requires
    os.environ[metrics.MULTIPROCESS_ENV] = folder
    try:
        uvicorn.run(
            "bot.web:app_from_env", factory=True, host=host, port=port, workers=workers, **_uvicorn_options(settings)
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0

"""Shared pytest fixtures.

``redis_server`` starts one real ``redis-server`` per test session (loopback only, no
persistence, throw-away directory): the Redis store and the multi-worker tests must
run against the real thing, not a fake whose semantics drift. It is never skipped:
a missing ``redis-server`` fails the run with a message saying what to install.

``make_engine`` is the one way tests get an engine: the knowledge base and matcher are
built once per session and shared; each engine gets the store it is given.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator

import pytest

from bot.dialogue import Engine
from bot.runtime import build_engine
from bot.settings import Settings
from bot.state import MemoryStore, StateStore
from devtools.processes import redis_server_binary, start_redis, stop_process

pytest_plugins = ["tests.fake_telegram"]

MakeEngine = Callable[..., Engine]


@pytest.fixture(scope="session")
def prototype_engine() -> Engine:
    """The engine on the shipped knowledge base, built once (the matcher is slow to build)."""
    return build_engine(Settings(_env_file=None), MemoryStore())  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def make_engine(prototype_engine: Engine) -> MakeEngine:
    """``make_engine(store=None)``: an engine sharing the prototype's knowledge and matcher,
    on ``store`` (a fresh memory store by default)."""

    def make(store: StateStore | None = None) -> Engine:
        engine = copy.copy(prototype_engine)
        engine.store = store or MemoryStore()
        return engine

    return make


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (``redis://127.0.0.1:<port>/0``) of a real redis-server shared by the session.

    Set ``REDIS_SERVER`` to use a binary that is not on ``PATH``.
    """
    binary = redis_server_binary()
    if not binary:
        pytest.fail(
            "redis-server is not on PATH: install it (e.g. `apt-get install redis-server`) "
            "or point REDIS_SERVER at the binary; the Redis store tests need a real server",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("redis")
    started = start_redis(binary, workdir)
    if started is None:
        log = workdir / "redis.log"
        tail = log.read_text(errors="replace")[-500:] if log.exists() else "(no log)"
        pytest.fail(f"redis-server did not answer PING; log tail:\n{tail}", pytrace=False)
    proc, port = started
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis URL, with database 0 emptied first so each test starts clean."""
    import redis

    client = redis.Redis.from_url(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server

"""Shared pytest fixtures.

``compiled_kb`` loads (and compiles, on a cache miss) the project's knowledge base once per
session; ``make_engine`` builds engines on it cheaply, each on the store it is given, with
today fixed by ``clock``; ``kb_dir`` is a private copy of the knowledge base to modify.

``redis_server`` starts one real ``redis-server`` per test session (loopback only, no
persistence, throw-away directory): the Redis store and the multi-worker tests must
run against the real thing, not a fake whose semantics drift. It is never skipped:
a missing ``redis-server`` fails the run with a message saying what to install.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.dialogue import Engine
from bot.knowledge import KnowledgeBase
from bot.settings import PROJECT_ROOT
from bot.state import MemoryStore, StateStore
from bot.understanding.compiled import Compiled, load
from bot.understanding.reading import Reader
from devtools.processes import redis_server_binary, start_redis, stop_process
from tests.support import TODAY

pytest_plugins = ["tests.fake_telegram"]

MakeEngine = Callable[..., Engine]

_CLOCK = [TODAY]
"""What engines made by ``make_engine`` take as today; the ``clock`` fixture resets it."""


@pytest.fixture(scope="session")
def compiled_kb() -> tuple[KnowledgeBase, Compiled]:
    """The project's knowledge base, validated and compiled once (from the cache when it is there)."""
    return load(PROJECT_ROOT)


@pytest.fixture(scope="session")
def kb(compiled_kb: tuple[KnowledgeBase, Compiled]) -> KnowledgeBase:
    return compiled_kb[0]


@pytest.fixture(scope="session")
def reader(compiled_kb: tuple[KnowledgeBase, Compiled]) -> Reader:
    return Reader(*compiled_kb)


@pytest.fixture
def clock() -> Iterator[list[date]]:
    """``clock[0]`` is what engines from ``make_engine`` take as today; a test may move it."""
    _CLOCK[0] = TODAY
    yield _CLOCK
    _CLOCK[0] = TODAY


@pytest.fixture(scope="session")
def make_engine(compiled_kb: tuple[KnowledgeBase, Compiled]) -> MakeEngine:
    """``make_engine(store=None, *, knowledge=None, **options)``: an engine on the compiled
    knowledge base (or on ``knowledge``, a variant of it) and on ``store`` (a fresh memory
    store by default), today from ``clock``; ``options`` go to :class:`Engine`."""

    def make(store: StateStore | None = None, *, knowledge: KnowledgeBase | None = None, **options: Any) -> Engine:
        real, compiled = compiled_kb
        options.setdefault("today", lambda: _CLOCK[0])
        return Engine(knowledge or real, store or MemoryStore(), compiled=compiled, **options)

    return make


@pytest.fixture
def engine(make_engine: MakeEngine, clock: list[date]) -> Engine:
    """An engine with an empty memory store, today fixed at :data:`TODAY` (see ``clock``)."""
    return make_engine()


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A private copy of ``intents/`` and ``responses/`` to modify (validate it with ``load_knowledge``)."""
    for folder in ("intents", "responses"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    return tmp_path


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

"""The state store contract, run against every store, plus what is specific to each.

Memory, SQLite and a real Redis must behave the same for the engine and channels:
the contract tests are parametrised over all three and open them through
``open_store`` so the URL handling is exercised too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.state import ConversationState, MemoryStore, PendingQuestion, StateStore, StateStoreError, open_store
from bot.state.base import KeyedLocks
from bot.state.redis import RedisStore
from bot.state.sqlite import SQLiteStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-pa55"

OpenStore = Callable[..., Awaitable[StateStore]]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    return request.getfixturevalue("redis_url")


@pytest.fixture
async def opener() -> AsyncIterator[OpenStore]:
    """``await opener(url, **kwargs)``: open_store, closing every store at teardown."""
    opened: list[StateStore] = []

    async def _open(url: str, **kwargs: object) -> StateStore:
        store = await open_store(url, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield _open
    for store in opened:
        await store.close()


@pytest.fixture
async def store(store_url: str, opener: OpenStore) -> StateStore:
    return await opener(store_url)


def _child(code: str, *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    """A separate Python process running ``code`` with the project importable."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
    )


async def _bump(store: StateStore, key: str) -> None:
    """One read-modify-write increment under the conversation lock."""
    async with store.lock(key):
        state = await store.get(key) or ConversationState(slots={"n": "0"})
        await asyncio.sleep(0.001)  # a window for a broken lock to let another writer in
        state.slots["n"] = str(int(state.slots["n"]) + 1)
        await store.put(key, state)


# -- contract: every store ---------------------------------------------------------------


async def test_round_trip_keeps_every_field(store: StateStore) -> None:
    state = ConversationState(
        language="en",
        pending=PendingQuestion(
            kind="slot",
            prompt_id="p-1",
            intent="activate_card",
            slot="city",
            choices=["北京", "上海"],
            values=["bj", "sh"],
        ),
        slots={"has_card": True, "city": "北京"},
    )
    await store.put("tg:1:2", state)
    assert await store.get("tg:1:2") == state
    assert await store.get("tg:1:3") is None


async def test_put_replaces_and_delete_forgets(store: StateStore) -> None:
    await store.put("k", ConversationState(language="en"))
    await store.put("k", ConversationState(language="zh"))
    assert (await store.get("k")).language == "zh"  # type: ignore[union-attr]
    await store.delete("k")
    assert await store.get("k") is None
    await store.delete("never-there")  # no error


async def test_claim_once_then_again_after_expiry(store: StateStore) -> None:
    assert await store.claim("tg-update:1", 0.3) is True
    assert await store.claim("tg-update:1", 0.3) is False
    assert await store.claim("tg-update:2", 0.3) is True  # tokens are independent
    await asyncio.sleep(0.4)
    assert await store.claim("tg-update:1", 0.3) is True


async def test_concurrent_claims_have_one_winner(store: StateStore) -> None:
    results = await asyncio.gather(*(store.claim("wx-msg:42", 30) for _ in range(20)))
    assert results.count(True) == 1


async def test_remember_recall_and_expiry(store: StateStore) -> None:
    assert await store.recall("wx:1") is None
    await store.remember("wx:1", "回复 one", 0.3)
    await store.remember("wx:1", "回复 two", 0.3)  # overwrite
    assert await store.recall("wx:1") == "回复 two"
    assert await store.claim("wx:1", 30) is True  # claims and remembered values do not collide
    await asyncio.sleep(0.4)
    assert await store.recall("wx:1") is None


async def test_lock_serialises_concurrent_updates_of_one_key(store: StateStore) -> None:
    await asyncio.gather(*(_bump(store, "k") for _ in range(50)))
    assert (await store.get("k")).slots["n"] == "50"  # type: ignore[union-attr]


async def test_lock_blocks_same_key_but_not_others(store: StateStore) -> None:
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.lock("a"):
            holding.set()
            await release.wait()

    async def take(key: str) -> None:
        async with store.lock(key):
            pass

    held = asyncio.create_task(holder())
    await holding.wait()
    await asyncio.wait_for(take("b"), 2)  # another conversation is not blocked
    waiter = asyncio.create_task(take("a"))
    await asyncio.sleep(0.2)
    assert not waiter.done()  # the same conversation is
    release.set()
    await asyncio.wait_for(waiter, 2)
    await held


async def test_lock_is_released_when_the_body_raises(store: StateStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.lock("k"):
            raise RuntimeError("boom")
    await asyncio.wait_for(_bump(store, "k"), 2)


# -- idle expiry (the persistent stores) ----------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_idle_state_expires(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, opener: OpenStore
) -> None:
    url = f"sqlite:///{tmp_path}/s.db" if backend == "sqlite" else request.getfixturevalue("redis_url")
    store = await opener(url, idle_ttl_seconds=0.3)
    await store.put("k", ConversationState())
    assert await store.get("k") is not None
    await asyncio.sleep(0.4)
    assert await store.get("k") is None


async def test_sqlite_purges_idle_states_and_expired_tokens(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await SQLiteStore.open(path, idle_ttl_seconds=0.2, purge_interval_seconds=0)
    try:
        await store.put("old", ConversationState())
        await store.claim("old-claim", 0.2)
        await store.remember("old-value", "x", 0.2)
        await asyncio.sleep(0.3)
        await store.put("new", ConversationState())  # any write purges (interval 0)
        with sqlite3.connect(path) as db:
            assert [k for (k,) in db.execute("SELECT key FROM states")] == ["new"]
            assert db.execute("SELECT count(*) FROM tokens").fetchone() == (0,)
    finally:
        await store.close()


# -- SQLite specifics ---------------------------------------------------------------------


async def test_sqlite_url_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opener: OpenStore) -> None:
    monkeypatch.chdir(tmp_path)
    relative = await opener("sqlite:///data/nested/state.db")
    assert isinstance(relative, SQLiteStore)
    assert (tmp_path / "data" / "nested" / "state.db").is_file()  # parents created, relative to cwd
    absolute = await opener(f"sqlite:///{tmp_path}/abs/state.db")  # four slashes: absolute
    assert Path(absolute.path).is_absolute() and (tmp_path / "abs" / "state.db").is_file()  # type: ignore[attr-defined]
    with sqlite3.connect(tmp_path / "abs" / "state.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_sqlite_survives_close_and_reopen(tmp_path: Path, opener: OpenStore) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    first = await opener(url)
    await first.put("k", ConversationState(language="en", slots={"city": "上海"}))
    assert await first.claim("update:1", 60)
    await first.remember("msg:1", "reply", 60)
    await first.close()
    second = await opener(url)
    assert (await second.get("k")).slots == {"city": "上海"}  # type: ignore[union-attr]
    assert await second.claim("update:1", 60) is False
    assert await second.recall("msg:1") == "reply"


SQLITE_WRITER = """
import asyncio, sys
from bot.state import ConversationState, open_store

async def main():
    store = await open_store(sys.argv[1])
    await store.put("k", ConversationState(language="en", slots={"n": "7"}))
    assert await store.claim("update:1", 60)
    await store.remember("msg:1", "reply", 60)
    print("written", flush=True)
    await asyncio.sleep(60)  # killed here, store never closed

asyncio.run(main())
"""


async def test_sqlite_survives_sigkill_of_the_writer(tmp_path: Path, opener: OpenStore) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    child = _child(SQLITE_WRITER, url)
    try:
        line = await asyncio.to_thread(child.stdout.readline)  # type: ignore[union-attr]
        assert line.strip() == "written", child.stderr.read() if child.poll() is not None else line  # type: ignore[union-attr]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=5)
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()  # type: ignore[union-attr]
    assert child.returncode == -signal.SIGKILL
    store = await opener(url)
    assert (await store.get("k")).slots == {"n": "7"}  # type: ignore[union-attr]
    assert await store.claim("update:1", 60) is False
    assert await store.recall("msg:1") == "reply"


async def test_sqlite_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a database" * 100)
    for url in (f"sqlite:///{tmp_path}", f"sqlite:///{not_a_db}"):
        with pytest.raises(StateStoreError) as info:
            await open_store(url)
        _assert_one_clean_line(str(info.value), "sqlite")


# -- Redis specifics ----------------------------------------------------------------------


async def test_redis_keys_are_prefixed_and_states_expire(redis_url: str, opener: OpenStore) -> None:
    store = await opener(redis_url, key_prefix="test-prefix:", idle_ttl_seconds=120)
    assert isinstance(store, RedisStore)
    await store.put("k", ConversationState())
    await store.claim("c", 60)
    await store.remember("v", "x", 60)
    keys = sorted(await store.redis.keys("*"))
    assert keys == ["test-prefix:claim:c", "test-prefix:state:k", "test-prefix:value:v"]
    assert 0 < await store.redis.pttl("test-prefix:state:k") <= 120_000


async def test_redis_lock_wait_times_out(redis_url: str) -> None:
    # Two stores behave like two workers: no shared in-process lock.
    worker_a = RedisStore(Redis.from_url(redis_url, decode_responses=True), lock_wait_seconds=0.2)
    worker_b = RedisStore(Redis.from_url(redis_url, decode_responses=True), lock_wait_seconds=0.2)
    try:
        async with worker_a.lock("k"):
            with pytest.raises(TimeoutError):
                async with worker_b.lock("k"):
                    pass
        async with worker_b.lock("k"):  # free again once released
            pass
    finally:
        await worker_a.close()
        await worker_b.close()


async def test_redis_lock_of_a_crashed_holder_expires(redis_url: str, opener: OpenStore) -> None:
    store = await opener(redis_url)
    await store.redis.set("faqbot:lock:k", "dead-worker-token", px=300)  # type: ignore[attr-defined]
    started = time.monotonic()
    async with store.lock("k"):
        pass
    assert 0.2 < time.monotonic() - started < 2


REDIS_INCREMENTER = """
import asyncio, sys
from bot.state import ConversationState, open_store

async def main(url, count):
    store = await open_store(url)
    async def bump():
        async with store.lock("shared"):
            state = await store.get("shared") or ConversationState(slots={"n": "0"})
            await asyncio.sleep(0.002)
            state.slots["n"] = str(int(state.slots["n"]) + 1)
            await store.put("shared", state)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go" so that both processes really compete
    await asyncio.gather(*(bump() for _ in range(count)))
    await store.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_redis_lock_serialises_two_processes(redis_url: str, opener: OpenStore) -> None:
    children = [_child(REDIS_INCREMENTER, redis_url, "25", stdin=subprocess.PIPE) for _ in range(2)]
    try:
        for child in children:
            assert (await asyncio.to_thread(child.stdout.readline)).strip() == "ready"  # type: ignore[union-attr]
        for child in children:
            child.stdin.write("go\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
        for child in children:
            _, err = await asyncio.to_thread(child.communicate, timeout=15)
            assert child.returncode == 0, err
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    store = await opener(redis_url)
    assert (await store.get("shared")).slots["n"] == "50"  # type: ignore[union-attr]


# -- open_store ---------------------------------------------------------------------------


def _assert_one_clean_line(message: str, fragment: str) -> None:
    assert "\n" not in message
    assert "Traceback" not in message
    assert SECRET not in message
    assert fragment in message.lower(), message


async def test_open_store_picks_the_store(tmp_path: Path, redis_url: str, opener: OpenStore) -> None:
    assert isinstance(await opener("memory://"), MemoryStore)
    assert isinstance(await opener(f"sqlite:///{tmp_path}/s.db"), SQLiteStore)
    assert isinstance(await opener("REDIS" + redis_url[len("redis") :]), RedisStore)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "scheme"),
        ("data/state.db", "scheme"),
        ("ftp://example.org/state", "ftp"),
        (f"mysql://bot:{SECRET}@db.example.org/faq", "mysql"),
        ("sqlite://", "sqlite"),
        ("sqlite:///", "sqlite"),
        ("sqlite://somehost/state.db", "sqlite"),
        ("sqlite:///state.db?mode=ro", "sqlite"),
        ("redis://", "host"),
        (f"redis://:{SECRET}@127.0.0.1:notaport/0", "port"),
        (f"redis://:{SECRET}@127.0.0.1:6379/zero", "database"),
        (f"rediss://user:{SECRET}@127.0.0.1:99999/0", "port"),
        ("unix://", "socket path"),
        ("unix:///tmp/redis.sock?db=one", "database"),
    ],
)
async def test_open_store_rejects_malformed_urls(url: str, fragment: str) -> None:
    with pytest.raises(StateStoreError) as info:
        await open_store(url)
    assert isinstance(info.value, ValueError)
    _assert_one_clean_line(str(info.value), fragment)


async def test_open_store_rejects_unreachable_redis(
    unused_tcp_port: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for url, where in [
        (f"redis://:{SECRET}@127.0.0.1:{unused_tcp_port}/0", f"127.0.0.1:{unused_tcp_port}"),
        (f"unix://:{SECRET}@{tmp_path}/no.sock", "no.sock"),
    ]:
        started = time.monotonic()
        with pytest.raises(StateStoreError) as info:
            await open_store(url, connect_timeout_seconds=1)
        assert time.monotonic() - started < 3
        _assert_one_clean_line(str(info.value), where)
        assert "redis" in str(info.value) and "PING" in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
    assert SECRET not in caplog.text


async def test_keyed_locks_forget_idle_keys() -> None:
    locks = KeyedLocks()
    async with locks.hold("a"), locks.hold("b"):
        assert len(locks) == 2
    assert len(locks) == 0


async def test_memory_store_sweeps_expired_tokens() -> None:
    store = MemoryStore()
    for number in range(3000):
        await store.claim(f"old-{number}", ttl_seconds=-1)  # already expired
    await store.claim("fresh", ttl_seconds=60)
    assert len(store._expiring) < 2100  # swept instead of growing without bound
    assert not await store.claim("fresh", ttl_seconds=60)

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

from bot.locks import KeyedLocks
from bot.state import (
    Admission,
    ConversationState,
    InboxEntry,
    InboxLimits,
    MemoryStore,
    PendingQuestion,
    Pushed,
    RedisPool,
    StateStore,
    StateStoreError,
    StoreUnavailable,
    open_store,
)
from bot.state.redis import RedisStore
from bot.state.sqlite import SQLiteStore
from devtools.processes import redis_server_binary, start_redis, stop_process
from tests.conftest import MakeEngine

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
    assert await store.tokens.claim("tg-update:1", 0.3) is True
    assert await store.tokens.claim("tg-update:1", 0.3) is False
    assert await store.tokens.claim("tg-update:2", 0.3) is True  # tokens are independent
    await asyncio.sleep(0.4)
    assert await store.tokens.claim("tg-update:1", 0.3) is True


async def test_concurrent_claims_have_one_winner(store: StateStore) -> None:
    results = await asyncio.gather(*(store.tokens.claim("wx-msg:42", 30) for _ in range(20)))
    assert results.count(True) == 1


async def test_remember_recall_and_expiry(store: StateStore) -> None:
    assert await store.tokens.recall("wx:1") is None
    await store.tokens.remember("wx:1", "回复 one", 0.3)
    await store.tokens.remember("wx:1", "回复 two", 0.3)  # overwrite
    assert await store.tokens.recall("wx:1") == "回复 two"
    assert await store.tokens.claim("wx:1", 30) is True  # claims and remembered values do not collide
    await asyncio.sleep(0.4)
    assert await store.tokens.recall("wx:1") is None


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
        await store.tokens.claim("old-claim", 0.2)
        await store.tokens.remember("old-value", "x", 0.2)
        await asyncio.sleep(0.3)
        await store.put("new", ConversationState())
        await store.purge()  # also started in the background by writes, every purge interval
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
    assert await first.tokens.claim("update:1", 60)
    await first.tokens.remember("msg:1", "reply", 60)
    await first.close()
    second = await opener(url)
    assert (await second.get("k")).slots == {"city": "上海"}  # type: ignore[union-attr]
    assert await second.tokens.claim("update:1", 60) is False
    assert await second.tokens.recall("msg:1") == "reply"


SQLITE_WRITER = """
import asyncio, sys
from bot.state import ConversationState, open_store

async def main():
    store = await open_store(sys.argv[1])
    await store.put("k", ConversationState(language="en", slots={"n": "7"}))
    assert await store.tokens.claim("update:1", 60)
    await store.tokens.remember("msg:1", "reply", 60)
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
    assert await store.tokens.claim("update:1", 60) is False
    assert await store.tokens.recall("msg:1") == "reply"


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
    await store.tokens.claim("c", 60)
    await store.tokens.remember("v", "x", 60)
    await store.tokens.take("b", 3, 60)
    keys = sorted(await store.redis.keys("*"))
    assert keys == ["test-prefix:bucket:b", "test-prefix:claim:c", "test-prefix:state:k", "test-prefix:value:v"]
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
    assert isinstance(store, RedisStore)
    # A dead worker's token whose lease is gone, and one whose lease runs out in 0.3 s.
    await store.redis.rpush("faqbot:lock:k", "long-dead", "dying")
    await store.redis.set("faqbot:lease:dying", "1", px=300)
    started = time.monotonic()
    async with store.lock("k"):
        waited = time.monotonic() - started
    assert 0.2 < waited < 3
    assert await store.redis.llen("faqbot:lock:k") == 0


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
        await store.tokens.claim(f"old-{number}", ttl_seconds=-1)  # already expired
    await store.tokens.claim("fresh", ttl_seconds=60)
    assert len(store.tokens.claims) < 2100  # swept instead of growing without bound
    assert not await store.tokens.claim("fresh", ttl_seconds=60)


# -- tokens: the contract ---------------------------------------------------------------------


async def test_remember_many_and_forget(store: StateStore) -> None:
    await store.tokens.remember_many({"a": "1", "b": "2"}, 60)
    await store.tokens.remember_many({"a": "3", "b": None}, 60)  # None forgets
    assert (await store.tokens.recall("a"), await store.tokens.recall("b")) == ("3", None)
    await store.tokens.forget("a")
    await store.tokens.forget("never-there")
    assert await store.tokens.recall("a") is None


async def test_first_value_keeps_the_first_writer(store: StateStore) -> None:
    kept = await asyncio.gather(*(store.tokens.first_value("nonce", f"body-{n}", 30) for n in range(10)))
    assert len(set(kept)) == 1 and kept[0].startswith("body-")
    assert await store.tokens.first_value("nonce", "another", 30) == kept[0]
    assert await store.tokens.first_value("other", "x", 0.2) == "x"
    await asyncio.sleep(0.3)
    assert await store.tokens.first_value("other", "y", 30) == "y"  # expired: a new first writer


async def test_token_bucket_refuses_past_the_limit_and_says_so_once(store: StateStore) -> None:
    taken = [await store.tokens.take("member", 3, 0.6) for _ in range(6)]
    assert taken == [Admission.ALLOWED] * 3 + [Admission.REFUSED_NOTIFY] + [Admission.REFUSED] * 2
    assert await store.tokens.take("another member", 3, 0.6) is Admission.ALLOWED
    await asyncio.sleep(0.25)  # refills one token every 0.2 s
    assert await store.tokens.take("member", 3, 0.6) is Admission.ALLOWED
    assert await store.tokens.take("member", 3, 0.6) is Admission.REFUSED_NOTIFY  # a new flood, a new notice


async def test_concurrent_takes_never_exceed_the_bucket(store: StateStore) -> None:
    taken = await asyncio.gather(*(store.tokens.take("crowd", 5, 60) for _ in range(40)))
    assert taken.count(Admission.ALLOWED) == 5 and taken.count(Admission.REFUSED_NOTIFY) == 1


# -- the inbox: the contract ------------------------------------------------------------------

LIMITS = InboxLimits(capacity=6, per_chat=4, dedup_seconds=60, collapse_seconds=60)


def entry(number: int, collapse: str | None = None) -> InboxEntry:
    return InboxEntry(f"update:{number}", f'{{"n": {number}, "text": "社保卡"}}', collapse=collapse)


async def test_inbox_keeps_order_and_drops_duplicates(store: StateStore) -> None:
    inbox = store.inbox
    pushed = [await inbox.push("chat-a", entry(n), LIMITS) for n in (1, 2, 1, 3)]
    assert pushed == [Pushed.ACCEPTED, Pushed.ACCEPTED, Pushed.DUPLICATE, Pushed.ACCEPTED]
    assert await inbox.backlog() == 3 and await inbox.ready(10) == ["chat-a"]
    seen = []
    head = await inbox.take("chat-a", "worker-1", 5)
    while head is not None:
        seen.append(head.id)
        head = await inbox.done("chat-a", "worker-1", head.id, 5)
    assert seen == ["update:1", "update:2", "update:3"]
    assert await inbox.backlog() == 0 and await inbox.ready(10) == []
    assert await inbox.push("chat-a", entry(2), LIMITS) is Pushed.DUPLICATE  # processed ids are remembered


async def test_inbox_lease_is_exclusive_until_released_or_expired(store: StateStore) -> None:
    inbox = store.inbox
    await inbox.push("chat-b", entry(10), LIMITS)
    assert (await inbox.take("chat-b", "worker-1", 0.3)) is not None
    assert await inbox.take("chat-b", "worker-2", 0.3) is None and await inbox.ready(10) == []
    assert await inbox.extend("chat-b", "worker-1", 0.3) and not await inbox.extend("chat-b", "worker-2", 0.3)
    await asyncio.sleep(0.4)  # worker-1 died: its lease runs out
    head = await inbox.take("chat-b", "worker-2", 5)
    assert head is not None and head.id == "update:10"
    assert await inbox.done("chat-b", "worker-1", "update:10", 5) is None  # not the holder any more
    await inbox.release("chat-b", "worker-2", delay_seconds=0.3)
    assert await inbox.ready(10) == [] and await inbox.take("chat-b", "worker-3", 5) is None
    await asyncio.sleep(0.4)
    assert await inbox.ready(10) == ["chat-b"]


async def test_inbox_saves_progress_on_the_head(store: StateStore) -> None:
    inbox = store.inbox
    await inbox.push("chat-c", entry(20), LIMITS)
    head = await inbox.take("chat-c", "worker-1", 5)
    assert head is not None and head.progress is None
    assert await inbox.save("chat-c", "worker-1", head.id, '{"sent": 1}')
    assert not await inbox.save("chat-c", "worker-2", head.id, "stolen")
    await inbox.release("chat-c", "worker-1")
    again = await inbox.take("chat-c", "worker-2", 5)
    assert again is not None and again.progress == '{"sent": 1}' and again.payload == head.payload


async def test_inbox_collapses_identical_waiting_questions_and_enforces_limits(store: StateStore) -> None:
    inbox = store.inbox
    assert await inbox.push("chat-d", entry(30, "asked:x"), LIMITS) is Pushed.ACCEPTED
    assert await inbox.push("chat-d", entry(31, "asked:x"), LIMITS) is Pushed.COLLAPSED
    for n in (32, 33, 34):
        assert await inbox.push("chat-d", entry(n), LIMITS) is Pushed.ACCEPTED
    assert await inbox.push("chat-d", entry(35), LIMITS) is Pushed.CHAT_FULL  # 4 per chat
    assert await inbox.push("chat-e", entry(36), LIMITS) is Pushed.ACCEPTED
    assert await inbox.push("chat-e", entry(37), LIMITS) is Pushed.ACCEPTED
    assert await inbox.push("chat-f", entry(38), LIMITS) is Pushed.FULL  # 6 in all
    assert await inbox.push("chat-f", entry(38), LIMITS) is Pushed.FULL  # not claimed: re-delivery is welcome
    head = await inbox.take("chat-d", "worker-1", 5)
    assert head is not None and head.collapse == "asked:x"
    await inbox.done("chat-d", "worker-1", head.id, 5)
    assert await inbox.push("chat-d", entry(39, "asked:x"), LIMITS) is Pushed.ACCEPTED  # answered: asked anew


async def test_check_passes_on_a_working_store(store: StateStore) -> None:
    await store.check()


# -- Redis: round trips, the pool, FIFO order across workers ------------------------------------


class RoundTrips:
    """Counts the commands (or pipelines) redis-py sends: one per round trip."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from redis.asyncio.connection import AbstractConnection

        self.count = 0
        original = AbstractConnection.send_packed_command

        async def counted(connection: AbstractConnection, command: object, check_health: bool = True) -> None:
            self.count += 1
            await original(connection, command, check_health)  # type: ignore[arg-type]

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)


async def test_a_redis_turn_costs_two_round_trips(
    redis_url: str, opener: OpenStore, make_engine: MakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, case 1: an update cost 9-10 store round trips."""
    store = await opener(redis_url)
    engine = make_engine(store)
    await engine.handle("warm-up", "你好")  # scripts loaded, connection open
    trips = RoundTrips(monkeypatch)
    turn = await engine.handle("wechat:o1", "社保卡在哪里激活")
    assert turn.awaiting is not None and trips.count == 2  # lock + state read, state write + unlock
    await engine.handle("wechat:o1", "2")
    assert trips.count == 4
    state = await store.get("wechat:o1")
    assert state is not None and state.pending is None and state.language == "zh"


async def test_the_redis_pool_makes_300_concurrent_turns_wait_instead_of_failing(
    redis_url: str, make_engine: MakeEngine
) -> None:
    """Issue 10, case 1: past 100 in flight, redis-py's default pool raised MaxConnectionsError."""
    store = await open_store(redis_url, pool=RedisPool(size=8, wait_seconds=10))
    try:
        engine = make_engine(store)
        turns = await asyncio.gather(*(engine.handle(f"wechat:pool{n}", "社保卡怎么激活") for n in range(300)))
        assert all(turn.replies for turn in turns)
        pool = store.redis.connection_pool  # type: ignore[attr-defined]
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 8
    finally:
        await store.close()


async def test_redis_lock_is_first_come_first_served_across_workers(redis_url: str) -> None:
    """Issue 10, case 7: with several workers a follow-up could overtake its question."""
    workers = [await open_store(redis_url) for _ in range(3)]
    order: list[int] = []
    holding, release = asyncio.Event(), asyncio.Event()
    try:

        async def turn(number: int) -> None:
            async with workers[number % 3].lock("k"):
                order.append(number)
                if number == 0:
                    holding.set()
                    await release.wait()

        tasks = [asyncio.create_task(turn(0))]
        await holding.wait()
        for number in range(1, 10):  # each waits in line before the next one arrives
            tasks.append(asyncio.create_task(turn(number)))
            await asyncio.sleep(0.03)
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert order == list(range(10))
    finally:
        for store in workers:
            await store.close()


async def test_redis_check_names_the_store_when_it_is_down(tmp_path: Path) -> None:
    binary = redis_server_binary()
    assert binary is not None
    started = start_redis(binary, tmp_path)
    assert started is not None
    process, port = started
    store = await open_store(f"redis://127.0.0.1:{port}/0")
    try:
        await store.check()
        stop_process(process)
        with pytest.raises(StoreUnavailable, match=r"^redis: "):
            await store.check()
    finally:
        stop_process(process)
        await store.close()


# -- SQLite: on the loop, busy files, full disks, shrinking ------------------------------------


async def test_sqlite_waits_for_a_busy_file_on_its_thread(tmp_path: Path, opener: OpenStore) -> None:
    store = await opener(f"sqlite:///{tmp_path}/busy.db")
    other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the file

    async def finish_other() -> None:
        await asyncio.sleep(0.3)
        other.execute("COMMIT")

    committer = asyncio.create_task(finish_other())
    await store.put("k", ConversationState(language="en"))  # the loop's connection would fail at once
    await committer
    other.close()
    assert (await store.get("k")).language == "en"  # type: ignore[union-attr]


SQLITE_FILLER = """
import asyncio, resource, sys
from bot.state import StoreUnavailable, open_store

async def main():
    store = await open_store(sys.argv[1])
    await store.check()
    print("ok before", flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))  # the disk fills up
    try:
        for n in range(1000):
            await store.tokens.remember(f"reply-{n}", "回复" * 300, 60)
    except Exception as exc:
        print("writes fail", type(exc).__name__, flush=True)
    for n in range(3):  # turns keep trying to write, and so does the health check
        try:
            await store.tokens.remember(f"more-{n}", "回复" * 300, 60)
        except Exception:
            pass
        try:
            await store.check()
            print("check passed", flush=True)
        except StoreUnavailable as exc:
            print("check failed:", exc, flush=True)

asyncio.run(main())
"""


async def test_sqlite_check_fails_when_the_disk_is_full(tmp_path: Path) -> None:
    """Issue 10, case 8: /healthz said ok while every write failed on a full disk."""
    child = _child(SQLITE_FILLER, f"sqlite:///{tmp_path}/full.db")
    out, err = await asyncio.to_thread(child.communicate, timeout=60)
    lines = out.splitlines()
    assert lines[:2] == ["ok before", "writes fail OperationalError"], err
    assert any(line.startswith("check failed: sqlite: ") for line in lines[2:]), err


async def test_sqlite_gives_space_back_after_a_purge(tmp_path: Path) -> None:
    """Issue 10, case 13: the SQLite file never shrank."""
    path = tmp_path / "shrink.db"
    store = await SQLiteStore.open(path, purge_interval_seconds=3600)
    try:
        await store.tokens.remember_many({f"reply-{n}": "回复" * 200 for n in range(3000)}, 0.2)
        await store.purge()  # nothing expired yet

        def size() -> int:
            return sum(p.stat().st_size for p in path.parent.glob("shrink.db*") if not p.name.endswith("-shm"))

        before = size()
        await asyncio.sleep(0.3)
        await store.purge()
        assert size() < before / 4
    finally:
        await store.close()

"""Concurrent turns and several webhook workers sharing conversation state.

* Engine level: many simultaneous ``Engine.handle`` calls of one conversation (SQLite;
  Redis with two stores standing for two workers) behave exactly as if they had run
  one after the other, and a slow turn holds up only its own conversation.
* Process level: ``faqbot serve --workers 3`` with Redis, real uvicorn worker processes:
  interleaved WeChat conversations whose messages land on different workers complete
  correctly, and a re-sent WeChat message or Telegram update is answered once. Which
  worker answered a request is read from ``/proc`` (the process holding the server end
  of its TCP connection).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.channels.common.choices import parse_choice_data
from bot.channels.telegram.config import SECRET_HEADER
from bot.dialogue import Engine
from bot.messages import Turn
from bot.state import ConversationState, MemoryStore, StateStore, open_store
from devtools.processes import ServeProcess, connection_owner
from tests.conftest import MakeEngine
from tests.fake_telegram import FakeTelegram
from tests.test_restart import QUESTION, QUESTION_EN, Reference, conversation_key
from tests.test_wechat_peer import TOKEN, Reply, WeChatPeer, message_xml

# ----------------------------------------------------------------------------- engine level

_message = contextvars.ContextVar[int]("message")


@dataclass
class Journal:
    """Who held each conversation lock, in order, and whether two ever held it at once."""

    order: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    inside: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    overlaps: int = 0


class Observed(StateStore):
    """Delegates to a real store; records, under the real lock, which message holds it.

    ``hold`` maps a key to an event that the first ``get`` of that key waits for: a
    turn that is slow while holding its conversation's lock.
    """

    def __init__(self, inner: StateStore, journal: Journal, hold: dict[str, asyncio.Event] | None = None) -> None:
        self.inner = inner
        self.tokens = inner.tokens
        self.inbox = inner.inbox
        self.journal = journal
        self.hold = hold or {}
        self.holding: dict[str, asyncio.Event] = defaultdict(asyncio.Event)  # set once a hold is reached

    async def get(self, key: str) -> ConversationState | None:
        gate = self.hold.pop(key, None)
        if gate is not None:
            self.holding[key].set()
            await gate.wait()
        return await self.inner.get(key)

    async def put(self, key: str, state: ConversationState) -> None:
        await self.inner.put(key, state)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        async with self.inner.lock(key):
            self.journal.inside[key] += 1
            if self.journal.inside[key] > 1:
                self.journal.overlaps += 1
            self.journal.order[key].append(_message.get(-1))
            try:
                yield
            finally:
                self.journal.inside[key] -= 1

    async def check(self) -> None:
        await self.inner.check()


@pytest.fixture(scope="module")
def reference(make_engine: MakeEngine) -> Reference:
    return Reference(make_engine())


@pytest.fixture(params=["sqlite", "redis"])
async def worker_stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[StateStore]]:
    """The stores of two "workers": one shared SQLite store (single process), or two
    Redis stores with their own connections, whose only common lock is Redis's."""
    if request.param == "sqlite":
        store = await open_store(f"sqlite:///{tmp_path}/state.db")
        stores = [store, store]
    else:
        url = request.getfixturevalue("redis_url")
        stores = [await open_store(url), await open_store(url)]
    try:
        yield stores
    finally:
        for store in {id(s): s for s in stores}.values():
            await store.close()


def engines_on(reference: Reference, stores: list[StateStore], journal: Journal, **hold: asyncio.Event) -> list[Engine]:
    """One engine per store, sharing the reference's knowledge base."""
    holds = dict(hold)
    compiled = reference.engine.reader.compiled
    return [Engine(reference.engine.knowledge, Observed(store, journal, holds), compiled=compiled) for store in stores]


def view(turn: Turn) -> tuple[Any, ...]:
    """A turn without its random prompt ids."""
    replies = tuple((reply.text, reply.choices) for reply in turn.replies)
    return (turn.intent, turn.language, replies, turn.awaiting, tuple(sorted(turn.slots.items())))


def state_view(state: ConversationState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    data = state.model_dump(exclude={"updated_at"})
    if data["pending"] is not None:
        data["pending"].pop("prompt_id")
    if data["context"] is not None:
        data["context"].pop("at")  # when the topic was answered: the replay's clock differs
    return data


async def test_concurrent_turns_of_one_conversation_are_serialised(
    worker_stores: list[StateStore], reference: Reference
) -> None:
    journal = Journal()
    engines = engines_on(reference, worker_stores, journal)
    rng = random.Random(20240611)
    vocabulary = [QUESTION, QUESTION_EN, "2", "1", "需要", "怎么激活社保卡", "/cancel", "3"]
    texts = [rng.choice(vocabulary) for _ in range(20)]
    key = "wechat:oConcurrent" + secrets.token_hex(4)

    async def one(index: int) -> Turn:
        _message.set(index)  # each task has its own context
        return await engines[index % len(engines)].handle(key, texts[index])

    turns = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(len(texts)))), 60)

    order = journal.order[key]
    assert sorted(order) == list(range(len(texts)))
    assert journal.overlaps == 0
    # The same messages, one after the other in the order the lock admitted them.
    replay_store = MemoryStore()
    replay = Engine(reference.engine.knowledge, replay_store, compiled=reference.engine.reader.compiled)
    for index in order:
        assert view(turns[index]) == view(await replay.handle(key, texts[index])), (index, texts[index])
    final = await worker_stores[0].get(key)
    assert state_view(final) == state_view(await replay_store.get(key))
    if final is not None and final.pending is not None:  # written by the last turn, not an earlier one
        assert final.pending.prompt_id == turns[order[-1]].replies[-1].prompt_id
    for store in worker_stores:
        assert state_view(await store.get(key)) == state_view(final)


async def test_a_slow_turn_holds_up_only_its_own_conversation(
    worker_stores: list[StateStore], reference: Reference
) -> None:
    expected = await reference.follow_up()
    slow, other = "wechat:oSlow" + secrets.token_hex(4), "wechat:oOther" + secrets.token_hex(4)
    release = asyncio.Event()
    journal = Journal()
    first, second = engines_on(reference, worker_stores, journal, **{slow: release})
    observed = first.store
    assert isinstance(observed, Observed)

    slow_question = asyncio.create_task(first.handle(slow, QUESTION))
    await asyncio.wait_for(observed.holding[slow].wait(), 10)  # it holds the lock of `slow` now
    slow_answer = asyncio.create_task(second.handle(slow, "2"))  # must wait for the question's turn

    # Another conversation proceeds meanwhile, in this "worker" and in the other one.
    for engine in (first, second):
        key = f"{other}:{id(engine)}"
        asked = await asyncio.wait_for(engine.handle(key, QUESTION), 10)
        answered = await asyncio.wait_for(engine.handle(key, "2"), 10)
        assert (view(asked), view(answered)) == tuple(view(turn) for turn in expected.turns)
    assert not slow_question.done() and not slow_answer.done()

    release.set()
    asked, answered = await asyncio.wait_for(asyncio.gather(slow_question, slow_answer), 20)
    assert (view(asked), view(answered)) == tuple(view(turn) for turn in expected.turns)
    assert journal.overlaps == 0
    finished = await worker_stores[0].get(slow)
    assert finished is not None and finished.pending is None  # only the language is kept


# ----------------------------------------------------------------------------- process level

WORKERS = 3
CONVERSATIONS = 40
CONCURRENT_REQUESTS = 12
TELEGRAM_SECRET = "workers-webhook-secret"
TELEGRAM_HEADERS = {SECRET_HEADER: TELEGRAM_SECRET}


@dataclass
class Cluster:
    server: ServeProcess
    fake: FakeTelegram
    state_url: str

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """``faqbot serve --workers 3`` with WeChat and Telegram (against a fake Bot API on
    this test's event loop) sharing a Redis database of its own."""
    state_url = redis_server.rsplit("/", 1)[0] + "/7"
    client = Redis.from_url(state_url)
    await client.flushdb()
    await client.aclose()
    fake = FakeTelegram()
    await fake.start()
    settings = {
        "WECHAT_TOKEN": TOKEN,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "FAQBOT_STATE_URL": state_url,
        "FAQBOT_LOG_LEVEL": "INFO",
    }
    server = ServeProcess(settings, tmp_path_factory.mktemp("workers"), workers=WORKERS)
    try:
        await asyncio.to_thread(server.start)  # off the loop: the workers call getMe on the fake
        yield Cluster(server, fake, state_url)
    finally:
        await asyncio.to_thread(server.stop)
        await fake.stop()


@dataclass
class Delivery:
    reply: Reply
    worker: int | None


async def deliver(cluster: Cluster, xml: str, client: httpx.AsyncClient | None = None) -> Delivery:
    """POST one WeChat push on its own connection (or ``client``'s) and see which worker answered."""
    if client is None:
        async with httpx.AsyncClient(base_url=cluster.server.base_url, timeout=20) as own:
            return await deliver(cluster, xml, own)
    peer = WeChatPeer(client)
    response = await client.post("/wechat", params=peer.signed_query(), content=xml.encode("utf-8"))
    local = response.extensions["network_stream"].get_extra_info("client_addr")
    worker = connection_owner(cluster.address, local, cluster.server.worker_pids())  # still open: keep-alive
    return Delivery(peer.read(response), worker)


@asynccontextmanager
async def connections_to_distinct_workers(cluster: Cluster, count: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """``count`` open keep-alive connections, each to a different worker."""
    pids = cluster.server.worker_pids()
    chosen: dict[int, httpx.AsyncClient] = {}
    spare: list[httpx.AsyncClient] = []
    try:
        for _ in range(200):
            if len(chosen) == count:
                break
            client = httpx.AsyncClient(base_url=cluster.server.base_url, timeout=20)
            response = await client.get("/healthz")
            owner = connection_owner(
                cluster.address, response.extensions["network_stream"].get_extra_info("client_addr"), pids
            )
            if owner is not None and owner not in chosen:
                chosen[owner] = client
            else:
                spare.append(client)
        assert len(chosen) == count, f"could not reach {count} distinct workers"
        yield list(chosen.values())
    finally:
        for client in [*chosen.values(), *spare]:
            await client.aclose()


@pytest.mark.asyncio(loop_scope="module")
async def test_there_are_several_worker_processes(cluster: Cluster) -> None:
    pids = cluster.server.worker_pids()
    assert len(pids) == WORKERS
    assert cluster.server.process is not None and cluster.server.process.pid not in pids
    log = cluster.server.log()
    for pid in pids:
        assert f"Started server process [{pid}]" in log


@pytest.mark.asyncio(loop_scope="module")
async def test_keep_alive_requests_to_a_worker_are_not_delayed(cluster: Cluster) -> None:
    """Nagle's algorithm is off in workers too (uvicorn#3149): without TCP_NODELAY every
    keep-alive response waits ~40 ms for the client's delayed ACK."""
    async with httpx.AsyncClient(base_url=cluster.server.base_url, timeout=10) as client:
        await client.get("/healthz")  # the connection is open from here on
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.025, [round(t * 1000, 1) for t in timings]


@pytest.mark.asyncio(loop_scope="module")
async def test_interleaved_conversations_complete_across_workers(cluster: Cluster, reference: Reference) -> None:
    expected = {"zh": await reference.follow_up(QUESTION), "en": await reference.follow_up(QUESTION_EN)}
    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)
    users = [
        (f"oWorkers{index:03d}" + secrets.token_hex(6), "zh" if index % 2 else "en") for index in range(CONVERSATIONS)
    ]

    async def converse(user: str, language: str) -> list[Delivery]:
        question = QUESTION if language == "zh" else QUESTION_EN
        deliveries = []
        for text in (question, "2"):
            async with gate:  # each message on a connection of its own: any worker may take it
                deliveries.append(await deliver(cluster, message_xml("text", user, Content=text)))
        return deliveries

    results = await asyncio.wait_for(asyncio.gather(*(converse(user, language) for user, language in users)), 120)

    for (user, language), (asked, answered) in zip(users, results, strict=True):
        assert asked.reply.content == expected[language].contents[0], user
        assert answered.reply.content == expected[language].contents[1], user
    workers = [delivery.worker for deliveries in results for delivery in deliveries]
    assert None not in workers
    assert len(set(workers)) >= 2, workers
    crossed = sum(asked.worker != answered.worker for asked, answered in results)
    assert crossed >= 1, "no conversation had its two messages answered by different workers"

    for user, _ in users:  # every conversation finished: nothing pending is left behind
        state = await _stored(cluster, conversation_key(user))
        assert state is not None and state.pending is None, user


@pytest.mark.asyncio(loop_scope="module")
async def test_a_conversation_moves_between_workers(cluster: Cluster, reference: Reference) -> None:
    expected = await reference.follow_up()
    user = "oMoves" + secrets.token_hex(8)
    async with connections_to_distinct_workers(cluster, 2) as (one, two):
        asked = await deliver(cluster, message_xml("text", user, Content=QUESTION), one)
        answered = await deliver(cluster, message_xml("text", user, Content="2"), two)
    assert asked.worker != answered.worker and None not in (asked.worker, answered.worker)
    assert (asked.reply.content, answered.reply.content) == expected.contents


def _user_ref(open_id: str) -> str:
    """How the WeChat channel names a user in its logs."""
    return hashlib.sha256(open_id.encode("utf-8")).hexdigest()[:12]


@pytest.mark.asyncio(loop_scope="module")
async def test_a_resent_wechat_message_is_answered_once(cluster: Cluster, reference: Reference) -> None:
    expected = await reference.follow_up()
    user = "oResent" + secrets.token_hex(8)
    async with connections_to_distinct_workers(cluster, 2) as (one, two):
        for text in (QUESTION, "2"):
            xml = message_xml("text", user, Content=text)  # one MsgId, delivered twice at once
            first, again = await asyncio.gather(deliver(cluster, xml, one), deliver(cluster, xml, two))
            assert first.worker != again.worker
            # Processing "2" twice would answer the retry with a new question ("2" alone).
            assert first.reply.content == again.reply.content == expected.contents[text == "2"]
    assert cluster.server.log().count(f"wechat.retry user={_user_ref(user)} ") == 2
    state = await _stored(cluster, conversation_key(user))
    assert state is not None and state.pending is None


async def _stored(cluster: Cluster, key: str) -> ConversationState | None:
    store = await open_store(cluster.state_url)
    try:
        return await store.get(key)
    finally:
        await store.close()


@pytest.mark.asyncio(loop_scope="module")
async def test_a_resent_telegram_update_is_answered_once(cluster: Cluster) -> None:
    fake = cluster.fake
    user = fake.user(7_300_001, language_code="zh-hans")
    chat = fake.private_chat(user)
    update = fake.text_update(chat, user, QUESTION)
    async with connections_to_distinct_workers(cluster, 2) as clients:
        responses = await asyncio.gather(
            *(client.post("/telegram", json=update, headers=TELEGRAM_HEADERS) for client in clients)
        )
    assert [response.status_code for response in responses] == [200, 200]
    (sent,) = await fake.wait_sent(chat["id"], 1, timeout=20)
    assert sent["reply_markup"]["inline_keyboard"], "the follow-up question offers its choices"
    assert cluster.server.log().count(f"telegram.update_duplicate update_id={update['update_id']}") == 1

    # A later update of the same chat is answered; the duplicate never was.
    follow = fake.text_update(chat, user, "2")
    async with httpx.AsyncClient(base_url=cluster.server.base_url, timeout=20) as client:
        assert (await client.post("/telegram", json=follow, headers=TELEGRAM_HEADERS)).status_code == 200
    await fake.wait_sent(chat["id"], 2, timeout=20)
    await fake.settle(0.5)
    messages = fake.sent(chat["id"])
    assert len(messages) == 2
    buttons = [b for row in messages[1].get("reply_markup", {}).get("inline_keyboard", []) for b in row]
    assert not [b for b in buttons if parse_choice_data(b["callback_data"])], "the answer asks nothing more"


@pytest.mark.asyncio(loop_scope="module")
async def test_a_question_and_its_answer_keep_their_order_across_workers(
    cluster: Cluster, reference: Reference
) -> None:
    """Issue 10, case 7: with several workers, 8 % of follow-up answers were processed before
    their question and 12 % sent before it."""
    fake = cluster.fake
    expected = await reference.follow_up()
    users = [fake.user(7_400_000 + n, language_code="zh") for n in range(30)]
    async with connections_to_distinct_workers(cluster, 2) as (one, two):

        async def converse(user: dict[str, Any]) -> int:
            chat = fake.private_chat(user)
            question, answer = fake.text_update(chat, user, QUESTION), fake.text_update(chat, user, "2")
            first = await one.post("/telegram", json=question, headers=TELEGRAM_HEADERS)
            second = await two.post("/telegram", json=answer, headers=TELEGRAM_HEADERS)  # right after, elsewhere
            assert (first.status_code, second.status_code) == (200, 200)
            return int(chat["id"])

        chats = await asyncio.gather(*(converse(user) for user in users))
    await fake.wait_until(lambda: all(len(fake.sent(chat)) >= 2 for chat in chats), 60)
    for chat in chats:
        asked, answered = fake.sent(chat)
        assert asked["reply_markup"]["inline_keyboard"], "the question came first"
        assert answered["text"] == expected.turns[1].replies[0].text  # "2" answered the question


def _turns(metrics_text: str) -> float:
    """All WeChat turns in a /metrics scrape (every result)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith('faqbot_turns_total{channel="wechat"')
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_metrics_add_up_the_workers(cluster: Cluster) -> None:
    """``GET /metrics`` on any worker reports the turns of all of them."""
    async with httpx.AsyncClient(base_url=cluster.server.base_url, timeout=20) as client:
        before = _turns((await client.get("/metrics")).text)
    deliveries = [
        await deliver(cluster, message_xml("text", f"oMetrics{n:03d}", Content=QUESTION_EN)) for n in range(12)
    ]
    assert len({delivery.worker for delivery in deliveries}) >= 2
    async with connections_to_distinct_workers(cluster, 2) as clients:
        scrapes = [_turns((await client.get("/metrics")).text) for client in clients]
    assert scrapes == [before + 12, before + 12]


def _reviewed(state_url: str) -> dict[str, Any]:
    """``faqbot review --json`` of the cluster's store, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "review", "--json"], capture_output=True, text=True, timeout=120, check=True,
        env={"FAQBOT_STATE_URL": state_url, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.asyncio(loop_scope="module")
async def test_one_review_holds_what_every_worker_kept(cluster: Cluster) -> None:
    """Questions the bot could not answer, taken by different workers, are all in one review."""
    before = (await asyncio.to_thread(_reviewed, cluster.state_url))["entries"]
    deliveries = [
        await deliver(cluster, message_xml("text", f"oReview{n:03d}", Content="社保卡激活要收费吗")) for n in range(12)
    ]
    assert len({delivery.worker for delivery in deliveries}) >= 2
    review = await asyncio.to_thread(_reviewed, cluster.state_url)
    assert review["entries"] == before + 12
    assert any(group["count"] >= 12 for group in review["groups"])

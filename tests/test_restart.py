"""Conversation state across restarts of a real ``faqbot serve`` process.

Each test starts ``python -m bot serve`` (see :mod:`tests.support_processes`) with the
WeChat channel on, and talks to it as WeChat does: a signed plaintext push, a passive
reply in the HTTP response. Expected replies are what an in-process engine (memory
store) answers to the same messages, formatted as the WeChat channel formats them, so
no prose is hard-coded here.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.channels.common.choices import plain_text
from bot.channels.wechat.replies import MAX_CONTENT_BYTES
from bot.dialogue import Engine
from bot.messages import Turn
from bot.state import StateStore, open_store
from devtools.processes import ServeProcess, free_port, run_serve
from tests.conftest import MakeEngine
from tests.test_wechat_peer import TOKEN, WeChatPeer, message_xml

QUESTION = "社保卡在哪激活"
QUESTION_EN = "Where can I activate my social security card?"
SLOT = "financial_account"


@dataclass(frozen=True)
class Exchange:
    """What the bot replies to a sequence of messages, as WeChat reply contents."""

    contents: tuple[str, ...]
    turns: tuple[Turn, ...]


class Reference:
    """An in-process engine with a memory store: the expected behaviour."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def exchange(self, *texts: str) -> Exchange:
        key = f"reference:{secrets.token_hex(6)}"
        turns = [await self.engine.handle(key, text) for text in texts]
        contents = [plain_text(turn, self.engine.notice("reply_with_number", turn.locale)) for turn in turns]
        for content in contents:  # longer replies would be split into parts by the channel
            assert len(content.encode("utf-8")) <= MAX_CONTENT_BYTES
        return Exchange(tuple(contents), tuple(turns))

    async def follow_up(self, question: str = QUESTION) -> Exchange:
        """``question`` → a numbered follow-up; ``2`` → the answer for the second choice."""
        exchange = await self.exchange(question, "2")
        asked, answered = exchange.turns
        assert asked.intent == "where_to_activate" and asked.awaiting == SLOT
        assert len(asked.replies[-1].choices) >= 2
        assert answered.intent == "where_to_activate" and answered.awaiting is None
        assert not any(reply.choices for reply in answered.replies)
        return exchange


@pytest.fixture(scope="module")
def reference(make_engine: MakeEngine) -> Reference:
    return Reference(make_engine())


def open_id() -> str:
    """A fresh WeChat OpenID-like user id."""
    return "oRestart" + secrets.token_hex(10)


def conversation_key(user: str) -> str:
    return f"wechat:{user}"  # bot.channels.wechat's key for a user's conversation


async def say(base_url: str, user: str, text: str, *, msg_id: int | None = None) -> str:
    """Push one signed text message from ``user``; the content of the passive reply."""
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        reply = await WeChatPeer(client).post(message_xml("text", user, Content=text, msg_id=msg_id))
    assert reply.status == 200, (reply.status, reply.body[:200])
    return reply.content


def wechat_settings(state_url: str, **extra: str) -> dict[str, str]:
    return {"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": state_url, "FAQBOT_LOG_LEVEL": "INFO", **extra}


@pytest.fixture(params=["sqlite", "redis"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state/state.db"  # tmp_path is absolute: four slashes
    return str(request.getfixturevalue("redis_url"))


async def stored(state_url: str, key: str, **options: float) -> object:
    """What the store at ``state_url`` holds for ``key`` (opened and closed for the look-up)."""
    store: StateStore = await open_store(state_url, **options)
    try:
        return await store.get(key)
    finally:
        await store.close()


async def test_pending_follow_up_survives_sigkill_and_restart(
    state_url: str, tmp_path: Path, reference: Reference
) -> None:
    expected = await reference.follow_up()
    user, other = open_id(), open_id()
    server = ServeProcess(wechat_settings(state_url), tmp_path / "run")
    await asyncio.to_thread(server.start)
    try:
        assert await say(server.base_url, user, QUESTION) == expected.contents[0]
        # A second conversation that finishes before the crash leaves nothing behind.
        assert await say(server.base_url, other, QUESTION) == expected.contents[0]
        assert await say(server.base_url, other, "2") == expected.contents[1]

        await asyncio.to_thread(server.kill)
        assert server.process is not None and server.process.returncode == -signal.SIGKILL

        pending = await stored(state_url, conversation_key(user))
        assert pending is not None and pending.pending is not None  # type: ignore[attr-defined]
        assert pending.pending.slot == SLOT and pending.slots == {}  # type: ignore[attr-defined]
        finished = await stored(state_url, conversation_key(other))
        assert finished is not None and finished.pending is None  # type: ignore[attr-defined]

        await asyncio.to_thread(server.start)  # same state URL, new process, new port
        assert await say(server.base_url, user, "2") == expected.contents[1]
        finished = await stored(state_url, conversation_key(user))
        assert finished is not None and finished.pending is None  # type: ignore[attr-defined]
    finally:
        await asyncio.to_thread(server.stop)


async def test_idle_follow_up_expires(state_url: str, tmp_path: Path, reference: Reference) -> None:
    idle_minutes = 0.02  # 1.2 s
    expected = await reference.follow_up()
    fresh_two = (await reference.exchange("2")).contents[0]
    assert fresh_two != expected.contents[1]
    user = open_id()
    server = ServeProcess(wechat_settings(state_url, FAQBOT_STATE_IDLE_MINUTES=str(idle_minutes)), tmp_path / "run")
    await asyncio.to_thread(server.start)
    try:
        assert await say(server.base_url, user, QUESTION) == expected.contents[0]
        # Poll the store (with the server's idle timeout) until the follow-up has expired.
        deadline = time.monotonic() + 15
        while await stored(state_url, conversation_key(user), idle_ttl_seconds=idle_minutes * 60) is not None:
            assert time.monotonic() < deadline, "the pending follow-up never expired"
            await asyncio.sleep(0.1)
        # "2" is now a new message of its own, not the answer to the forgotten question.
        assert await say(server.base_url, user, "2") == fresh_two
    finally:
        await asyncio.to_thread(server.stop)


def _closed_port_url() -> str:
    return f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"


@pytest.mark.parametrize(
    ("state_url", "workers", "fragment"),
    [
        (None, "1", "not answering PING"),  # None: redis on a closed port, with a password
        (None, "3", "not answering PING"),
        ("redis://127.0.0.1:notaport/0", "1", "port"),
        ("redis://127.0.0.1:6379/zero", "1", "database"),
        ("sqlite://somehost/state.db", "1", "must not name a host"),
        ("mysql://127.0.0.1/faqbot", "1", "unsupported"),
    ],
    ids=["redis-closed-port", "redis-closed-port-3-workers", "bad-port", "bad-db", "sqlite-host", "unknown-scheme"],
)
def test_unusable_state_url_is_one_clear_line(
    state_url: str | None, workers: str, fragment: str, tmp_path: Path
) -> None:
    url = state_url or _closed_port_url()
    port = str(free_port())
    result = run_serve(wechat_settings(url), tmp_path, "--port", port, "--workers", workers)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("faqbot serve: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert "hunter2-secret" not in result.stderr + result.stdout

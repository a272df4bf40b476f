"""A WeCom group conversation through real ``faqbot serve`` processes and the fake WeCom:
one process on SQLite, and ``--workers 2`` on Redis (callbacks of one conversation land on
either worker). Encryption is checked by wechatpy on the fake's side.

The slow turn runs on Redis only: there the test can hold the conversation's lock (a
cross-process lock by design), which makes a real turn slow without touching the server;
SQLite's conversation locks live inside the server process. The in-process tests
(``test_wecom_webhook.py``) cover the slow paths on any store.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.state import open_store
from devtools.processes import ServeProcess, run_serve, serve_env
from tests.fake_wecom import KEY, SETTINGS, Answer, FakeWeCom

FOLLOW_UP = "社保卡激活期限是多久"
ASKER, OTHER, SLOW = "zhangsan", "lisi", "wangwu"


@dataclass
class Served:
    server: ServeProcess
    fake: FakeWeCom
    backend: str


@pytest.fixture(params=["sqlite", "redis"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    if request.param == "sqlite":
        state, workers = f"sqlite:///{tmp_path}/state.db", 1
    else:
        state, workers = str(request.getfixturevalue("redis_url")), 2
    settings = SETTINGS | {"FAQBOT_STATE_URL": state, "WECOM_BOT_NAME": "RobotA", "FAQBOT_LOG_LEVEL": "INFO"}
    server = ServeProcess(settings, tmp_path / "run", workers=workers)
    await asyncio.to_thread(server.start)
    try:
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=30) as client,
            FakeWeCom(client).running() as fake,
        ):
            yield Served(server, fake, request.param)
    finally:
        await asyncio.to_thread(server.stop)


def code(callback: dict[str, object]) -> str:
    return str(callback["response_url"]).rsplit("/", 1)[1]


async def wecom_turns(client: httpx.AsyncClient) -> float:
    """Turns the channel ran, from ``/metrics`` (all workers)."""
    text = (await client.get("/metrics")).text
    return sum(float(m) for m in re.findall(r'^faqbot_turns_total\{channel="wecom"[^}]*\} (\S+)$', text, re.M))


def review_json(server: ServeProcess) -> str:
    env = serve_env(server.settings)
    run = subprocess.run([sys.executable, "-m", "bot", "review", "--json"], cwd=server.workdir, env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    return run.stdout


async def test_a_group_conversation_end_to_end(served: Served) -> None:
    fake, client = served.fake, served.fake.client
    now = str(int(time.time()))
    check = await client.get("/wecom", params=fake.peer.echostr("7613210145", timestamp=now))
    assert (check.status_code, check.text) == (200, "7613210145")

    question = fake.question(FOLLOW_UP, ASKER)
    asked = await fake.send(question)
    assert asked.reply is not None and asked.reply["msgtype"] == "stream_with_template_card", asked
    assert asked.stream["finish"] is True and "@RobotA" not in asked.content
    assert await fake.send(question) == asked  # WeCom re-sends: the same reply…
    assert await wecom_turns(client) == 1  # …and the turn ran once

    others = fake.press(asked.card, 0, OTHER)
    assert await fake.send(others) == Answer(200, None)
    own = await fake.send(fake.question("社保卡怎么激活", OTHER))
    assert "银行" in own.content and own.content != asked.content

    press = fake.press(asked.card, 0, ASKER)
    assert await fake.send(press) == Answer(200, None)
    chosen = await fake.active_reply(code(press))
    assert chosen["msgtype"] == "markdown" and chosen["markdown"]["content"]
    assert code(others) not in fake.active  # the other member's press selected nothing, sent nothing

    assert await fake.send(fake.vote(chosen["markdown"]["feedback"]["id"], 2, ASKER)) == Answer(200, None)
    deadline = time.monotonic() + 20
    while '"down": 1' not in (shown := await asyncio.to_thread(review_json, served.server)):
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.3)
    for identifier in (ASKER, OTHER, "CHATID", "wecom:", question["msgid"]):
        assert identifier not in shown

    forged = await FakeWeCom(client, token="another").send(fake.question("x", ASKER))
    stale = await fake.send(fake.question("x", ASKER), timestamp=int(time.time()) - 3600)
    query, _ = fake.peer.callback("{}", timestamp=str(int(time.time())))
    malformed = await client.post("/wecom", params=query, content=b'{"encrypt": 42}')
    assert (forged.status, stale.status, malformed.status_code) == (403, 403, 400)
    assert "Traceback" not in malformed.text

    if served.backend == "redis":
        await slow_turn(fake, served.server.settings["FAQBOT_STATE_URL"])

    logged = served.server.log()
    assert "wecom.reply" in logged and "wecom.active_reply" in logged
    for secret in (ASKER, OTHER, "CHATID", FOLLOW_UP, KEY, SETTINGS["WECOM_TOKEN"]):
        assert secret not in logged


async def slow_turn(fake: FakeWeCom, state_url: str) -> None:
    """A turn slower than the passive reply's wait, fetched by 流式消息刷新."""
    store = await open_store(state_url)
    try:
        async with store.lock("wecom:CHATID:wangwu"):  # the turn waits for it: a slow turn
            pending = await fake.send(fake.question("社保卡怎么激活", SLOW))  # answered after ~4 s
            assert pending.stream["finish"] is False
            again = await fake.send(fake.refresh(pending.stream["id"], SLOW))
            assert again.stream == {"id": pending.stream["id"], "finish": False}
    finally:
        await store.close()
    done = await fake.finished(pending, SLOW)
    assert done.stream["id"] == pending.stream["id"] and "银行" in done.content


@pytest.mark.parametrize(
    ("settings", "says"),
    [({"WECOM_TOKEN": "t"}, "WECOM_TOKEN and WECOM_AES_KEY"),
     ({"WECOM_TOKEN": "t", "WECOM_AES_KEY": KEY[:-1]}, "WECOM_AES_KEY must be the 43-character")],
)  # fmt: skip
def test_serve_refuses_unusable_settings_in_one_line(settings: dict[str, str], says: str, tmp_path: Path) -> None:
    run = run_serve(settings | {"FAQBOT_STATE_URL": "memory://"}, tmp_path, "--port", "9")
    assert run.returncode == 2 and says in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert KEY[:-1] not in run.stderr


def test_wecom_alone_is_something_to_serve() -> None:
    from bot.settings import Settings
    from bot.web import check_settings

    check_settings(Settings(_env_file=None, wecom_token="t", wecom_aes_key=KEY))  # type: ignore[call-arg, arg-type]

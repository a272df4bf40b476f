"""A state store that is down or hung, under a real ``faqbot serve`` (issue 10, case 8).

``/healthz`` answers 503 and names the store; WeChat users get the bot's ``unavailable``
notice within WeChat's deadline instead of raw 500s; Telegram updates are refused with
503 (Telegram re-delivers them later) instead of being acknowledged and lost; and all of
it recovers when Redis does.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bot.channels.telegram.config import SECRET_HEADER
from devtools.processes import ServeProcess, redis_server_binary, start_redis, stop_process
from tests.conftest import MakeEngine
from tests.fake_telegram import FakeTelegram
from tests.test_wechat_peer import TOKEN, WeChatPeer

SECRET = "outage-test-secret"


def restart_redis(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    binary = redis_server_binary()
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.3)
    return process


@asynccontextmanager
async def deployment(
    fake: FakeTelegram, tmp_path: Path
) -> AsyncIterator[tuple[ServeProcess, int, list[subprocess.Popen[bytes]]]]:
    binary = redis_server_binary()
    assert binary is not None
    started = start_redis(binary, tmp_path)
    assert started is not None
    redis, port = started
    processes = [redis]
    settings = {
        "WECHAT_TOKEN": TOKEN,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": fake.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "FAQBOT_STATE_URL": f"redis://127.0.0.1:{port}/0",
    }
    server = ServeProcess(settings, tmp_path / "serve")
    await asyncio.to_thread(server.start)
    try:
        yield server, port, processes
    finally:
        await asyncio.to_thread(server.stop)
        for process in processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
            stop_process(process)


async def probe(server: ServeProcess, fake: FakeTelegram) -> tuple[httpx.Response, str, int, float]:
    """``/healthz``, what a WeChat user is told, the status of a Telegram update, and how
    long the WeChat answer took."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
        health = await client.get("/healthz")
        started = time.monotonic()
        reply = await WeChatPeer(client).text(f"oOutage{time.monotonic_ns()}", "社保卡怎么激活")
        took = time.monotonic() - started
        user = fake.user(9100, language_code="zh")
        update = fake.text_update(fake.private_chat(user), user, "社保卡怎么激活")
        telegram = await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
    return health, reply.content if reply.message is not None else reply.body, telegram.status_code, took


async def test_a_store_that_is_down_or_hung_is_reported_and_answered_politely(
    fake: FakeTelegram, tmp_path: Path, make_engine: MakeEngine
) -> None:
    unavailable = make_engine().notice("unavailable", "zh")
    async with deployment(fake, tmp_path) as (server, port, processes):
        health, _, telegram, _ = await probe(server, fake)
        assert health.status_code == 200 and telegram == 200

        os.kill(processes[0].pid, signal.SIGSTOP)  # hung: accepts nothing, answers nothing
        health, said, telegram, took = await probe(server, fake)
        assert health.status_code == 503 and health.json()["checks"]["store"].startswith("redis: ")
        assert said in (unavailable, "success") and took < 5.0  # WeChat's deadline, never a raw 500
        assert telegram == 503  # not acknowledged: Telegram re-delivers

        os.kill(processes[0].pid, signal.SIGCONT)
        stop_process(processes[0])  # down
        health, said, telegram, took = await probe(server, fake)
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert said == unavailable and took < 5.0 and telegram == 503

        processes.append(restart_redis(port, tmp_path))  # back
        deadline = time.monotonic() + 15
        while (health := (await probe(server, fake))[0]).status_code != 200:
            assert time.monotonic() < deadline, health.text
            await asyncio.sleep(0.2)
        _, said, telegram, _ = await probe(server, fake)
        assert said != unavailable and telegram == 200
    log = server.log()
    assert " 500 " not in log and "wechat.error" not in log
    # An outage is logged as one line per failure, never as tracebacks.
    assert "Traceback (most recent call last)" not in log

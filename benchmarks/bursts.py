"""Issue 10's bursts against real ``faqbot serve`` processes, and what each of them lost.

Scenarios (``--only`` picks some):

* ``redis``  — 300 concurrent WeChat messages per worker, Redis with a pool of 16, for 1
  and 2 workers: answered, ``success`` (WeChat's deadline missed; WeChat retries those),
  errors (lost), latency;
* ``flood``  — one group member sends 200 questions, another asks once (Telegram webhook,
  2 workers, Redis, the fake Bot API): how long the other waited, what the flooder got;
* ``long``   — 100 long messages (~2,000 characters) and 50 ordinary questions at once:
  latency of the ordinary ones (issue: within 1 s p99);
* ``slow``   — 1,100 idle or half-sent connections against a server with 1,024 open
  files: ``/healthz`` and a WeChat message meanwhile, EMFILE log lines, slow connections
  closed;
* ``kill``   — 60 Telegram updates acknowledged, the server SIGKILLed while sending,
  restarted: updates never answered.

"Lost" counts what was acknowledged (or sent) and never answered — nothing, is the bar.
One JSON line per scenario. Timings are printed, never asserted.

``python benchmarks/bursts.py [--only redis,flood,long,slow,kill]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.webhook_load import throwaway_redis  # noqa: E402
from benchmarks.wechat_load import TOKEN, percentile, post_message, signed_query, text_xml  # noqa: E402
from devtools.clients import closed_by_server, slow_clients  # noqa: E402
from devtools.fake_telegram import BOT_USERNAME, FakeTelegram  # noqa: E402
from devtools.processes import ServeProcess  # noqa: E402

SECRET = "bursts-benchmark-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def wechat_burst(url: str, texts: list[str], prefix: str) -> dict[str, Any]:
    """Every text from a user of its own, all at once, each on a connection of its own."""
    limits = httpx.Limits(max_connections=len(texts), max_keepalive_connections=0)
    latencies: list[float] = []
    outcome = {"sent": len(texts), "answered": 0, "success": 0, "errors": 0}
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one(n: int, text: str) -> None:
            kind, seconds, _ = await post_message(client, f"o{prefix}{n:05d}", text, n)
            outcome[kind] += 1
            latencies.append(seconds)

        await asyncio.gather(*(one(n, text) for n, text in enumerate(texts)))
    latencies.sort()
    return {**outcome, "lost": outcome["errors"], "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
            "max_ms": percentile(latencies, 1.0)}  # fmt: skip


def serving(settings: dict[str, str], workdir: Path, **options: int) -> ServeProcess:
    server = ServeProcess({"FAQBOT_LOG_LEVEL": "WARNING", **settings}, workdir, **options)
    server.start()
    return server


async def redis_scenario(workdir: Path, redis_url: str) -> list[dict[str, Any]]:
    results = []
    for workers in (1, 2):
        settings = {"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": redis_url, "FAQBOT_REDIS_POOL_SIZE": "16"}
        server = await asyncio.to_thread(serving, settings, workdir / f"redis{workers}", workers=workers)
        try:
            burst = await wechat_burst(server.base_url, ["社保卡怎么激活"] * (300 * workers), f"r{workers}")
        finally:
            await asyncio.to_thread(server.stop)
        results.append({"scenario": f"redis {300 * workers} concurrent, {workers} worker(s)", **burst})
    return results


async def flood_scenario(workdir: Path, redis_url: str) -> dict[str, Any]:
    fake = FakeTelegram()
    await fake.start()
    chat = fake.group_chat(-1009990001)
    flooder, other = fake.user(9001, "A", "zh"), fake.user(9002, "B", "zh")
    settings = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
                "TELEGRAM_WEBHOOK_SECRET": SECRET, "FAQBOT_STATE_URL": redis_url}  # fmt: skip
    server = await asyncio.to_thread(serving, settings, workdir / "flood", workers=2)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            headers = {SECRET_HEADER: SECRET}
            flood = [fake.text_update(chat, flooder, f"/ask 第{n}个问题：社保卡怎么激活") for n in range(200)]
            statuses = await asyncio.gather(*(client.post("/telegram", json=u, headers=headers) for u in flood))
            question = fake.text_update(chat, other, f"@{BOT_USERNAME} 社保卡在哪里激活")
            asked = time.monotonic()
            await client.post("/telegram", json=question, headers=headers)
            answered = await _answered(fake, chat["id"], question["message"]["message_id"], 30)
            waited = time.monotonic() - asked
            await fake.settle(2.0)
    finally:
        await asyncio.to_thread(server.stop)
        await fake.stop()
    to_flooder = [m for m in fake.sent(chat["id"]) if m["reply_to_message"]["from"]["id"] == flooder["id"]]
    return {"scenario": "group flood: 200 questions from one member", "acknowledged": sum(s.status_code == 200 for s in statuses) + 1,
            "other_member_waited_s": round(waited, 2) if answered else None, "flooder_got_messages": len(to_flooder),
            "lost": 0 if answered and len(to_flooder) == 4 else 1}  # fmt: skip


async def _answered(fake: FakeTelegram, chat_id: int, message_id: int, timeout: float) -> bool:
    def found() -> bool:
        return any(m.get("reply_to_message", {}).get("message_id") == message_id for m in fake.sent(chat_id))

    try:
        await fake.wait_until(found, timeout)
    except asyncio.TimeoutError:
        return False
    return True


async def long_scenario(workdir: Path) -> dict[str, Any]:
    settings = {"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": f"sqlite:///{workdir}/long.db"}
    server = await asyncio.to_thread(serving, settings, workdir / "long")
    try:
        long_texts = [f"{n}号：" + "我想问一下社保卡的事情，" * 180 for n in range(100)]
        heavy = asyncio.create_task(wechat_burst(server.base_url, long_texts, "long"))
        await asyncio.sleep(0.2)
        ordinary = await wechat_burst(server.base_url, ["社保卡在哪里激活", "激活要带什么"] * 25, "short")
        long_result = await heavy
    finally:
        await asyncio.to_thread(server.stop)
    return {"scenario": "100 long messages with 50 ordinary questions", "ordinary": ordinary,
            "long": {k: long_result[k] for k in ("answered", "success", "errors", "p99_ms")},
            "lost": ordinary["errors"] + ordinary["success"]}  # fmt: skip


async def slow_scenario(workdir: Path) -> dict[str, Any]:
    settings = {"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": f"sqlite:///{workdir}/slow.db",
                "FAQBOT_HTTP_REQUEST_TIMEOUT_SECONDS": "5", "FAQBOT_LOG_LEVEL": "INFO"}  # fmt: skip
    server = await asyncio.to_thread(serving, settings, workdir / "slow", open_files=1024)
    try:
        async with (
            slow_clients(server.port, 1100) as sockets,
            httpx.AsyncClient(base_url=server.base_url, timeout=10) as client,
        ):
            started = time.monotonic()
            health = await client.get("/healthz")
            health_ms = (time.monotonic() - started) * 1000
            reply = await client.post(
                "/wechat", params=signed_query(), content=text_xml("oSlowBench", "社保卡怎么激活", 1)
            )
            await asyncio.sleep(5.5)
            closed = sum(closed_by_server(sock) for sock in sockets)
        log = server.log()
    finally:
        await asyncio.to_thread(server.stop)
    return {"scenario": "1,100 slow connections, 1,024 open files", "healthz_status": health.status_code,
            "healthz_ms": round(health_ms, 1), "wechat_answered": reply.text.startswith("<xml>"),
            "slow_connections_closed": closed, "of": len(sockets), "emfile_log_lines": log.count("accept_failed"),
            "log_bytes": len(log), "lost": 0 if health.status_code == 200 and reply.text.startswith("<xml>") else 1}  # fmt: skip


async def kill_scenario(workdir: Path) -> dict[str, Any]:
    fake = FakeTelegram()
    await fake.start()
    fake.latency["sendMessage"] = 0.15
    settings = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
                "TELEGRAM_WEBHOOK_SECRET": SECRET, "FAQBOT_STATE_URL": f"sqlite:///{workdir}/kill.db"}  # fmt: skip
    server = await asyncio.to_thread(serving, settings, workdir / "kill")
    users = [fake.user(9100 + n, language_code="en") for n in range(6)]
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            for user in users:
                for _ in range(10):
                    update = fake.text_update(fake.private_chat(user), user, "/help")
                    await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})
        await fake.wait_until(lambda: len(fake.sent()) >= 10, 30)
        await asyncio.to_thread(server.kill)
        before_restart = len(fake.sent())
        await asyncio.to_thread(server.start)
        with contextlib.suppress(asyncio.TimeoutError):
            await fake.wait_until(lambda: all(len(fake.sent(u["id"])) >= 10 for u in users), 60)
    finally:
        await asyncio.to_thread(server.stop)
        await fake.stop()
    answered = sum(min(len(fake.sent(u["id"])), 10) for u in users)
    return {"scenario": "SIGKILL with 60 acknowledged updates queued", "answered_before_kill": before_restart,
            "answered_in_all": answered, "answered_twice": sum(max(0, len(fake.sent(u["id"])) - 10) for u in users),
            "lost": 60 - answered}  # fmt: skip


async def run(only: set[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="faqbot-bursts-") as tmp:
        workdir = Path(tmp)
        with throwaway_redis(None, workdir) as redis_url:
            if "redis" in only:
                for line in await redis_scenario(workdir, redis_url):
                    print(json.dumps(line, ensure_ascii=False), flush=True)
            if "flood" in only:
                print(json.dumps(await flood_scenario(workdir, redis_url), ensure_ascii=False), flush=True)
        for name, scenario in (("long", long_scenario), ("slow", slow_scenario), ("kill", kill_scenario)):
            if name in only:
                print(json.dumps(await scenario(workdir), ensure_ascii=False), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="redis,flood,long,slow,kill")
    args = parser.parse_args()
    asyncio.run(run({name.strip() for name in args.only.split(",")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

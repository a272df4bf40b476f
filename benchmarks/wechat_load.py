"""The load generator the webhook benchmarks share: signed WeChat text messages, in a
process of its own (so that its CPU is not counted as the server's).

Conversations of two messages (the question "社保卡在哪激活", whose passive reply is a
numbered follow-up, then "2", whose reply is the answer), each message with its own
MsgId, each conversation with its own user, at most ``concurrency`` requests in flight
over keep-alive connections. Prints one JSON line: latency percentiles (ms, HTTP round
trip as the client sees it), ``answered``, ``success`` (WeChat's deadline missed),
``errors``, and the generator's own CPU.

``python benchmarks/wechat_load.py URL --messages 2000 --concurrency 16``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TOKEN = "faqbot-benchmark-token"
ACCOUNT = "gh_faqbot_benchmark"
QUESTION = "社保卡在哪激活"
REQUEST_TIMEOUT_SECONDS = 10.0
WARM_UP_CONVERSATIONS = 10


def signed_query(token: str = TOKEN) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), str(random.randint(10**8, 10**10))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature}


def text_xml(user: str, content: str, msg_id: int) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (milliseconds, rounded)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return round(sorted_values[rank - 1] * 1000, 1)


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU the processes ``pids`` have used so far (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def post_message(client: Any, user: str, text: str, msg_id: int) -> tuple[str, float, str]:
    """Send one signed text message: ``(kind, seconds, body)`` where ``kind`` is ``answered``
    (a passive reply), ``success`` (none: WeChat's deadline missed) or ``errors``."""
    import httpx

    started = time.perf_counter()
    try:
        response = await client.post("/wechat", params=signed_query(), content=text_xml(user, text, msg_id))
    except httpx.HTTPError:
        return "errors", time.perf_counter() - started, ""
    if response.status_code != 200:
        return "errors", time.perf_counter() - started, response.text
    kind = "answered" if response.text.startswith("<xml>") else "success"
    return kind, time.perf_counter() - started, response.text


async def generate(url: str, messages: int, concurrency: int, max_seconds: float) -> dict[str, object]:
    import httpx

    run = secrets.token_hex(4)
    msg_ids = iter(range(random.randint(10**15, 2 * 10**15), 3 * 10**15))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    outcome = {"answered": 0, "success": 0, "errors": 0, "completed_conversations": 0}

    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) as client:

        async def post(user: str, text: str, record: bool) -> str:
            kind, seconds, body = await post_message(client, user, text, next(msg_ids))
            if record:
                outcome[kind] += 1
                if kind != "errors" or body:
                    latencies.append(seconds)
            return body

        async def converse(index: int, record: bool) -> None:
            user = f"oBench{run}{index:06d}{'' if record else 'w'}"
            replies = []
            for text in (QUESTION, "2"):
                async with gate:
                    replies.append(await post(user, text, record))
            if record and "\n1. " in replies[0] and replies[1].startswith("<xml>") and "\n1. " not in replies[1]:
                outcome["completed_conversations"] += 1

        await asyncio.gather(*(converse(i, False) for i in range(WARM_UP_CONVERSATIONS)))
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(converse(i, True) for i in range(max(1, messages // 2)))), max_seconds
            )
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started

    latencies.sort()
    return {
        "messages": len(latencies),
        "seconds": round(elapsed, 2),
        "updates_per_second": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99),
        **outcome,
        "timed_out": timed_out,
        "client_cpu_seconds": round(cpu, 2),
    }


def run_generator(url: str, messages: int, concurrency: int, max_seconds: float) -> dict[str, object]:
    """Run :func:`generate` in a process of its own; its JSON result."""
    command = [
        sys.executable, str(Path(__file__).resolve()), url,
        "--messages", str(messages), "--concurrency", str(concurrency), "--max-seconds", str(max_seconds),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=max_seconds + 60, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the load generator failed:\n{done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(generate(args.url, args.messages, args.concurrency, args.max_seconds))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

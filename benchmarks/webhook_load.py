"""Webhook throughput: signed WeChat text messages against a real ``faqbot serve``.

For each configuration — 1 worker with SQLite (the default), N workers with Redis — it
starts ``faqbot serve`` on 127.0.0.1, and a load generator in a *separate process*
(this script with ``--generate``) sends a bounded number of messages with bounded
concurrency: conversations of two messages each (the question "社保卡在哪激活", whose
passive reply is a numbered follow-up, then "2", whose reply is the answer), every
message with its own MsgId, every conversation with its own user. One JSON line per
configuration: updates/second and latency percentiles (milliseconds, as seen by the
client, HTTP round trip included).

Run: ``python benchmarks/webhook_load.py [--messages 2000] [--concurrency 16] [--workers 2]``.
Redis: ``--redis-url redis://host:port/db``, or by default a throw-away ``redis-server``
(from ``PATH`` or ``$REDIS_SERVER``) on a free loopback port. Timings are printed,
never asserted; compare runs on the same machine. Everything is bounded: message
counts, per-request timeouts, and ``--max-seconds`` per configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # devtools/: the process helpers shared with the tests

from devtools.processes import ServeProcess, redis_server_binary, start_redis, stop_process  # noqa: E402

TOKEN = "faqbot-benchmark-token"
ACCOUNT = "gh_faqbot_benchmark"
QUESTION = "社保卡在哪激活"
REQUEST_TIMEOUT_SECONDS = 10.0
WARM_UP_CONVERSATIONS = 10


# ----------------------------------------------------------------------------- load generator


def _signed_query(token: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), str(random.randint(10**8, 10**10))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"timestamp": timestamp, "nonce": nonce, "signature": signature}


def _text_xml(user: str, content: str, msg_id: int) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


async def _generate(url: str, token: str, messages: int, concurrency: int, max_seconds: float) -> dict[str, object]:
    import httpx

    conversations = max(1, messages // 2)
    run = secrets.token_hex(4)
    msg_ids = iter(range(random.randint(10**15, 2 * 10**15), 3 * 10**15))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    outcome = {"replied": 0, "unanswered": 0, "errors": 0, "completed_conversations": 0}

    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) as client:

        async def post(user: str, text: str, record: bool) -> str:
            body = _text_xml(user, text, next(msg_ids))
            started = time.perf_counter()
            try:
                response = await client.post("/wechat", params=_signed_query(token), content=body)
            except httpx.HTTPError:
                if record:
                    outcome["errors"] += 1
                return ""
            if not record:
                return response.text
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                outcome["errors"] += 1
            elif response.text.startswith("<xml>"):
                outcome["replied"] += 1
            else:  # "success": the engine missed WeChat's 5-second deadline
                outcome["unanswered"] += 1
            return response.text

        async def converse(index: int, record: bool) -> None:
            user = f"oBench{run}{index:06d}{'w' if not record else ''}"
            replies = []
            for text in (QUESTION, "2"):
                async with gate:
                    replies.append(await post(user, text, record))
            # A numbered follow-up, then an answer without numbered choices.
            if record and "\n1. " in replies[0] and replies[1].startswith("<xml>") and "\n1. " not in replies[1]:
                outcome["completed_conversations"] += 1

        await asyncio.gather(*(converse(i, False) for i in range(WARM_UP_CONVERSATIONS)))
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            await asyncio.wait_for(asyncio.gather(*(converse(i, True) for i in range(conversations))), max_seconds)
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started

    latencies.sort()
    return {
        "messages": len(latencies),
        "conversations": conversations,
        "seconds": round(elapsed, 2),
        "updates_per_second": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p90_ms": round(_percentile(latencies, 0.90) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        **outcome,
        "timed_out": timed_out,
        "client_cpu_seconds": round(cpu, 2),
    }


# ----------------------------------------------------------------------------- servers


@contextmanager
def _redis(url: str | None, workdir: Path) -> Iterator[str]:
    """``url``, or a throw-away redis-server on a free loopback port."""
    if url:
        yield url
        return
    binary = redis_server_binary()
    if not binary:
        raise SystemExit("webhook_load: redis-server not found (install it, set REDIS_SERVER, or pass --redis-url)")
    started = start_redis(binary, workdir)
    if started is None:
        raise SystemExit("webhook_load: redis-server did not start")
    process, port = started
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)


def _cpu_seconds(pids: set[int]) -> float:
    """User + system CPU time the processes ``pids`` have used so far (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def _measure(name: str, state_url: str, workers: int, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    settings = {"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": state_url, "FAQBOT_LOG_LEVEL": args.log_level}
    server = ServeProcess(settings, workdir / name, workers=workers)
    server.start()
    try:
        command = [
            sys.executable, str(Path(__file__).resolve()), "--generate", server.base_url,
            "--messages", str(args.messages), "--concurrency", str(args.concurrency),
            "--max-seconds", str(args.max_seconds),
        ]  # fmt: skip
        pids = server.worker_pids()
        cpu_before = _cpu_seconds(pids)
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.max_seconds + 60, check=False,
            env={**os.environ, "FAQBOT_BENCH_TOKEN": TOKEN},
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"webhook_load: the load generator failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["server_cpu_seconds"] = round(_cpu_seconds(pids) - cpu_before, 2)  # warm-up included
    finally:
        server.stop()
    return {
        "config": name,
        "workers": workers,
        "store": state_url.split(":", 1)[0],
        "concurrency": args.concurrency,
        "log_level": args.log_level,
        **result,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per configuration (two per conversation)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="requests in flight at most (on 2 cores, beyond ~16 the generator itself saturates)",
    )
    parser.add_argument("--workers", type=int, default=2, help="workers of the Redis configuration")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    parser.add_argument("--configs", default="sqlite,redis", help="which configurations: sqlite, redis or both")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop a configuration's load after this")
    parser.add_argument("--log-level", default="INFO", help="FAQBOT_LOG_LEVEL of the server (INFO logs every request)")
    parser.add_argument("--generate", metavar="URL", help=argparse.SUPPRESS)  # the load generator process
    args = parser.parse_args(argv)
    if args.messages < 2 or args.concurrency < 1 or args.workers < 1:
        parser.error("--messages must be at least 2, --concurrency and --workers at least 1")

    if args.generate:
        token = os.environ.get("FAQBOT_BENCH_TOKEN", TOKEN)
        result = asyncio.run(_generate(args.generate, token, args.messages, args.concurrency, args.max_seconds))
        print(json.dumps(result), flush=True)
        return 0

    configs = {name.strip() for name in args.configs.split(",") if name.strip()}
    unknown = configs - {"sqlite", "redis"}
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="faqbot-bench-") as tmp:
        workdir = Path(tmp)
        if "sqlite" in configs:
            url = f"sqlite:///{workdir}/state.db"
            print(json.dumps(_measure("sqlite-1-worker", url, 1, args, workdir)), flush=True)
        if "redis" in configs:
            with _redis(args.redis_url, workdir) as url:
                name = f"redis-{args.workers}-workers"
                print(json.dumps(_measure(name, url, args.workers, args, workdir)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

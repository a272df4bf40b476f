"""Webhook throughput: signed WeChat text messages against a real ``faqbot serve``.

For each configuration — 1 worker with SQLite (the default), N workers with Redis — it
starts ``faqbot serve`` on 127.0.0.1 and runs the load generator of
:mod:`wechat_load` in a process of its own. One JSON line per configuration:
updates/second, latency percentiles, what was answered, and the server's CPU.

Run: ``python benchmarks/webhook_load.py [--messages 2000] [--concurrency 16] [--workers 2]``.
Redis: ``--redis-url redis://host:port/db``, or by default a throw-away ``redis-server``.
Timings are printed, never asserted; compare runs on the same machine, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # devtools/: the process helpers shared with the tests

from benchmarks.wechat_load import TOKEN, cpu_seconds, run_generator  # noqa: E402
from devtools.processes import ServeProcess, redis_server_binary, start_redis, stop_process  # noqa: E402


@contextmanager
def throwaway_redis(url: str | None, workdir: Path) -> Iterator[str]:
    """``url``, or a throw-away redis-server on a free loopback port."""
    if url:
        yield url
        return
    binary = redis_server_binary()
    if not binary:
        raise SystemExit("redis-server not found (install it, set REDIS_SERVER, or pass --redis-url)")
    started = start_redis(binary, workdir)
    if started is None:
        raise SystemExit("redis-server did not start")
    process, port = started
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)


def measure(name: str, state_url: str, workers: int, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    settings = {"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": state_url, "FAQBOT_LOG_LEVEL": args.log_level}
    server = ServeProcess(settings, workdir / name, workers=workers)
    server.start()
    try:
        pids = server.worker_pids()
        before = cpu_seconds(pids)
        result = run_generator(server.base_url, args.messages, args.concurrency, args.max_seconds)
        result["server_cpu_seconds"] = round(cpu_seconds(pids) - before, 2)  # warm-up included
        result["server_cpu_ms_per_update"] = round(float(result["server_cpu_seconds"]) * 1000 / args.messages, 2)
    finally:
        server.stop()
    return {"config": name, "workers": workers, "concurrency": args.concurrency, "log_level": args.log_level, **result,
            "cpus": os.cpu_count(), "python": platform.python_version()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per configuration (two per conversation)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight at most")
    parser.add_argument("--workers", type=int, default=2, help="workers of the Redis configuration")
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    parser.add_argument("--configs", default="sqlite,redis", help="which configurations: sqlite, redis or both")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop a configuration's load after this")
    parser.add_argument("--log-level", default="INFO", help="FAQBOT_LOG_LEVEL of the server (INFO logs every request)")
    args = parser.parse_args(argv)
    configs = {name.strip() for name in args.configs.split(",") if name.strip()}
    if configs - {"sqlite", "redis"} or args.messages < 2 or args.concurrency < 1 or args.workers < 1:
        parser.error("--configs takes sqlite and/or redis; --messages ≥ 2, --concurrency and --workers ≥ 1")
    with tempfile.TemporaryDirectory(prefix="faqbot-bench-") as tmp:
        workdir = Path(tmp)
        if "sqlite" in configs:
            print(json.dumps(measure("sqlite-1-worker", f"sqlite:///{workdir}/state.db", 1, args, workdir)), flush=True)
        if "redis" in configs:
            with throwaway_redis(args.redis_url, workdir) as url:
                name = f"redis-{args.workers}-workers"
                print(json.dumps(measure(name, url, args.workers, args, workdir)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

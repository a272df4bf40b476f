"""Webhook server CPU per update: ``faqbot serve`` against a bare Starlette handler
(:mod:`bare_app`), both under uvicorn (h11) on 127.0.0.1 and driven by the same load
generator (:mod:`wechat_load`, a process of its own). Issue 11 asks for at most 3×.

The CPU is the server process's (``/proc``), warm-up included, divided by the messages
sent; ``faqbot serve`` runs with one worker and its default SQLite store, and the time
its engine spent in turns (``/metrics``) is shown beside it: the understanding's share,
which the rest of the server does not control. Timings are printed, never asserted.

``python benchmarks/webhook_cpu.py [--messages 2000] [--concurrency 16] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.wechat_load import TOKEN, cpu_seconds, run_generator  # noqa: E402
from devtools.processes import ServeProcess, free_port, serve_env  # noqa: E402


@dataclass
class Target:
    url: str
    pids: Callable[[], set[int]]
    stop: Callable[[], object]
    has_metrics: bool

    def engine_seconds(self) -> float:
        """Time spent in engine turns so far (``faqbot_turn_seconds_sum``)."""
        if not self.has_metrics:
            return 0.0
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("faqbot_turn_seconds_sum"))


def bare(workdir: Path) -> Target:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--http", "h11", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=serve_env({}), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise SystemExit("the bare app did not start") from None
            time.sleep(0.05)
    return Target(url, lambda: {process.pid}, lambda: (process.terminate(), process.wait()), has_metrics=False)


def faqbot(workdir: Path, log_level: str) -> Target:
    settings = {
        "WECHAT_TOKEN": TOKEN,
        "FAQBOT_STATE_URL": f"sqlite:///{workdir}/state.db",
        "FAQBOT_LOG_LEVEL": log_level,
    }
    server = ServeProcess(settings, workdir)
    server.start()
    return Target(server.base_url, server.worker_pids, server.stop, has_metrics=True)


def measure(target: Target, args: argparse.Namespace) -> tuple[float, float]:
    """Server CPU and engine-turn milliseconds per update for one run."""
    try:
        cpu, engine = cpu_seconds(target.pids()), target.engine_seconds()
        result = run_generator(target.url, args.messages, args.concurrency, args.max_seconds)
        assert result["errors"] == 0, result
        return (cpu_seconds(target.pids()) - cpu) * 1000 / args.messages, (
            target.engine_seconds() - engine
        ) * 1000 / args.messages
    finally:
        target.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, interleaved; medians reported")
    parser.add_argument("--log-level", default="INFO", help="FAQBOT_LOG_LEVEL (INFO writes a line per message)")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float]]] = {"bare starlette": [], "faqbot serve": []}
    with tempfile.TemporaryDirectory(prefix="faqbot-cpu-") as tmp:
        for round_ in range(args.rounds):  # interleaved, so that both see the same machine
            runs["bare starlette"].append(measure(bare(Path(tmp)), args))
            runs["faqbot serve"].append(measure(faqbot(Path(tmp) / f"r{round_}", args.log_level), args))
    medians = {}
    for name, values in runs.items():
        medians[name] = statistics.median(cpu for cpu, _ in values)
        engine = statistics.median(turns for _, turns in values)
        print(json.dumps({"server": name, "cpu_ms_per_update": [round(cpu, 2) for cpu, _ in values],
                          "median": round(medians[name], 2), "engine_turn_ms_per_update": round(engine, 2)}))  # fmt: skip
    print(json.dumps({"ratio": round(medians["faqbot serve"] / medians["bare starlette"], 2)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

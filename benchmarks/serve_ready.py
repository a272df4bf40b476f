"""How long ``faqbot serve`` takes from the command to a ``GET /healthz`` answering 200
(issue 11: at most 1.5 s), one worker with the default SQLite store and the WeChat channel
(Telegram adds a getMe round trip to the Bot API). Also ``faqbot check``, a cold start of
the command line that loads the knowledge base.

``python benchmarks/serve_ready.py [--runs 5]`` — the median and every run, in seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.wechat_load import TOKEN  # noqa: E402
from devtools.processes import ServeProcess, serve_env  # noqa: E402


def serve_ready(workdir: Path) -> float:
    server = ServeProcess({"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": f"sqlite:///{workdir}/state.db"}, workdir)
    started = time.perf_counter()
    server.start()  # returns once /healthz answers 200 (polled every 50 ms)
    ready = time.perf_counter() - started
    server.stop()
    return ready


def check(workdir: Path) -> float:
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "check"], cwd=workdir, env=serve_env({}), check=True,
                   capture_output=True)  # fmt: skip
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faqbot-ready-") as tmp:
        for name, measure in (("faqbot serve ready", serve_ready), ("faqbot check", check)):
            runs = [measure(Path(tmp) / f"{name.split()[1]}{n}") for n in range(args.runs)]
            print(json.dumps({"measure": name, "median_s": round(statistics.median(runs), 3),
                              "runs_s": [round(r, 3) for r in runs]}), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Deadlines are counted in mainland China's day, whatever the server's time zone.

A real ``faqbot chat`` runs under ``faketime`` on a server set to UTC at 16:30 on
24 November — already 00:30 on 25 November in Beijing. "Yesterday" is then the 24th, and
"today" in the answer is the 25th. faketime is Debian's ``faketime`` package (``.ci/run``
installs it); the test fails, never skips, without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from bot.dialogue.engine import CHINA, china_today

UTC_EVENING = "2026-11-24 16:30:00"
"""16:30 UTC on the 24th: 00:30 on the 25th in Beijing."""


def test_china_today_is_the_day_in_beijing() -> None:
    moment = datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc)
    assert moment.astimezone(CHINA).date().isoformat() == "2026-11-25"
    assert china_today().isoformat() == datetime.now(CHINA).date().isoformat()


def chat_at_utc_evening(*lines: str) -> list[dict[str, object]]:
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.fail("faketime is not installed (Debian: apt-get install faketime); .ci/run installs it", pytrace=False)
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAQBOT_")}
    env |= {"TZ": "UTC", "PYTHONIOENCODING": "utf-8"}
    if "FAQBOT_CACHE_DIR" in os.environ:
        env["FAQBOT_CACHE_DIR"] = os.environ["FAQBOT_CACHE_DIR"]
    done = subprocess.run(
        [faketime, UTC_EVENING, sys.executable, "-m", "bot", "chat", "--json"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, timeout=300, check=True,
    )  # fmt: skip
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_utc_server_after_midnight_in_beijing_counts_from_the_chinese_day() -> None:
    asked, answered, in_a_month = chat_at_utc_evening("激活期限是多久", "昨天领的", "上个月领的卡，激活期限到哪天")
    assert asked["awaiting"] == "received_date"
    assert answered["slots"] == {"received_date": "2026-11-24"}
    text = answered["replies"][0]["text"]  # type: ignore[index]
    assert "今天是 2026年11月25日" in text and "2026年11月24日 领卡" in text and "2027年5月24日" in text
    assert in_a_month["slots"] == {"received_month": "2026-10", "received_range": "2026-10-01/2026-10-31"}
    assert "2026年10月1日" not in in_a_month["replies"][0]["text"]  # type: ignore[index]  # no day it was not told

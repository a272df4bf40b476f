"""Live updates: a real ``faqbot serve`` reloads the knowledge base on SIGHUP, keeps a pending
follow-up across the reload, and refuses a broken knowledge base with one log line, keeping
the one it has."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from pathlib import Path

from bot.settings import PROJECT_ROOT
from devtools.processes import ServeProcess
from tests.test_restart import say, wechat_settings

MARK = "【本地更新】"


def knowledge_copy(folder: Path) -> Path:
    for part in ("intents", "responses"):
        shutil.copytree(PROJECT_ROOT / part, folder / part)
    return folder


async def logged(server: ServeProcess, line: str, after: int, timeout: float = 60.0) -> str:
    """The first log line containing ``line`` past byte ``after`` of the server's log."""
    assert server.log_path is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.log_path.read_bytes()[after:].decode(errors="replace")
        found = [entry for entry in text.splitlines() if line in entry]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {line!r} in the log within {timeout} s")


async def test_sighup_reloads_keeps_conversations_and_refuses_a_broken_knowledge_base(tmp_path: Path) -> None:
    kb = knowledge_copy(tmp_path / "kb")
    settings = wechat_settings(f"sqlite:///{tmp_path}/state.db", FAQBOT_KB_DIR=str(kb))
    server = ServeProcess(settings, tmp_path / "run")
    await asyncio.to_thread(server.start)
    assert server.process is not None and server.log_path is not None
    user = "oReload0000000000000000000"
    try:
        asked = await say(server.base_url, user, "社保卡在哪激活")
        assert "金融账户" in asked  # the follow-up is pending
        answers = kb / "responses" / "where_to_activate.yaml"
        answers.write_text(
            answers.read_text(encoding="utf-8").replace(
                "不需要金融账户的话，不一定要去银行激活", MARK + "不一定要去银行激活", 1
            ),
            encoding="utf-8",
        )
        mark = server.log_path.stat().st_size
        server.process.send_signal(signal.SIGHUP)
        reloaded = await logged(server, "knowledge.reloaded", mark)
        assert "examples=" in reloaded
        answered = await say(server.base_url, user, "2")  # no bank functions
        assert MARK in answered  # the pending question survived, the new text answers it

        lexicon = kb / "intents" / "_lexicon.yaml"
        lexicon.write_text(lexicon.read_text(encoding="utf-8") + "\n  broken: [unclosed\n", encoding="utf-8")
        mark = server.log_path.stat().st_size
        server.process.send_signal(signal.SIGHUP)
        refused = await logged(server, "knowledge.reload_refused", mark)
        assert "_lexicon.yaml:" in refused  # where the problem is
        assert server.process.poll() is None
        again = await say(server.base_url, "oReload1111111111111111111", "我不需要金融功能，社保卡去哪激活")
        assert MARK in again  # the knowledge base it had
    finally:
        await asyncio.to_thread(server.stop)

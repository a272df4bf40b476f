"""Votes on answers, through the fake Telegram server: two buttons under each answer from the
source, the asker's vote only, and the review log (read by a real ``faqbot review``) showing
the 👎 and a fallback at once, without any id of the person."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.channels.telegram.app import Poller, TelegramChannel
from bot.review.log import review_log_for
from bot.state import StateStore, open_store
from tests.conftest import MakeEngine
from tests.fake_telegram import BOT_USERNAME, FakeTelegram, buttons, make_settings, shown

ALICE, BOB, GROUP = 3101, 3102, -1003100


@contextlib.asynccontextmanager
async def voting_bot(fake: FakeTelegram, make_engine: MakeEngine, db: Path) -> AsyncIterator[StateStore]:
    """The bot polling ``fake`` on a SQLite state file, with the review log on."""
    settings = make_settings(fake, faqbot_state_url=f"sqlite:///{db}")
    store = await open_store(settings.faqbot_state_url)
    engine = make_engine(store, review=review_log_for(store, 90))
    poller = Poller(TelegramChannel(settings, engine, store))
    await poller.start(poll_timeout=1)
    try:
        yield store
    finally:
        await poller.stop(5.0)
        await store.close()


def faqbot_review(db: Path) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAQBOT_")}
    env["FAQBOT_STATE_URL"] = f"sqlite:///{db}"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "review", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data


async def test_a_vote_and_a_fallback_reach_the_review_without_ids(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    alice = fake.user(ALICE, "Alice", "zh-hans")
    chat = fake.private_chat(alice)
    async with voting_bot(fake, make_engine, db):
        await fake.enqueue(fake.text_update(chat, alice, "激活社保卡要带什么证件"))
        (answer,) = await fake.wait_sent(ALICE, 1)
        text, labels = shown(answer)
        assert "身份证" in text and labels == ("👍 有帮助", "👎 没帮助")
        assert len(answer["reply_markup"]["inline_keyboard"]) == 1  # side by side
        await fake.enqueue(fake.press_update(alice, answer, buttons(answer)[1]))  # 👎
        (thanked,) = await fake.wait_calls("answerCallbackQuery", 1)
        assert thanked.params.get("text") == "谢谢您的评价！"
        await fake.wait_calls("editMessageReplyMarkup", 1)  # the buttons go
        await fake.enqueue(fake.text_update(chat, alice, "今天北京天气怎么样"))
        await fake.wait_sent(ALICE, 2)
        review = faqbot_review(db)  # at once: the entries are written with the turn
    outcomes = {outcome for group in review["groups"] for outcome in group["outcomes"]}
    assert outcomes == {"down", "fallback"}
    assert review["votes"] == {"documents_needed": {"up": 0, "down": 1}}
    assert any("证件" in text for group in review["groups"] for text in group["examples"])
    dumped = json.dumps(review, ensure_ascii=False)
    assert str(ALICE) not in dumped and "Alice" not in dumped


async def test_only_the_askers_vote_counts_in_a_group(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    group = fake.group_chat(GROUP)
    alice, bob = fake.user(ALICE, "Alice", "zh-hans"), fake.user(BOB, "Bob", "en")
    async with voting_bot(fake, make_engine, db):
        await fake.enqueue(fake.text_update(group, alice, f"@{BOT_USERNAME} 社保卡激活需要带身份证吗"))
        (answer,) = await fake.wait_sent(GROUP, 1)
        await fake.enqueue(fake.press_update(bob, answer, buttons(answer)[1]))  # Bob's 👎 on Alice's answer
        (refused,) = await fake.wait_calls("answerCallbackQuery", 1)
        assert refused.params.get("text") == "Only the person who asked can rate this answer."
        await fake.enqueue(fake.press_update(alice, answer, buttons(answer)[0]))  # Alice's 👍
        await fake.wait_calls("answerCallbackQuery", 2)
        await fake.wait_calls("editMessageReplyMarkup", 1)
        review = faqbot_review(db)
    assert review["votes"] == {"documents_needed": {"up": 1, "down": 0}}
    assert review["groups"] == []

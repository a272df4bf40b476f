"""The review log: what is kept (and what never is), where, for how long, and what it shows."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.dialogue import Engine
from bot.knowledge import KnowledgeBase
from bot.messages import Command
from bot.review.entry import ReviewEntry, mask_numbers
from bot.review.log import MemoryReviewLog, SQLiteReviewLog, review_log_for
from bot.review.report import group_entries, review, since_of, votes
from bot.state import open_store
from bot.understanding.compiled import Compiled
from tests.support import fixed_matcher

KEY = "tg:1001:2002"


def entry(text: str, outcome: str = "fallback", **fields: object) -> ReviewEntry:
    return ReviewEntry.of_message(text, channel="telegram", language="zh", outcome=outcome, **fields)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证110101199003071234能激活吗", "身份证#能激活吗"),
        ("身份证11010119900307123X", "身份证#"),
        ("call me on 138 1234 5678", "call me on #"),
        ("card 6222-0212-3456-7890 blocked", "card # blocked"),
        ("我2026-05-10领的卡", "我2026-05-10领的卡"),
        ("12333 是热线", "12333 是热线"),
    ],
)
def test_long_numbers_are_masked_dates_and_hotlines_stay(text: str, masked: str) -> None:
    assert mask_numbers(text) == masked


async def test_declined_questions_are_logged_without_any_id(make_engine: Callable[..., Engine]) -> None:
    log = MemoryReviewLog()
    engine = make_engine(review=log)
    await engine.handle(KEY, "激活社保卡要收费吗")  # not covered
    await engine.handle(KEY, "what is the weather in Beijing")  # out of scope
    await engine.handle(KEY, "我的手机号13812345678，社保卡密码忘了")  # not covered, a phone number
    entries = await log.entries()
    assert [e.outcome for e in entries] == ["not_covered", "fallback", "not_covered"]
    dumped = json.dumps([e.model_dump() for e in entries], ensure_ascii=False)
    for secret in ("1001", "2002", "13812345678", KEY):
        assert secret not in dumped
    assert "#" in entries[2].text
    assert all(e.channel == "tg" and e.guesses for e in entries)


async def test_answered_questions_and_small_talk_are_not_logged(make_engine: Callable[..., Engine]) -> None:
    log = MemoryReviewLog()
    engine = make_engine(review=log)
    for text in ("激活社保卡要带什么", "谢谢", "你好", "拜拜"):
        await engine.handle(KEY, text)
    assert await log.entries() == []


async def test_a_reasked_follow_up_is_logged_with_the_question_that_asked(make_engine: Callable[..., Engine]) -> None:
    log = MemoryReviewLog()
    engine = make_engine(review=log)
    await engine.handle(KEY, "社保卡在哪里激活")
    await engine.handle(KEY, "紫色香蕉")
    (logged,) = await log.entries()
    assert logged.outcome == "reasked" and logged.intent == "where_to_activate"
    assert "哪里激活" in logged.text


async def test_votes_count_only_from_the_asker_and_the_last_vote_counts(make_engine: Callable[..., Engine]) -> None:
    log = MemoryReviewLog()
    engine = make_engine(review=log)
    turn = await engine.handle(KEY, "激活社保卡要带什么证件")
    feedback = turn.replies[0].feedback
    assert feedback is not None
    assert not await engine.feedback("tg:1001:3003", feedback, "down")  # another member of the group
    assert await engine.feedback(KEY, feedback, "down")
    assert await engine.feedback(KEY, feedback, "up")
    assert not await engine.feedback(KEY, "no-such-answer", "down")
    entries = await log.entries()
    assert [e.outcome for e in entries] == ["down", "up"]
    assert entries[0].intent == "documents_needed" and "证件" in entries[0].text
    assert votes(entries) == {"documents_needed": {"up": 1, "down": 0}}
    assert group_entries(entries) == []  # the 👎 was taken back


async def test_a_did_you_mean_and_what_was_picked_are_tied(
    make_engine: Callable[..., Engine], compiled_kb: tuple[KnowledgeBase, Compiled]
) -> None:
    log = MemoryReviewLog()
    engine = make_engine(review=log)
    engine.reader.matcher = fixed_matcher(compiled_kb, where_to_activate=0.4, how_to_activate=0.35, out_of_scope=0.25)
    turn = await engine.handle(KEY, "社保卡能在医院激活吗")
    assert len(turn.replies[-1].choices) == 2  # did you mean where or how?
    await engine.handle(KEY, "1")
    entries = await log.entries()
    assert [e.outcome for e in entries] == ["did_you_mean", "picked"]
    assert entries[0].ref == entries[1].ref and entries[1].text == ""


def test_groups_are_similar_texts_largest_first_with_what_people_picked() -> None:
    entries = [
        entry("社保卡激活要收费吗", "not_covered"),
        entry("社保卡激活收费吗", "not_covered"),
        entry("社保卡激活要不要收费", "not_covered"),
        entry("今天天气怎么样"),
        entry(
            "社保卡在医院能激活吗",
            "did_you_mean",
            guesses=[("where_to_activate", 0.4), ("how_to_activate", 0.35)],
            ref="p1",
        ),
        ReviewEntry(channel="tg", language="zh", outcome="picked", intent="where_to_activate", ref="p1"),
    ]
    data = review(entries)
    groups = data["groups"]
    assert [g["count"] for g in groups] == [3, 1, 1]
    assert groups[0]["suggested_intent"] == "not_covered"
    picked = next(g for g in groups if g["picked"])
    assert picked["picked"] == {"where_to_activate": 1} and picked["suggested_intent"] == "where_to_activate"
    assert next(g for g in groups if "天气" in g["examples"][0])["suggested_intent"] == "out_of_scope"


def test_since_reads_durations() -> None:
    now = 1_000_000.0
    assert since_of("7d", now) == now - 7 * 86400
    assert since_of("24h", now) == now - 86400
    assert since_of("2w", now) == now - 14 * 86400
    with pytest.raises(ValueError, match="duration"):
        since_of("last week", now)


async def test_sqlite_log_expires_and_purges(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    store = await open_store(url)
    try:
        log = review_log_for(store, keep_days=1)
        await log.add(entry("很久以前的问题").model_copy(update={"at": time.time() - 3 * 86400}))
        await log.add(entry("新的问题"))
        assert [e.text for e in await log.entries()] == ["新的问题"]  # past the keeping period: never shown
        other = await open_store(url)  # another process, same file
        try:
            assert [e.text for e in await review_log_for(other, keep_days=1).entries()] == ["新的问题"]
        finally:
            await other.close()
        assert await log.purge() >= 1
        assert await log.entries() == []
    finally:
        await store.close()


async def test_redis_log_is_one_stream_for_every_worker(redis_url: str) -> None:
    first, second = await open_store(redis_url), await open_store(redis_url)  # two workers
    try:
        one, two = review_log_for(first, 90), review_log_for(second, 90)
        await one.add(entry("worker one"))
        await two.add(entry("worker two"))
        assert [e.text for e in await one.entries()] == ["worker one", "worker two"]
        assert [e.text for e in await two.entries(since=time.time() + 60)] == []
        assert await two.purge() == 2
        assert await one.entries() == []
    finally:
        await first.close()
        await second.close()


async def test_the_log_follows_the_state_store_backend(tmp_path: Path) -> None:
    sqlite = await open_store(f"sqlite:///{tmp_path}/s.db")
    memory = await open_store("memory://")
    try:
        assert isinstance(review_log_for(sqlite, 90), SQLiteReviewLog)
        assert isinstance(review_log_for(memory, 90), MemoryReviewLog)
    finally:
        await sqlite.close()


async def test_welcome_and_help_say_what_is_kept_only_when_something_is(make_engine: Callable[..., Engine]) -> None:
    kept = make_engine(review=MemoryReviewLog(keep_days=30))
    for command in (Command.START, Command.HELP):
        assert "30" in (await kept.handle(KEY, command, hint="zh")).replies[0].text
    plain = make_engine()
    assert "匿名" not in (await plain.handle(KEY, Command.START, hint="zh")).replies[0].text


def test_faqbot_review_reads_and_purges_the_state_file(tmp_path: Path) -> None:
    import asyncio

    db = tmp_path / "state.db"

    async def keep_one() -> None:
        store = await open_store(f"sqlite:///{db}")
        try:
            await review_log_for(store, 90).add(entry("社保卡激活要收费吗", "not_covered"))
        finally:
            await store.close()

    asyncio.run(keep_one())
    env = {"FAQBOT_STATE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"}

    def faqbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "review", *args], capture_output=True, text=True, env=env, timeout=120
        )

    shown = faqbot("--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["groups"][0]["examples"] == ["社保卡激活要收费吗"]
    assert faqbot("--since", "soon").returncode == 2
    purged = faqbot("--purge")
    assert purged.returncode == 0 and "deleted 1" in purged.stdout
    assert json.loads(faqbot("--json").stdout)["entries"] == 0

"""The WeCom robot's webhook in process (ASGI) against the fake WeCom, with the real engine.

Expected answers come from a second engine fed the same messages, so the tests follow the
knowledge base instead of repeating its wording. Processes, workers and Redis:
``test_wecom_serve.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from bot.channels.wecom.channel import WeComChannel
from bot.messages import Command, Reply, Turn
from bot.review.entry import ReviewEntry
from bot.review.log import MemoryReviewLog
from bot.settings import Settings
from bot.state import MemoryStore
from tests.conftest import MakeEngine
from tests.fake_wecom import KEY, TOKEN, Answer, FakeWeCom
from tests.support import RecordingEngine

T = TypeVar("T")
ASKER, OTHER = "zhangsan", "lisi"
FOLLOW_UP = "社保卡激活期限是多久"  # asks when the card came, offering "不确定"
LONG = "\n\n".join(f"第{i}段：" + "社保卡激活说明，请带身份证原件到银行网点办理。" * 30 for i in range(1, 16))
"""About 31 KB: more than one reply (20480 bytes) carries, less than two."""


@dataclass
class Harness:
    fake: FakeWeCom
    engine: RecordingEngine
    review: MemoryReviewLog
    make: MakeEngine


@pytest.fixture
def harness(make_engine: MakeEngine) -> Any:
    @asynccontextmanager
    async def start(engine_options: dict[str, Any] | None = None, **options: Any) -> AsyncIterator[Harness]:
        store, review = MemoryStore(), MemoryReviewLog()
        engine = RecordingEngine(make_engine(store, review=review), **(engine_options or {}))
        if options.pop("store_down", False):
            store.tokens = DownTokens()  # type: ignore[assignment]
        settings = Settings(_env_file=None, wecom_token=SecretStr(TOKEN), wecom_aes_key=SecretStr(KEY),  # type: ignore[call-arg]
                            faqbot_flood_group_per_minute=options.pop("flood", 0))  # fmt: skip
        app = Starlette(routes=WeComChannel(settings, engine, store, **options).routes())  # type: ignore[arg-type]
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wecom.test")
        async with client, FakeWeCom(client).running() as fake:
            yield Harness(fake, engine, review, make_engine)

    return start


class DownTokens:
    """A token store that is down: every call fails."""

    def __getattr__(self, name: str) -> Callable[..., Awaitable[None]]:
        async def down(*args: object, **kwargs: object) -> None:
            raise ConnectionError("the store is down")

        return down


async def votes_in(review: MemoryReviewLog) -> list[ReviewEntry]:
    return [e for e in await review.entries(0) if e.outcome in ("up", "down")]


async def until(probe: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """``probe()``'s first truthy value (what the channel does after answering takes a moment)."""
    deadline = time.monotonic() + timeout
    while not (value := await probe()):
        assert time.monotonic() < deadline, "nothing came"
        await asyncio.sleep(0.05)
    return value


def shown(turn: Turn) -> list[str]:
    """The lines a member reads for ``turn``'s replies (each reply's text, line by line)."""
    return [line.strip() for reply in turn.replies for line in reply.text.splitlines() if line.strip()]


def assert_shows(answer: Answer | dict[str, Any], turn: Turn) -> None:
    content = answer.content if isinstance(answer, Answer) else answer["markdown"]["content"].replace("\\", "")
    for line in shown(turn):
        assert line in content, (line, content)


# ------------------------------------------------------------------------- the URL check


async def test_the_url_check_answers_the_plaintext_and_refuses_what_does_not_verify(harness: Any) -> None:
    async with harness() as h:
        now = str(int(time.time()))
        ok = await h.fake.client.get("/wecom", params=h.fake.peer.echostr("1616140317555161061", timestamp=now))
        assert (ok.status_code, ok.text) == (200, "1616140317555161061")  # no quotes, no BOM, no newline
        forged = FakeWeCom(h.fake.client, token="another").peer.echostr("x", timestamp=now)
        stale = h.fake.peer.echostr("x", timestamp=str(int(time.time()) - 3600))
        for query in (forged, stale, {}):
            refused = await h.fake.client.get("/wecom", params=query)
            assert refused.status_code == 403 and "x" not in refused.text


# ------------------------------------------------------------------------- a group conversation


async def test_a_group_conversation_with_buttons_votes_and_two_members(harness: Any) -> None:
    async with harness() as h:
        fake, reference = h.fake, h.make()
        asked = await fake.send(fake.question(FOLLOW_UP, ASKER))
        expected = await reference.handle("ref:asker", FOLLOW_UP)
        assert asked.reply is not None and asked.reply["msgtype"] == "stream_with_template_card"
        assert asked.stream["finish"] is True
        assert_shows(asked, expected)
        assert [b["text"] for b in asked.card["button_list"]] == list(expected.replies[-1].choices)

        other = fake.press(asked.card, 0, OTHER)
        assert (await fake.send(other)) == Answer(200, None)  # an empty reply, within the 5 s
        second = await fake.send(fake.question("社保卡怎么激活", OTHER))
        assert_shows(second, await reference.handle("ref:other", "社保卡怎么激活"))

        press = fake.press(asked.card, 0, ASKER)
        assert (await fake.send(press)) == Answer(200, None)
        chosen = await fake.active_reply(press["response_url"].rsplit("/", 1)[1])
        assert chosen["msgtype"] == "markdown"
        typed = await reference.handle("ref:asker", expected.replies[-1].choices[0])
        assert_shows(chosen, typed)
        assert other["response_url"].rsplit("/", 1)[1] not in fake.active  # the other member's press: nothing
        assert ("choose", "wecom:CHATID:lisi", 0) in h.engine.calls

        feedback = chosen["markdown"]["feedback"]["id"]
        assert await fake.send(fake.vote(feedback, 2, OTHER)) == Answer(200, None)  # not their answer
        assert await fake.send(fake.vote(feedback, 2, ASKER)) == Answer(200, None)
        assert await fake.send(fake.vote(feedback, 3, ASKER)) == Answer(200, None)  # taken back: nothing logged
        votes = await until(lambda: votes_in(h.review))  # votes are counted after the empty reply
        assert [(e.outcome, e.channel, e.intent) for e in votes] == [("down", "wecom", typed.intent)]


async def test_the_mention_alone_shows_the_topics_and_the_dropdown_picks_one(harness: Any) -> None:
    async with harness() as h:
        menu = await h.fake.send(h.fake.question("", ASKER))
        topics = (await h.make().handle("ref", Command.START)).replies[-1]
        assert [o["text"][:2] for o in menu.card["button_selection"]["option_list"]] == [
            f"{i}." if i < 10 else "10" for i in range(1, len(topics.choices) + 1)
        ]
        press = h.fake.press(menu.card, 2, ASKER)
        await h.fake.send(press)
        picked = await h.fake.active_reply(press["response_url"].rsplit("/", 1)[1])
        assert_shows(picked, await h.make().handle("ref", topics.choices[2]))


async def test_enter_chat_gets_the_welcome(harness: Any) -> None:
    async with harness() as h:
        welcome = await h.fake.send(h.fake.callback("enter_chat", ASKER))
        assert welcome.reply is not None and welcome.reply["msgtype"] in ("template_card", "text")
        assert h.engine.handled() == [("wecom:zhangsan", Command.START)]


async def test_other_kinds_and_the_rest_of_a_long_answer(harness: Any) -> None:
    def long(message: str | Command, turn: Turn) -> tuple[Reply, ...] | None:
        return (Reply(LONG),) if message == "请详细说说" else None

    async with harness({"replies": long}) as h:
        image = await h.fake.send(h.fake.callback("image_single", ASKER))
        assert image.content == h.engine.notice("non_text", "zh")
        voice = await h.fake.send(h.fake.callback("voice_single", ASKER, voice={"content": "社保卡怎么激活"}))
        assert_shows(voice, await h.make().handle("ref", "社保卡怎么激活"))
        first = await h.fake.send(h.fake.question("请详细说说", ASKER))
        assert first.content.endswith(h.engine.notice("more", "zh")) and len(first.stream["content"].encode()) <= 20480
        rest = await h.fake.send(h.fake.question("0", ASKER))
        assert rest.content.startswith("第") and rest.content.split("：")[0] not in first.content
        assert LONG.endswith(rest.content[-40:]) and h.engine.notice("more", "zh") not in rest.content
        unknown = await h.fake.send(h.fake.callback("event_common", ASKER))
        assert unknown == Answer(200, None)


# ------------------------------------------------------------------------- retries, deadlines, failures


async def test_a_resent_message_runs_once_and_gets_the_same_reply(harness: Any) -> None:
    async with harness() as h:
        question = h.fake.question("社保卡怎么激活", ASKER)
        first, again = await h.fake.send(question), await h.fake.send(question)
        assert first.reply == again.reply and first.reply is not None
        assert len(h.engine.handled()) == 1


async def test_a_slow_turn_is_fetched_by_stream_refreshes(harness: Any) -> None:
    async with harness({"delay": 0.6}, engine_timeout=0.1) as h:
        started = time.monotonic()
        pending = await h.fake.send(h.fake.question("社保卡怎么激活", ASKER))
        assert time.monotonic() - started < 0.5
        assert pending.stream["finish"] is False and "content" not in pending.stream
        done = await h.fake.finished(pending, ASKER)
        assert done.stream["id"] == pending.stream["id"]
        assert_shows(done, await h.make().handle("ref", "社保卡怎么激活"))
        assert len(h.engine.handled()) == 1


async def test_a_turn_too_slow_for_refreshes_goes_to_response_url(harness: Any) -> None:
    async with harness({"delay": 0.8}, engine_timeout=0.1, refresh_seconds=0.3) as h:
        question = h.fake.question("社保卡怎么激活", ASKER)
        pending = await h.fake.send(question)
        assert pending.stream["finish"] is False
        late = await h.fake.active_reply(question["response_url"].rsplit("/", 1)[1])
        assert_shows(late, await h.make().handle("ref", "社保卡怎么激活"))
        ended = await h.fake.finished(pending, ASKER)
        assert "content" not in ended.stream  # the stream ends empty: the answer is not shown twice


async def test_a_failed_turn_gets_the_unavailable_notice_once(harness: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    question_text = "我的社保卡号是123456怎么激活"
    async with harness({"fail": lambda message: True}) as h:
        question = h.fake.question(question_text, ASKER)
        failed = await h.fake.send(question)
        assert failed.content == h.engine.notice("unavailable", "zh")
        assert (await h.fake.send(question)).reply == failed.reply and len(h.engine.handled()) == 1
        await h.fake.send(h.fake.vote("nonexistent.ids", 1, ASKER))
        await until(lambda: asyncio.sleep(0, any("feedback" in str(c) for c in h.engine.calls)))
    logged = "\n".join(
        f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records if r.name.startswith("bot")
    )
    assert "wecom.turn_failed" in logged and "wecom.reply" in logged
    for secret in (question_text, ASKER, "CHATID", TOKEN, KEY, question["msgid"]):
        assert secret not in logged


async def test_a_store_that_is_down_gets_the_unavailable_notice(harness: Any) -> None:
    async with harness(store_down=True) as h:
        notice = h.engine.notice("unavailable", "zh")
        assert (await h.fake.send(h.fake.question("社保卡怎么激活", ASKER))).content == notice
        press = h.fake.press({"task_id": "t", "button_list": [{"key": "faq:ab12:0"}]}, 0, ASKER)
        assert await h.fake.send(press) == Answer(200, None)
        told = await h.fake.active_reply(press["response_url"].rsplit("/", 1)[1])
        assert told["markdown"]["content"].replace("\\", "") == notice
        assert h.engine.handled() == []


async def test_a_flooding_member_is_told_once_then_ignored(harness: Any) -> None:
    async with harness(flood=2) as h:
        answers = [await h.fake.send(h.fake.question(f"社保卡怎么激活{i}", ASKER)) for i in range(4)]
        assert answers[2].content == h.engine.notice("flood", "zh")
        assert answers[3] == Answer(200, None)
        assert (await h.fake.send(h.fake.question("社保卡怎么激活", OTHER))).reply is not None  # others go on


# ------------------------------------------------------------------------- what does not verify


async def test_what_does_not_verify_or_parse_is_refused(harness: Any) -> None:
    async with harness() as h:
        fake = h.fake
        question = fake.question("社保卡怎么激活", ASKER)
        forged = await FakeWeCom(fake.client, token="another").send(question)
        stale = await fake.send(question, timestamp=int(time.time()) - 3600)
        other_key = await FakeWeCom(fake.client, key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").send(question)
        assert (forged.status, stale.status, other_key.status) == (403, 403, 403)
        query, body = fake.peer.callback(json.dumps(question), timestamp=str(int(time.time())))
        signed_not_json = fake.peer.callback("not json", timestamp=str(int(time.time())))
        for params, content in ((query, b"not json"), (query, b'{"Encrypt": "x"}'), signed_not_json,
                                fake.peer.callback(json.dumps({"msgid": "1"}), timestamp=str(int(time.time())))):  # fmt: skip
            refused = await fake.client.post("/wecom", params=params, content=content)
            assert refused.status_code == 400 and "Traceback" not in refused.text
        too_big = await fake.client.post("/wecom", params=query, content=b"{" + b" " * 70_000 + body + b"}")
        assert too_big.status_code == 413
        assert h.engine.handled() == []


async def test_the_knowledge_base_still_asks_a_follow_up(make_engine: MakeEngine) -> None:
    """:data:`FOLLOW_UP` gets a question with choices (else the tests above prove less)."""
    turn = await make_engine().handle("k", FOLLOW_UP)
    assert turn.replies[-1].choices and turn.replies[-1].prompt_id

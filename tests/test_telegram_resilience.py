"""No flooding, no lost answers: 429 RetryAfter, network errors, bursts, failing handlers."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.channels.log_ids import log_key, user_ref
from bot.channels.telegram import conversation_key
from bot.messages import Command, Language, Turn
from tests.fake_telegram import FakeTelegram, RunningBot, expected_messages, polling_bot, shown


async def test_429_retry_after_is_waited_out_and_retried(tg: RunningBot) -> None:
    fake = tg.fake
    user = fake.user(4001, language_code="en")
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])
    expected = await tg.expect_handle(key, "what do I need to bring", user)
    fake.fail_next("sendMessage", status=429, retry_after=1)
    sent = await tg.send(
        fake.text_update(chat, user, "what do I need to bring"), replies=len(expected_messages(expected))
    )
    assert [shown(m) for m in sent] == expected_messages(expected)
    first, second = fake.calls_of("sendMessage")[:2]
    assert first.params["text"] == second.params["text"]
    assert second.at - first.at >= 1.0


async def test_network_errors_are_retried_with_backoff(tg: RunningBot) -> None:
    fake = tg.fake
    user = fake.user(4002, language_code="zh")
    chat = fake.private_chat(user)
    fake.fail_next("sendMessage", status=502, times=2)
    sent = await tg.send(fake.text_update(chat, user, "/start"))
    assert sent
    calls = fake.calls_of("sendMessage")
    assert len(calls) == 3 and calls[0].params["text"] == calls[2].params["text"]
    assert calls[2].at - calls[1].at > calls[1].at - calls[0].at  # backing off


async def test_a_burst_is_answered_in_order_and_nothing_is_dropped(tg: RunningBot) -> None:
    fake = tg.fake
    questions = ["社保卡在哪里激活", "不需要", "激活期限是多久", "how do I activate it", "thanks"]
    users = [fake.user(4100 + n, language_code="en" if n % 2 else "zh") for n in range(8)]
    expected: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
    updates = []
    for user in users:
        chat = fake.private_chat(user)
        key = conversation_key(chat["id"], user["id"])
        expected[chat["id"]] = []
        for text in questions:
            expected[chat["id"]] += expected_messages(await tg.expect_handle(key, text, user))
    for text in questions:  # interleaved, as they would arrive
        for user in users:
            updates.append(fake.text_update(fake.private_chat(user), user, text))
    fake.fail_next("sendMessage", status=429, retry_after=1)
    await fake.enqueue(*updates)
    for chat_id, messages in expected.items():
        sent = await fake.wait_sent(chat_id, len(messages), timeout=20)
        assert [shown(m) for m in sent] == messages
    await tg.idle()
    assert len(fake.sent()) == sum(len(m) for m in expected.values())


class Exploding:
    """The real engine, except that one message makes it fail."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def handle(self, key: str, text: str | Command, *, hint: Language | None = None) -> Turn:
        if text == "boom":
            raise RuntimeError("engine failure")
        return await self.engine.handle(key, text, hint=hint)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


async def test_errors_are_logged_with_the_update_id_and_the_bot_keeps_serving(
    fake: FakeTelegram, fast_retries: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with polling_bot(fake, engine_type=Exploding) as tg:
        user = fake.user(4200, language_code="en")
        chat = fake.private_chat(user)
        boom = fake.text_update(chat, user, "boom")
        await fake.enqueue(boom)
        fake.fail_next("sendMessage", status=502, times=4)  # one answer fails for good
        failing = fake.text_update(chat, user, "hello")
        await fake.enqueue(failing)
        await tg.idle()
        sent = await tg.send(fake.text_update(chat, user, "/help"))
        assert sent

    failures = [r for r in caplog.records if r.getMessage().startswith("update_failed")]
    assert [getattr(r, "update_id", None) for r in failures] == [boom["update_id"], failing["update_id"]]
    assert [r.exc_info[0].__name__ for r in failures if r.exc_info] == ["RuntimeError", "NetworkError"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "boom" not in logged and fake.token not in logged
    assert any(r.getMessage().startswith("send_retry") for r in caplog.records)


class BrokenButtons:
    """The real engine, except that choosing fails."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def choose(self, key: str, prompt_id: str, index: int) -> Turn | None:
        raise RuntimeError("engine failure")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


async def test_a_failing_button_is_still_answered(fake: FakeTelegram, fast_retries: None) -> None:
    async with polling_bot(fake, engine_type=BrokenButtons) as tg:
        user = fake.user(4300, language_code="zh")
        chat = fake.private_chat(user)
        sent = await tg.send(fake.text_update(chat, user, "/start"))
        data = sent[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await fake.enqueue(fake.press_update(user, sent[-1], data))
        (call,) = await fake.wait_calls("answerCallbackQuery", 1)
        assert "text" not in call.params
        await tg.idle()
        assert len(fake.sent(chat["id"])) == len(sent)


async def test_logs_name_a_chat_by_a_keyed_hash_not_its_id(tg: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    fake = tg.fake
    user = fake.user(4_400_731_265, language_code="en")
    chat = fake.private_chat(user)
    sent = await tg.send(fake.text_update(chat, user, "/start"))
    fake.fail_next("editMessageReplyMarkup", status=400)
    await fake.enqueue(
        fake.press_update(user, sent[-1], sent[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    )
    await fake.wait_calls("editMessageReplyMarkup", 1)
    await tg.idle()
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("keyboard_not_removed")]
    assert line == f"keyboard_not_removed chat={user_ref(chat['id'], log_key(fake.token))} error=BadRequest"
    assert user_ref(chat["id"], log_key(fake.token)) != user_ref(chat["id"])  # keyed, not a plain hash
    assert not [r for r in caplog.records if str(chat["id"]) in r.getMessage()]

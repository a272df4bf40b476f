"""No flooding, no lost answers: 429 RetryAfter, network errors, Bot API outages, bursts,
failing turns, and updates the bot must not answer."""

from __future__ import annotations

import logging

import pytest

from bot.channels.common.ids import log_key, user_ref
from bot.channels.telegram import sending
from bot.state.keys import telegram_conversation as conversation_key
from tests.conftest import MakeEngine
from tests.fake_telegram import FakeTelegram, RunningBot, expected_messages, polling_bot, shown
from tests.support import RecordingEngine


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


async def test_a_short_bot_api_outage_delays_answers_but_loses_none(tg: RunningBot) -> None:
    """Issue 10, case 3: a ~4 s Bot API outage used to lose the answers of that time."""
    fake = tg.fake
    users = [fake.user(4010 + n, language_code="zh") for n in range(3)]
    fake.fail_for("sendMessage", 4.0)
    for user in users:
        await fake.enqueue(fake.text_update(fake.private_chat(user), user, "社保卡怎么激活"))
    for user in users:
        (answer,) = await fake.wait_sent(user["id"], 1, timeout=30)
        assert answer["text"]
    await tg.idle()
    assert all(len(fake.sent(user["id"])) == 1 for user in users)  # answered once each


async def test_a_longer_outage_keeps_the_unsent_replies_for_later(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sending, "SEND_RETRY_SECONDS", 0.3)
    monkeypatch.setattr(sending, "OUTAGE_PAUSE_SECONDS", 0.5)
    async with polling_bot(fake, make_engine, engine_type=RecordingEngine) as tg:
        user = fake.user(4020, language_code="en")
        chat = fake.private_chat(user)
        fake.fail_for("sendMessage", 2.0)
        await fake.enqueue(fake.text_update(chat, user, "how do I activate my card"))
        (answer,) = await fake.wait_sent(chat["id"], 1, timeout=30)
        await tg.idle()
        assert answer["text"] and len(fake.sent(chat["id"])) == 1
        assert len(tg.engine.handled()) == 1  # the saved replies were resent, the turn ran once


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


async def test_a_failing_turn_gets_the_unavailable_notice_and_the_bot_keeps_serving(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10, case 3: a failed turn left the user without an answer on Telegram."""
    caplog.set_level(logging.INFO)
    failing = lambda engine: RecordingEngine(engine, fail=lambda message: message == "boom")  # noqa: E731
    async with polling_bot(fake, make_engine, engine_type=failing) as tg:
        user = fake.user(4200, language_code="en")
        chat = fake.private_chat(user)
        boom = fake.text_update(chat, user, "boom")
        (notice,) = await tg.send(boom)
        assert notice["text"] == tg.engine.notice("unavailable", "en")
        sent = await tg.send(fake.text_update(chat, user, "/help"))
        assert sent
    failures = [r for r in caplog.records if r.getMessage().startswith("telegram.turn_failed")]
    assert [r.getMessage() for r in failures] == [f"telegram.turn_failed error=RuntimeError update={boom['update_id']}"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "boom" not in logged and fake.token not in logged and str(user["id"]) not in logged


async def test_a_failing_button_is_still_answered(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine
) -> None:
    broken = lambda engine: RecordingEngine(engine, fail=lambda m: str(m).startswith("choose:"))  # noqa: E731
    async with polling_bot(fake, make_engine, engine_type=broken) as tg:
        user = fake.user(4300, language_code="zh")
        chat = fake.private_chat(user)
        sent = await tg.send(fake.text_update(chat, user, "/start"))
        data = sent[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        (notice,) = await tg.send(fake.press_update(user, sent[-1], data))
        (call,) = await fake.wait_calls("answerCallbackQuery", 1)
        assert "text" not in call.params  # the spinner stops
        assert notice["text"] == tg.engine.notice("unavailable", "zh")


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


async def test_lone_surrogates_are_answered(tg: RunningBot, make_engine: MakeEngine) -> None:
    """Issue 10, case 9: a lone surrogate (JSON ``\\ud800``) got no reply (OpenCC failed)."""
    fake = tg.fake
    user = fake.user(4600, language_code="zh")
    chat = fake.private_chat(user)
    expected = await make_engine().handle("reference", "社保卡\ufffd怎么激活", hint="zh")
    sent = await tg.send(fake.text_update(chat, user, "社保卡\ud800怎么激活"), replies=len(expected_messages(expected)))
    assert [shown(m) for m in sent] == expected_messages(expected)

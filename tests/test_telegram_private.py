"""Private chats by long polling: a real python-telegram-bot Application against the fake
Bot API. Expected replies come from a separate engine instance, not hard-coded prose."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.telegram.text import utf16_len
from bot.messages import Command, Language, Reply, Turn
from bot.state.keys import telegram_conversation as conversation_key
from tests.conftest import MakeEngine
from tests.fake_telegram import FakeTelegram, RunningBot, buttons, expected_messages, polling_bot, shown
from tests.support import RecordingEngine

LANGUAGE_CODES = {"zh": "zh-hans", "en": "en-US"}


def texts(messages: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    return [shown(m) for m in messages]


async def first_topic_with_follow_up(tg: RunningBot, language: Language) -> int:
    """The index of a welcome topic whose answer asks a follow-up question with choices."""
    probe = tg.reference
    welcome = await probe.handle("probe", Command.START, hint=language)
    for index in range(len(welcome.replies[-1].choices)):
        key = f"probe{index}"
        menu = await probe.handle(key, Command.START, hint=language)
        turn = await probe.choose(key, menu.replies[-1].prompt_id, index)
        if turn is not None and turn.replies[-1].choices:
            return index
    raise AssertionError("no topic of the welcome menu asks a follow-up question")


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_start_then_follow_up_through_buttons(tg: RunningBot, language: Language) -> None:
    fake = tg.fake
    user = fake.user(1001, language_code=LANGUAGE_CODES[language])
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])

    welcome = await tg.expect_welcome(key, language)
    assert welcome.replies[-1].choices, "the welcome shows the topics"
    sent = await tg.send(fake.text_update(chat, user, "/start"), replies=len(expected_messages(welcome)))
    assert texts(sent) == expected_messages(welcome)

    topic = await first_topic_with_follow_up(tg, language)
    follow_up = await tg.expect_choose(key, welcome, topic)
    assert follow_up is not None and follow_up.language == language
    assert follow_up.replies[-1].choices
    menu_message = sent[-1]
    sent = await tg.send(
        fake.press_update(user, menu_message, buttons(menu_message)[topic]),
        replies=len(expected_messages(follow_up)),
    )
    assert texts(sent) == expected_messages(follow_up)
    assert all(len(data.encode()) <= 64 for data in buttons(sent[-1]))

    answer = await tg.expect_choose(key, follow_up, 0)
    assert answer is not None and not answer.replies[-1].choices
    question = sent[-1]
    sent = await tg.send(
        fake.press_update(user, question, buttons(question)[0]), replies=len(expected_messages(answer))
    )
    assert texts(sent) == expected_messages(answer)

    # Every press is acknowledged, and the answered keyboards are taken away.
    assert len(fake.calls_of("answerCallbackQuery")) == 2
    assert all("text" not in c.params for c in fake.calls_of("answerCallbackQuery"))
    assert "reply_markup" not in fake.message(chat["id"], question["message_id"])
    assert "reply_markup" not in fake.message(chat["id"], menu_message["message_id"])


async def test_typed_question_and_typed_follow_up_answer(tg: RunningBot) -> None:
    fake = tg.fake
    user = fake.user(1002, language_code="en")
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])
    for text in ("社保卡在哪里激活？", "1"):
        expected = await tg.expect_handle(key, text, user)
        assert expected.language == "zh"
        sent = await tg.send(fake.text_update(chat, user, text), replies=len(expected_messages(expected)))
        assert texts(sent) == expected_messages(expected)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_start_language_comes_from_language_code(tg: RunningBot, language: Language) -> None:
    fake = tg.fake
    user = fake.user(1010 + len(language), language_code=LANGUAGE_CODES[language])
    chat = fake.private_chat(user)
    sent = await tg.send(fake.text_update(chat, user, "/start"))
    other: Language = "en" if language == "zh" else "zh"
    key = conversation_key(chat["id"], user["id"])
    assert texts(sent) == expected_messages(await tg.expect_welcome(key, language))
    assert texts(sent) != expected_messages(await tg.expect_welcome(key + ":other", other))


async def test_bare_ask_shows_the_topics_in_the_conversations_language(tg: RunningBot) -> None:
    fake = tg.fake
    user = fake.user(1015, language_code="zh-hans")
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])
    expected = await tg.expect_handle(key, "how do I activate my card", user)
    await tg.send(fake.text_update(chat, user, "how do I activate my card"), replies=len(expected_messages(expected)))
    welcome = await tg.expect_welcome(key, "en")  # the last turn's language, not the Telegram one
    sent = await tg.send(fake.text_update(chat, user, "/ask"), replies=len(expected_messages(welcome)))
    assert texts(sent) == expected_messages(welcome)
    welcome = await tg.expect_welcome(key, "zh")  # /start goes by the Telegram language
    sent = await tg.send(fake.text_update(chat, user, "/start"), replies=len(expected_messages(welcome)))
    assert texts(sent) == expected_messages(welcome)


async def test_stale_and_foreign_buttons_get_the_notice(tg: RunningBot) -> None:
    fake = tg.fake
    user = fake.user(1020, language_code="zh-CN")
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])
    welcome = await tg.expect_welcome(key, "zh")
    sent = await tg.send(fake.text_update(chat, user, "/start"), replies=len(expected_messages(welcome)))
    menu = sent[-1]
    answered = await tg.expect_choose(key, welcome, 0)
    assert answered is not None
    await tg.send(fake.press_update(user, menu, buttons(menu)[0]), replies=len(expected_messages(answered)))

    # The same button again (an old client still shows it): a notice, not a second answer.
    before = len(fake.sent(chat["id"]))
    await fake.enqueue(fake.press_update(user, menu, buttons(menu)[1]))
    calls = await fake.wait_calls("answerCallbackQuery", 2)
    assert calls[-1].params["text"] == tg.engine.notice("stale_choice", "zh")
    await tg.idle()
    assert len(fake.sent(chat["id"])) == before


async def test_cancelled_question_button_is_stale(tg: RunningBot) -> None:
    fake = tg.fake
    user = fake.user(1021, language_code="en")
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])
    welcome = await tg.expect_welcome(key, "en")
    sent = await tg.send(fake.text_update(chat, user, "/start"), replies=len(expected_messages(welcome)))
    cancelled = await tg.expect_handle(key, "/cancel", user)
    await tg.send(fake.text_update(chat, user, "/cancel"), replies=len(expected_messages(cancelled)))
    assert await tg.expect_choose(key, welcome, 0) is None  # the engine agrees it is stale
    await fake.enqueue(fake.press_update(user, sent[-1], buttons(sent[-1])[0]))
    calls = await fake.wait_calls("answerCallbackQuery", 1)
    assert calls[-1].params["text"] == tg.engine.notice("stale_choice", "en")


async def test_help_and_cancel_commands_go_to_the_engine(tg: RunningBot) -> None:
    fake = tg.fake
    user = fake.user(1030, language_code="zh-hant")
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])
    for command in ("/help", "/cancel"):
        expected = await tg.expect_handle(key, command, user)
        sent = await tg.send(fake.text_update(chat, user, command), replies=len(expected_messages(expected)))
        assert texts(sent) == expected_messages(expected)
        assert expected.language == "zh"


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_non_text_gets_the_notice_in_the_users_language(tg: RunningBot, kind: str) -> None:
    fake = tg.fake
    user = fake.user(1040, language_code="en-GB")
    chat = fake.private_chat(user)
    update = getattr(fake, f"{kind}_update")(chat, user)
    sent = await tg.send(update)
    assert [m["text"] for m in sent] == [tg.engine.notice("non_text", "en")]

    # Once the conversation is in Chinese, the notice is too.
    key = conversation_key(chat["id"], user["id"])
    expected = await tg.expect_handle(key, "社保卡怎么激活", user)
    await tg.send(fake.text_update(chat, user, "社保卡怎么激活"), replies=len(expected_messages(expected)))
    sent = await tg.send(getattr(fake, f"{kind}_update")(chat, user))
    assert [m["text"] for m in sent] == [tg.engine.notice("non_text", "zh")]


def long_replies(message: str | Command, turn: Turn) -> tuple[Reply, ...]:
    """Very long answers (to exercise splitting) before the real ones."""
    paragraphs = [f"{n}. " + "社保卡激活说明。" * 100 for n in range(12)]  # ~9600 units
    return (Reply("\n\n".join(paragraphs)), Reply("x" * 5000), *turn.replies)


async def test_long_replies_are_split_at_paragraphs_then_hard(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine
) -> None:
    async with polling_bot(fake, make_engine, engine_type=lambda e: RecordingEngine(e, replies=long_replies)) as tg:
        user = fake.user(1050, language_code="zh")
        chat = fake.private_chat(user)
        key = conversation_key(chat["id"], user["id"])
        expected = await tg.expect_handle(key, "社保卡怎么激活", user)
        sent = await tg.send(
            fake.text_update(chat, user, "社保卡怎么激活"), replies=5 + len(expected_messages(expected))
        )
        assert all(utf16_len(m["text"]) <= 4096 for m in sent)
        paragraph_messages = sent[:3]
        assert all(m["text"].startswith(tuple(f"{n}. " for n in range(12))) for m in paragraph_messages)
        assert "".join(m["text"] for m in sent[3:5]) == "x" * 5000
        assert texts(sent[5:]) == expected_messages(expected)

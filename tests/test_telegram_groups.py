"""Groups: the bot answers only when addressed, quotes the asker in the same forum topic,
keeps each member's follow-up apart, and (optionally) auto-answers confident matches."""

from __future__ import annotations

from typing import Any

from bot.channels.telegram.groups import confident_enough
from bot.state.keys import telegram_conversation as conversation_key
from tests.conftest import MakeEngine
from tests.fake_telegram import BOT_USERNAME, FakeTelegram, RunningBot, buttons, expected_messages, polling_bot, shown
from tests.support import RecordingEngine

GROUP_ID = -1001234567890
QUESTION = "社保卡在哪里激活"  # asks a follow-up (does the asker need the financial account?)


def texts(messages: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    return [shown(m) for m in messages]


def members(fake: FakeTelegram) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    chat = fake.group_chat(GROUP_ID)
    alice = fake.user(2001, "Alice", "zh-hans")
    bob = fake.user(2002, "Bob", "en")
    return chat, alice, bob


async def ask(
    tg: RunningBot, chat: dict[str, Any], user: dict[str, Any], text: str, question: str, **kw: Any
) -> list[dict[str, Any]]:
    """Send ``text`` (which addresses the bot about ``question``); check the reply against
    the reference engine and return the bot's messages."""
    key = conversation_key(chat["id"], user["id"])
    expected = await tg.expect_handle(key, question, user)
    update = tg.fake.text_update(chat, user, text, **kw)
    sent = await tg.send(update, replies=len(expected_messages(expected)))
    assert texts(sent) == expected_messages(expected)
    asked = update["message"]["message_id"]
    assert all(m["reply_to_message"]["message_id"] == asked for m in sent)
    return sent


async def test_unaddressed_messages_are_ignored(tg: RunningBot) -> None:
    fake = tg.fake
    chat, alice, _ = members(fake)
    for text in (QUESTION, "@SomeOtherBot 社保卡在哪里激活", "/ask@SomeOtherBot 社保卡在哪里激活", "/ask@SomeOtherBot"):
        await fake.enqueue(fake.text_update(chat, alice, text))
    await fake.enqueue(fake.sticker_update(chat, alice), fake.join_update(chat, fake.user(2009)))
    await tg.idle()
    assert fake.sent(GROUP_ID) == []
    assert await tg.store.get(conversation_key(GROUP_ID, alice["id"])) is None


async def test_mention_reply_and_ask_commands_are_answered(tg: RunningBot) -> None:
    fake = tg.fake
    chat, alice, bob = members(fake)
    sent = await ask(tg, chat, alice, f"@{BOT_USERNAME} {QUESTION}", QUESTION)
    await ask(tg, chat, bob, "/cancel", "/cancel")  # bob has nothing pending: his own notice
    await ask(
        tg, chat, bob, "where can I activate my card", "where can I activate my card", reply_to=sent[-1]["message_id"]
    )
    await ask(tg, chat, fake.user(2003, "Carol", "en"), "/ask how do I activate the card", "how do I activate the card")
    await ask(tg, chat, fake.user(2004, "Dan", "zh"), f"/ask@{BOT_USERNAME} 要带什么材料", "要带什么材料")
    await ask(
        tg, chat, fake.user(2005, "Eve", "zh"), f"请问 @{BOT_USERNAME.lower()} 激活期限是多久", "请问 激活期限是多久"
    )


async def test_bare_mention_or_ask_shows_the_topics(tg: RunningBot) -> None:
    fake = tg.fake
    chat, alice, _ = members(fake)
    key = conversation_key(GROUP_ID, alice["id"])
    welcome = await tg.expect_welcome(key, "zh")
    sent = await tg.send(fake.text_update(chat, alice, f"@{BOT_USERNAME}"), replies=len(expected_messages(welcome)))
    assert texts(sent) == expected_messages(welcome)
    welcome = await tg.expect_welcome(key, "zh")
    sent = await tg.send(fake.text_update(chat, alice, f"/ask@{BOT_USERNAME}"), replies=len(expected_messages(welcome)))
    assert texts(sent) == expected_messages(welcome)


async def test_forum_topic_is_kept_and_implicit_topic_replies_do_not_address(tg: RunningBot) -> None:
    fake = tg.fake
    chat = fake.group_chat(-1009876543210, "社保卡论坛", forum=True)
    alice = fake.user(2101, "Alice", "zh")
    topic = fake.open_topic(chat, fake.bot_user())  # opened by the bot itself
    # In a topic every message "replies" to the topic's first message: not an address.
    await fake.enqueue(fake.text_update(chat, alice, QUESTION, thread_id=topic))
    await tg.idle()
    assert fake.sent(chat["id"]) == [fake.message(chat["id"], topic)]

    sent = await ask(tg, chat, alice, f"@{BOT_USERNAME} {QUESTION}", QUESTION, thread_id=topic)
    assert all(m["message_thread_id"] == topic and m["is_topic_message"] for m in sent)
    calls = fake.calls_of("sendMessage")
    assert all(c.params["message_thread_id"] == topic for c in calls)

    # The asker answers the follow-up by replying to the bot's question, in the topic.
    key = conversation_key(chat["id"], alice["id"])
    expected = await tg.expect_handle(key, "需要", alice)
    update = fake.text_update(chat, alice, "需要", reply_to=sent[-1]["message_id"], thread_id=topic)
    answer = await tg.send(update, replies=len(expected_messages(expected)))
    assert texts(answer) == expected_messages(expected)
    assert all(m["message_thread_id"] == topic for m in answer)


async def test_two_members_follow_ups_do_not_mix(tg: RunningBot) -> None:
    fake = tg.fake
    chat, alice, bob = members(fake)
    alice_asked = await ask(tg, chat, alice, f"@{BOT_USERNAME} {QUESTION}", QUESTION)
    bob_asked = await ask(
        tg, chat, bob, f"@{BOT_USERNAME} where do I activate the card", "where do I activate the card"
    )
    assert buttons(alice_asked[-1]) and buttons(bob_asked[-1])

    # Alice types her answer as a reply to her question; Bob's question stays open.
    await ask(tg, chat, alice, "不需要", "不需要", reply_to=alice_asked[-1]["message_id"])
    bob_key = conversation_key(GROUP_ID, bob["id"])
    bot_state = await tg.store.get(bob_key)
    assert bot_state is not None and bot_state.pending is not None

    # Bob answers with his button.
    question = bob_asked[-1]
    expected = await tg.expect_choose_pending(bob_key, 0)
    assert expected is not None
    sent = await tg.send(
        fake.press_update(bob, question, buttons(question)[0]), replies=len(expected_messages(expected))
    )
    assert texts(sent) == expected_messages(expected)
    assert all(m["reply_to_message"]["message_id"] == question["message_id"] for m in sent)


async def test_another_members_button_press_is_refused(tg: RunningBot) -> None:
    fake = tg.fake
    chat, alice, bob = members(fake)
    asked = await ask(tg, chat, alice, f"@{BOT_USERNAME} {QUESTION}", QUESTION)
    question = asked[-1]
    await fake.enqueue(fake.press_update(bob, question, buttons(question)[0]))
    calls = await fake.wait_calls("answerCallbackQuery", 1)
    assert calls[-1].params["text"] == tg.engine.notice("stale_choice", "en")
    await tg.idle()
    assert fake.sent(GROUP_ID)[-1]["message_id"] == question["message_id"]
    assert "reply_markup" in fake.message(GROUP_ID, question["message_id"])  # still Alice's to press

    alice_key = conversation_key(GROUP_ID, alice["id"])
    expected = await tg.expect_choose_pending(alice_key, 1)
    assert expected is not None
    sent = await tg.send(
        fake.press_update(alice, question, buttons(question)[1]), replies=len(expected_messages(expected))
    )
    assert texts(sent) == expected_messages(expected)


async def test_sticker_replying_to_the_bot_gets_the_notice(tg: RunningBot) -> None:
    fake = tg.fake
    chat, alice, _ = members(fake)
    asked = await ask(tg, chat, alice, f"/ask {QUESTION}", QUESTION)
    sent = await tg.send(fake.sticker_update(chat, alice, reply_to=asked[-1]["message_id"]))
    assert [m["text"] for m in sent] == [tg.engine.notice("non_text", "zh")]


async def test_auto_answer_option(fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine) -> None:
    async with polling_bot(fake, make_engine, faqbot_group_auto_answer=True) as tg:
        chat, alice, bob = members(fake)
        alice_key = conversation_key(GROUP_ID, alice["id"])
        candidates = ["社保卡怎么激活", "社保卡激活期限", "激活社保卡需要带什么", "社保卡有几个账户"]
        confident = next((text for text in candidates if confident_enough(tg.reference.classify(text))), None)
        assert confident is not None, "the engine is confident about none of the FAQ questions"
        expected = await tg.expect_handle(alice_key, confident, alice)
        update = fake.text_update(chat, alice, confident)
        sent = await tg.send(update, replies=len(expected_messages(expected)))
        assert texts(sent) == expected_messages(expected)
        assert sent[0]["reply_to_message"]["message_id"] == update["message"]["message_id"]

        # Chatter, thanks and greetings are not answered, and leave no state behind.
        bob_key = conversation_key(GROUP_ID, bob["id"])
        before = len(fake.sent(GROUP_ID))
        for text in ("thanks!", "hello everyone", "今天天气不错"):
            assert not confident_enough(tg.reference.classify(text)), text
            await fake.enqueue(fake.text_update(chat, bob, text))
        await tg.idle()
        assert len(fake.sent(GROUP_ID)) == before
        assert await tg.store.get(bob_key) is None


def test_auto_answer_needs_a_confident_real_question() -> None:
    assert confident_enough({"intent": "how_to_activate", "confidence": 0.9})
    assert not confident_enough({"intent": "how_to_activate", "confidence": 0.3})
    assert not confident_enough({"intent": None, "confidence": 1.0})
    assert not confident_enough({"intent": "greeting", "confidence": 1.0})
    assert not confident_enough({"intent": "thanks", "confidence": 1.0})
    assert not confident_enough({})


async def test_unsure_chatter_never_reaches_the_conversation(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine
) -> None:
    async with polling_bot(fake, make_engine, faqbot_group_auto_answer=True, engine_type=RecordingEngine) as tg:
        chat, alice, _ = members(fake)
        key = conversation_key(GROUP_ID, alice["id"])
        await ask(tg, chat, alice, f"@{BOT_USERNAME} {QUESTION}", QUESTION)  # a follow-up is pending
        pending = await tg.store.get(key)
        assert pending is not None and pending.pending is not None
        handled = len(tg.engine.handled())
        before = len(fake.sent(GROUP_ID))
        for text in ("不需要", "2", "今天天气不错", "thanks!"):  # would answer the follow-up if handled
            assert not confident_enough(tg.reference.classify(text)), text
            await fake.enqueue(fake.text_update(chat, alice, text))
        await tg.idle()
        assert len(tg.engine.handled()) == handled
        assert len(fake.sent(GROUP_ID)) == before
        assert await tg.store.get(key) == pending


async def test_auto_answer_decides_by_classify_and_leaves_the_turn_to_the_engine(
    fake: FakeTelegram, fast_retries: None, make_engine: MakeEngine
) -> None:
    unsure = lambda engine: RecordingEngine(engine, confidence=0.0)  # noqa: E731 - every turn reports low confidence
    async with polling_bot(fake, make_engine, faqbot_group_auto_answer=True, engine_type=unsure) as tg:
        chat, alice, _ = members(fake)
        key = conversation_key(GROUP_ID, alice["id"])
        assert confident_enough(tg.reference.classify(QUESTION))
        expected = await tg.expect_handle(key, QUESTION, alice)
        assert expected.replies[-1].choices, "the question asks a follow-up"
        sent = await tg.send(fake.text_update(chat, alice, QUESTION), replies=len(expected_messages(expected)))
        assert texts(sent) == expected_messages(expected)
        state = await tg.store.get(key)  # the engine's state, not rolled back by the channel
        assert state is not None and state.pending is not None
        assert state.pending.choices == list(expected.replies[-1].choices)


async def test_auto_answer_is_off_by_default(tg: RunningBot) -> None:
    fake = tg.fake
    chat, alice, _ = members(fake)
    await fake.enqueue(fake.text_update(chat, alice, "社保卡怎么激活"))
    await tg.idle()
    assert fake.sent(GROUP_ID) == []

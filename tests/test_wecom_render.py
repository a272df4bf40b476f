"""Engine turns rendered as the robot's replies: the documented schema, the limits, and the
peer (wechatpy) decrypting what is sent."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.channels.common.crypto import WeChatCipher, seal
from bot.channels.common.text import as_markdown as markdown
from bot.channels.wecom.envelope import ButtonPress
from bot.channels.wecom.render import (
    MAX_CONTENT_BYTES,
    empty_stream,
    feedback_ids,
    markdown_reply,
    parse_press,
    stream_reply,
    welcome_reply,
)  # fmt: skip
from bot.dialogue import Engine
from bot.messages import Command, Reply, Turn
from bot.review.log import MemoryReviewLog
from bot.settings import Settings
from bot.state.memory import MemoryStore
from bot.understanding.compiled import load
from tests.wecom_peer import WeComPeer, fixture, parse

TOKEN, KEY = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
ZH_TEXTS = {
    "reply_with_number": "回复数字选择：",
    "more": "（未完，回复 0 查看余下内容）",
    "card_title": "请选择",
    "card_confirm": "确定",
}
EN_TEXTS = {"reply_with_number": "Reply with a number:", "more": "(continued — reply 0 for more)",
            "card_title": "Choose", "card_confirm": "OK"}  # fmt: skip
ZH, EN = ZH_TEXTS.__getitem__, EN_TEXTS.__getitem__
TASK_ID = re.compile(r"[0-9A-Za-z_\-@]{1,128}")


@pytest.fixture(scope="module")
def loaded() -> Any:
    return load(Settings().faqbot_kb_dir)


@pytest.fixture
def engine(loaded: Any) -> Engine:
    knowledge, compiled = loaded
    return Engine(knowledge, MemoryStore(), compiled=compiled, review=MemoryReviewLog())


def _keys(sample: dict[str, Any]) -> set[str]:
    return set(sample) - {"_source"}


def check_reply(payload: dict[str, Any]) -> None:
    """The reply against 被动回复消息 (101031) and 模板卡片类型 (101032): only documented fields
    (those of the documents' samples), of the documented types, within the documented limits."""
    kind = payload["msgtype"]
    if kind == "text":
        assert _keys(payload) == {"msgtype", "text"} and isinstance(payload["text"]["content"], str)
        return
    documented = {"stream": "stream", "stream_with_template_card": "stream_with_template_card",
                  "template_card": "welcome_template_card", "markdown": "active_markdown"}[kind]  # fmt: skip
    assert _keys(payload) <= _keys(fixture(f"replies/{documented}"))
    if "stream" in payload:
        stream = payload["stream"]
        assert _keys(stream) <= _keys(fixture("replies/stream")["stream"])
        assert isinstance(stream["id"], str) and stream["id"] and isinstance(stream["finish"], bool)
        assert len(stream.get("content", "").encode()) <= 20480
    body = payload.get("stream") or payload.get("markdown") or {}
    if "feedback" in body:
        assert isinstance(body["feedback"]["id"], str) and 0 < len(body["feedback"]["id"].encode()) <= 256
    if "markdown" in payload:
        assert len(payload["markdown"]["content"].encode()) <= 20480
    if "template_card" in payload:
        check_button_card(payload["template_card"])


def check_button_card(card: dict[str, Any]) -> None:
    documented = fixture("replies/card_button_interaction")
    assert _keys(card) <= _keys(documented) | {"feedback"}
    assert card["card_type"] == "button_interaction"
    assert card["main_title"].get("title") or card.get("sub_title_text")  # "必须有一项填写"
    assert TASK_ID.fullmatch(card["task_id"])
    buttons = card["button_list"]
    assert 1 <= len(buttons) <= 6
    assert all(_keys(b) <= _keys(documented["button_list"][0]) and b["text"] for b in buttons)
    keys = [b["key"] for b in buttons]
    assert len(set(keys)) == len(keys) and all(len(k.encode()) <= 1024 for k in keys)
    if "button_selection" in card:
        selection = card["button_selection"]
        assert _keys(selection) <= _keys(documented["button_selection"])
        assert len(selection["question_key"].encode()) <= 1024
        ids = [o["id"] for o in selection["option_list"]]
        assert 1 <= len(ids) <= 10 and len(set(ids)) == len(ids) and all(len(i.encode()) <= 128 for i in ids)


@pytest.mark.parametrize("name", ["stream", "stream_with_template_card", "welcome_text", "active_markdown"])
def test_the_checker_accepts_the_documents_own_replies(name: str) -> None:
    sample = fixture(f"replies/{name}")
    if "template_card" in sample:  # the page abbreviates the card to its feedback: complete it from 101032
        sample["template_card"] = fixture("replies/card_button_interaction") | sample["template_card"]
    check_reply(sample)


def _sent(payload: str) -> dict[str, Any]:
    """What WeCom reads: the payload encrypted by us, decrypted by the peer."""
    encrypt, signature = seal(TOKEN, WeChatCipher(KEY, ""), payload, "1700000000", "1372623149")
    envelope = {"encrypt": encrypt, "msgsignature": signature, "timestamp": 1700000000, "nonce": "1372623149"}
    received: dict[str, Any] = json.loads(WeComPeer(TOKEN, KEY).open_reply(envelope))
    check_reply(received)
    return received


async def test_an_answer_is_a_finished_stream_with_its_feedback_id(engine: Engine) -> None:
    turn = await engine.handle("wecom:CHATID:USERID", "社保卡怎么激活")
    payload, rest = stream_reply(turn, ZH, stream_id="s1")
    received = _sent(payload)
    assert received["msgtype"] == "stream" and rest == ""
    assert received["stream"]["id"] == "s1" and received["stream"]["finish"] is True
    assert "银行网点" in received["stream"]["content"] and "\n\n2\\. " not in received["stream"]["content"]
    assert feedback_ids(received["stream"]["feedback"]["id"]) == [r.feedback for r in turn.replies if r.feedback]
    assert await engine.feedback("wecom:CHATID:USERID", feedback_ids(received["stream"]["feedback"]["id"])[0], "down")


def _texts(turn: Turn) -> list[str]:
    return [r.text for r in turn.replies]


async def test_a_follow_up_question_gets_labelled_buttons_and_a_press_chooses_as_typing_would(engine: Engine) -> None:
    asker, typist = "wecom:CHATID:USERID", "wecom:CHATID:TYPIST"
    turn = await engine.handle(asker, "社保卡激活期限是多久")
    await engine.handle(typist, "社保卡激活期限是多久")
    received = _sent(stream_reply(turn, ZH, stream_id="s2")[0])
    assert received["msgtype"] == "stream_with_template_card"
    buttons = received["template_card"]["button_list"]
    assert [b["text"] for b in buttons] == list(turn.replies[-1].choices) == ["不确定"]
    assert ZH_TEXTS["reply_with_number"] not in received["stream"]["content"]  # the buttons carry the labels
    event = fixture("template_card_event_button")
    event["event"]["template_card_event"] |= {
        "event_key": buttons[0]["key"],
        "task_id": received["template_card"]["task_id"],
    }
    press = parse(json.dumps(event)).press
    assert press is not None
    chosen = parse_press(press)
    assert chosen is not None
    assert await engine.choose("wecom:CHATID:OTHER", *chosen) is None  # another member's press selects nothing
    pressed = await engine.choose(asker, *chosen)
    typed = await engine.handle(typist, "不确定")
    assert pressed is not None and _texts(pressed) == _texts(typed)


async def test_the_topic_menu_is_a_dropdown_card_and_its_pick_selects_the_topic(engine: Engine) -> None:
    turn = await engine.handle("wecom:USERID", Command.START)
    menu = turn.replies[-1]
    assert len(menu.choices) > 6  # more than the 6 buttons a card may have
    received = _sent(stream_reply(turn, ZH, stream_id="s3")[0])
    card = received["template_card"]
    options = card["button_selection"]["option_list"]
    assert [o["text"] for o in options][:3] == ["1. 在哪里激活", "2. 必须激活吗", "3. 怎么激活"]
    assert [b["text"] for b in card["button_list"]] == [ZH_TEXTS["card_confirm"]]
    assert "1. 在哪里激活" in received["stream"]["content"].replace("\\", "")  # listed too: a dropdown hides them
    press = ButtonPress(card["button_list"][0]["key"], ((card["button_selection"]["question_key"], ("2",)),))
    chosen = parse_press(press)
    assert chosen == (menu.prompt_id, 2)
    picked = await engine.choose("wecom:USERID", *chosen)
    assert picked is not None and picked.intent == "how_to_activate"


async def test_long_english_labels_are_numbered_in_the_text(engine: Engine) -> None:
    turn = await engine.handle("wecom:USERID", "what is the weather")
    received = _sent(stream_reply(turn, EN, stream_id="s4")[0])
    content = received["stream"]["content"]
    assert (
        EN_TEXTS["reply_with_number"] in content and "10\\. Legal basis" not in content and "10. Legal basis" in content
    )
    assert all(len(o["text"]) <= 10 for o in received["template_card"]["button_selection"]["option_list"])
    few = Turn("x", "en", (Reply("Which one?", ("Activating for someone else", "Whom to contact"), "ab12cd34"),))
    card = _sent(stream_reply(few, EN, stream_id="s5")[0])
    assert [b["text"] for b in card["template_card"]["button_list"]] == ["1", "2"]
    assert "1. Activating for someone else" in card["stream"]["content"]


async def test_traditional_writers_get_traditional_text(engine: Engine) -> None:
    turn = await engine.handle("wecom:USERID", "社保卡怎麼激活？")
    assert turn.script != "hans"
    received = _sent(stream_reply(turn, ZH, stream_id="s6")[0])
    assert "銀行" in received["stream"]["content"] and "银行" not in received["stream"]["content"]


def test_a_long_answer_is_cut_within_the_limit_and_the_rest_kept() -> None:
    text = "\n".join(f"第{i}段：社保卡激活说明，需要带身份证原件到银行网点办理。" for i in range(800))
    turn = Turn("x", "zh", (Reply(text, feedback="f00d"),))
    payload, rest = stream_reply(turn, ZH, stream_id="s7")
    content = _sent(payload)["stream"]["content"]
    assert len(content.encode()) <= MAX_CONTENT_BYTES < len(markdown(text).encode())
    assert content.endswith(ZH_TEXTS["more"]) and rest and text.endswith(rest)
    head = content.removesuffix(ZH_TEXTS["more"]).replace("\n\n", "\n").strip()
    assert text.startswith(head) and len(head) + len(rest) >= len(text) - 2


def test_plain_text_is_not_read_as_markup() -> None:
    assert markdown("*注意* 带_身份证_ <think>x</think>\n# 一\n[链接](x) a|b `c` ~d~ \\") == (
        "\\*注意\\* 带\\_身份证\\_ \\<think\\>x\\</think\\>\n\n\\# 一\n\n\\[链接\\](x) a\\|b \\`c\\` \\~d\\~ \\\\"
    )
    assert markdown("第一行\r\n第二行\n\n\n1. 一\n2. 二") == "第一行\n\n第二行\n\n1. 一\n2. 二"


def test_several_answers_share_one_feedback_id_within_its_limit() -> None:
    turn = Turn("x", "zh", tuple(Reply(f"答{i}", feedback=f"{i:08x}") for i in range(40)))
    feedback = _sent(stream_reply(turn, ZH, stream_id="s8")[0])["stream"]["feedback"]["id"]
    assert feedback_ids(feedback) == [f"{i:08x}" for i in range(len(feedback_ids(feedback)))]
    assert len(feedback.encode()) <= 256 and len(feedback_ids(feedback)) == 28


def test_task_ids_are_never_reused() -> None:
    turn = Turn("x", "zh", (Reply("?", ("是", "否"), "ab12cd34"),))
    ids = {json.loads(stream_reply(turn, ZH, stream_id="s")[0])["template_card"]["task_id"] for _ in range(50)}
    assert len(ids) == 50


@pytest.mark.parametrize(
    "press",
    [
        ButtonPress("button_replace_text"),
        ButtonPress("faq:ab12:x"),
        ButtonPress("faq::1"),
        ButtonPress("other:ab12:1"),
        ButtonPress("faq:ab12:pick"),
        ButtonPress("faq:ab12:pick", (("faq:other", ("1",)),)),
        ButtonPress("faq:ab12:pick", (("faq:ab12", ("1", "2")),)),
        ButtonPress("faq:ab12:１"),
    ],
)
def test_presses_on_other_keys_choose_nothing(press: ButtonPress) -> None:
    assert parse_press(press) is None


async def test_the_welcome_is_a_card_in_chinese_and_fits_the_documented_reply(engine: Engine) -> None:
    turn = await engine.handle("wecom:USERID", Command.START)
    welcome = _sent(welcome_reply(turn, ZH))
    assert welcome["msgtype"] == "template_card"
    assert welcome["template_card"]["sub_title_text"] == turn.replies[0].text
    long = Turn("greeting", "en", (Reply("Hello! " * 30, ("Not sure", "Yes"), "ab12cd34"),))
    text = _sent(welcome_reply(long, EN))
    assert text["msgtype"] == "text" and "1. Not sure" in text["text"]["content"]


async def test_a_late_answer_goes_to_response_url_as_markdown_with_choices_numbered(engine: Engine) -> None:
    turn = await engine.handle("wecom:CHATID:USERID", "社保卡激活期限是多久")
    reply, rest = markdown_reply(turn, ZH)
    payload = _sent(reply)
    assert rest == "" and "回复数字选择：\n\n1\\. 不确定" not in payload["markdown"]["content"]
    assert "1. 不确定" in payload["markdown"]["content"]
    assert _sent(empty_stream("s9", finish=False)) == {"msgtype": "stream", "stream": {"id": "s9", "finish": False}}

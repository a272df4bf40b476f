"""Every documented callback sample parses to what the channel needs; malformed ones do not."""

from __future__ import annotations

import json

import pytest

from bot.channels.common.passive import Incoming
from bot.channels.wecom.envelope import ButtonPress, Callback, CallbackError, parse_callback, strip_mention
from tests.wecom_peer import FIXTURES, fixture, parse

MSGID = "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="
MIXED_ID, IMAGE_ID = "CAIQrcjMjQYY/NGagIOAgAMg6PDc/w0=", "CAIQz7/MjQYY/NGagIOAgAMgl8jK/gI="
URL = "RESPONSEURL"
PRESS = ButtonPress("button_replace_text", (("button_selection_key1", ("button_selection_id1",)),))


def group(kind: str, msgid: str = MSGID, **fields: object) -> Incoming:
    return Incoming(f"wecom:msg:USERID:{msgid}", "wecom:CHATID:USERID", "USERID", kind, group=True, **fields)  # type: ignore[arg-type]


def single(kind: str, msgid: str = MSGID, **fields: object) -> Incoming:
    return Incoming(f"wecom:msg:USERID:{msgid}", "wecom:USERID", "USERID", kind, **fields)  # type: ignore[arg-type]


CARD = group("template_card_event", silent=True)
EXPECTED: dict[str, Callback] = {
    "text_group": Callback(group("text", text="hello robot"), URL),
    "mixed_group": Callback(group("mixed", MIXED_ID, text="这是今日的测试情况"), URL),
    "voice_single": Callback(single("voice", MIXED_ID, text="这是语音转成文本的内容"), URL),
    "image_single": Callback(single("image", IMAGE_ID), URL),
    "file_single": Callback(single("file", MIXED_ID), URL),
    "video_single": Callback(single("video", MIXED_ID), URL),
    "stream_refresh": Callback(group("stream", IMAGE_ID, silent=True), refresh="STREAMID"),
    "enter_chat": Callback(single("enter_chat", start=True)),
    "event_common": Callback(single("eventtype_name", silent=True)),
    "template_card_event": Callback(CARD, URL, press=PRESS),
    "template_card_event_button": Callback(CARD, URL, press=PRESS),
    "template_card_event_vote": Callback(CARD, URL, press=ButtonPress(PRESS.event_key, (("button_selection_key1", ("one", "two")),))),
    "template_card_event_multiple": Callback(CARD, URL, press=ButtonPress(PRESS.event_key, (
        ("button_selection_key1", ("button_selection_id1",)), ("button_selection_key2", ("button_selection_id2",))))),
    "template_card_event_menu": Callback(CARD, URL, press=ButtonPress(PRESS.event_key)),
    "feedback_event": Callback(group("feedback_event", silent=True), vote=("FEEDBACKID", "down")),
}  # fmt: skip


def test_every_callback_fixture_is_covered_and_cites_its_page() -> None:
    names = {p.stem for p in FIXTURES.glob("*.json")}
    assert names == EXPECTED.keys()
    for path in FIXTURES.rglob("*.json"):
        source = json.loads(path.read_text(encoding="utf-8"))["_source"]
        assert source.startswith("https://developer.work.weixin.qq.com/document/path/1"), path.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_documented_sample_parses(name: str) -> None:
    assert parse(json.dumps(fixture(name), ensure_ascii=False)) == EXPECTED[name]


def test_conversations_are_per_member_in_groups_and_per_user_alone() -> None:
    other = fixture("text_group")
    other["from"]["userid"] = "OTHER"
    assert parse(json.dumps(other)).incoming.conversation == "wecom:CHATID:OTHER"
    assert EXPECTED["text_group"].incoming.conversation == "wecom:CHATID:USERID"
    assert EXPECTED["voice_single"].incoming.conversation == "wecom:USERID"


def test_the_vote_types_are_the_documented_three() -> None:
    sample = fixture("feedback_event")
    for number, vote in ((1, ("FEEDBACKID", "up")), (2, ("FEEDBACKID", "down")), (3, None)):  # 3: taken back
        sample["event"]["feedback_event"]["type"] = number
        assert parse(json.dumps(sample)).vote == vote


def test_the_mention_alone_asks_for_the_topics() -> None:
    sample = fixture("text_group")
    sample["text"]["content"] = "@RobotA"
    assert parse(json.dumps(sample)).incoming == group("text", text="", start=True)


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("@RobotA hello robot", (), "hello robot"),
        ("@机器人\u2005社保卡怎么激活", (), "社保卡怎么激活"),
        ("社保卡怎么激活 @机器人", (), "社保卡怎么激活"),
        ("@RobotA", (), ""),
        ("问 @张三 的卡", (), "问 @张三 的卡"),
        ("@FAQ Bot 怎么激活", ("FAQ Bot",), "怎么激活"),
        ("请问 @社保助手 怎么激活", ("社保助手",), "请问 怎么激活"),
        ("没有提到", ("社保助手",), "没有提到"),
    ],
)
def test_the_mention_is_removed(text: str, names: tuple[str, ...], expected: str) -> None:
    assert strip_mention(text, names) == expected


def test_mentions_are_kept_outside_groups_and_in_voice() -> None:
    sample = fixture("text_group") | {"chattype": "single"}
    del sample["chatid"]
    assert parse(json.dumps(sample)).incoming.text == "@RobotA hello robot"


def test_mixed_without_text_is_non_text_and_a_json_string_mixed_is_read() -> None:
    sample = fixture("mixed_group")
    sample["mixed"]["msg_item"] = sample["mixed"]["msg_item"][1:]
    assert parse(json.dumps(sample)).incoming == group("mixed", MIXED_ID)
    sample = fixture("mixed_group")
    sample["mixed"] = json.dumps(sample["mixed"], ensure_ascii=False)
    assert parse(json.dumps(sample)) == EXPECTED["mixed_group"]


def test_an_empty_transcript_is_non_text() -> None:
    sample = fixture("voice_single")
    sample["voice"]["content"] = "  "
    assert parse(json.dumps(sample)).incoming == single("voice", MIXED_ID)


def test_a_quote_of_any_kind_leaves_the_question_as_written() -> None:
    sample = fixture("text_group")
    for quote in ({"msgtype": "voice", "voice": {"content": "语音"}}, {"msgtype": "image", "image": {"url": "URL"}}):
        sample["quote"] = quote
        assert parse(json.dumps(sample)) == EXPECTED["text_group"]


def test_the_table_spelling_of_the_button_key_is_read() -> None:
    sample = fixture("template_card_event_menu")
    card = sample["event"]["template_card_event"]
    card["eventkey"] = card.pop("event_key")
    assert parse(json.dumps(sample)).press == ButtonPress(PRESS.event_key)


def _without(name: str, *path: str) -> dict[str, object]:
    sample = fixture(name)
    node = sample
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return sample


def _with(name: str, value: object, *path: str) -> dict[str, object]:
    sample = fixture(name)
    node = sample
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return sample


@pytest.mark.parametrize(
    "payload",
    [
        _without("text_group", "msgid"),
        _without("text_group", "from", "userid"),
        _without("text_group", "from"),
        _without("text_group", "msgtype"),
        _without("text_group", "chatid"),
        _without("text_group", "text"),
        _with("text_group", 5, "text", "content"),
        _with("text_group", "private", "chattype"),
        _with("text_group", 42, "msgid"),
        _without("mixed_group", "mixed", "msg_item"),
        _with("mixed_group", "{not json", "mixed"),
        _with("mixed_group", [{"msgtype": "text", "text": {}}], "mixed", "msg_item"),
        _without("stream_refresh", "stream", "id"),
        _without("enter_chat", "event", "eventtype"),
        _with("feedback_event", 7, "event", "feedback_event", "type"),
        _without("feedback_event", "event", "feedback_event", "id"),
        _without("template_card_event", "event", "template_card_event", "event_key"),
        _with("template_card_event", "x", "event", "template_card_event", "selected_items"),
    ],
)
def test_a_malformed_callback_is_refused_without_echoing_it(payload: dict[str, object]) -> None:
    with pytest.raises(CallbackError) as caught:
        parse(json.dumps(payload, ensure_ascii=False))
    assert "USERID" not in str(caught.value) and "hello" not in str(caught.value)


@pytest.mark.parametrize("plaintext", ["", "not json", "[]", "null", '"text"', "{}"])
def test_what_is_not_a_callback_object_is_refused(plaintext: str) -> None:
    with pytest.raises(CallbackError):
        parse(plaintext)


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"Encrypt": "x"}', b'{"encrypt": ""}', b'{"encrypt": 5}', b"\xff{"]
)
def test_a_body_that_is_not_the_documented_envelope_is_refused_before_decryption(body: bytes) -> None:
    def never(encrypt: str) -> str:
        raise AssertionError("decrypted")

    with pytest.raises(CallbackError):
        parse_callback(body, never)

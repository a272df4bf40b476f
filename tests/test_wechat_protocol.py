"""Protocol building blocks of the WeChat channel, checked against wechatpy."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from bot.channels.common.choices import plain_text
from bot.channels.common.crypto import CryptoError, WeChatCipher, sign, signature_matches
from bot.channels.wechat import WeChatConfigError, wechat_routes
from bot.channels.wechat.replies import MAX_CONTENT_BYTES, split_content
from bot.channels.wechat.xmlcodec import XmlError, cdata, parse_fields, text_reply_xml
from bot.messages import Reply, Turn
from bot.state import MemoryStore
from tests.test_wechat_peer import AES_KEY, APP_ID, TOKEN, settings, wechat_signature

# --------------------------------------------------------------------- signatures


def test_official_signature_test_vector() -> None:
    assert sign("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert signature_matches("f464b24fc39322e44b38aa78f5edd27bd1441696", "AAAAA", "1714036504", "1514711492")


def test_signature_agrees_with_wechatpy_and_rejects_others() -> None:
    parts = (TOKEN, "1714036504", "1514711492", "someEncryptValue+/=")
    assert sign(*parts) == wechat_signature(*parts)
    assert not signature_matches(None, *parts)
    assert not signature_matches("", *parts)
    assert not signature_matches("0" * 40, *parts)
    assert not signature_matches("签名", *parts)


# ------------------------------------------------------------------------- cipher


def test_cipher_round_trips_with_wechatpy() -> None:
    ours = WeChatCipher(AES_KEY, APP_ID)
    theirs = PrpCrypto(base64.b64decode(AES_KEY + "="))
    message = "<xml><Content><![CDATA[社保卡怎么激活？]]></Content></xml>"
    assert theirs.decrypt(ours.encrypt(message), APP_ID) == message
    assert ours.decrypt(theirs.encrypt(message, APP_ID).decode()) == message
    # every padding length, 1…32
    for size in range(70):
        assert ours.decrypt(theirs.encrypt("x" * size, APP_ID).decode()) == "x" * size


def test_cipher_refuses_other_app_id_and_garbage() -> None:
    ours = WeChatCipher(AES_KEY, APP_ID)
    other = WeChatCrypto(TOKEN, AES_KEY, "wx_other_account")
    envelope = other.encrypt_message("<xml/>", "123")
    encrypt = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
    with pytest.raises(CryptoError, match="app id"):
        ours.decrypt(encrypt)
    for garbage in ("", "not base64!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 32).decode()):
        with pytest.raises(CryptoError):
            ours.decrypt(garbage)


@pytest.mark.parametrize(
    ("token", "app_id", "aes_key", "problem"),
    [
        ("", None, None, "WECHAT_TOKEN"),
        ("   ", None, None, "WECHAT_TOKEN"),
        (TOKEN, None, AES_KEY, "WECHAT_APP_ID"),
        (TOKEN, APP_ID, AES_KEY[:-1], "43"),
        (TOKEN, APP_ID, AES_KEY + "A", "43"),
        (TOKEN, APP_ID, AES_KEY[:-1] + "!", "43"),
    ],
)
def test_misconfiguration_is_a_clear_value_error(
    token: str, app_id: str | None, aes_key: str | None, problem: str
) -> None:
    bad = settings(
        wechat_token=SecretStr(token),
        wechat_app_id=app_id,
        wechat_aes_key=SecretStr(aes_key) if aes_key else None,
    )
    with pytest.raises(ValueError, match=problem) as raised:
        wechat_routes(bad, engine=object(), store=MemoryStore())  # type: ignore[arg-type]
    assert isinstance(raised.value, WeChatConfigError)
    assert AES_KEY not in str(raised.value)


def test_missing_token_setting_is_a_value_error() -> None:
    with pytest.raises(WeChatConfigError):
        wechat_routes(settings(wechat_token=None), engine=object(), store=MemoryStore())  # type: ignore[arg-type]


def test_valid_configuration_gives_get_and_post_routes() -> None:
    for aes in (False, True):
        routes = wechat_routes(settings(aes=aes), engine=object(), store=MemoryStore())  # type: ignore[arg-type]
        methods = {method for route in routes for method in getattr(route, "methods", ())}
        assert {"GET", "POST"} <= methods
        assert {getattr(route, "path", None) for route in routes} == {"/wechat"}


# --------------------------------------------------------------------------- XML


def test_parse_fields_reads_a_flat_message() -> None:
    fields = parse_fields(b"<xml><MsgType><![CDATA[text]]></MsgType><Content> hi ]]&gt; </Content><Empty/></xml>")
    assert fields == {"MsgType": "text", "Content": "hi ]]>", "Empty": ""}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<xml><a></xml>",
        b"not xml at all",
        b"<notxml><a>1</a></notxml>",
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml><C>&b;</C></xml>',
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><C>&e;</C></xml>',
    ],
)
def test_parse_fields_refuses_malformed_and_entities(body: bytes) -> None:
    with pytest.raises(XmlError):
        parse_fields(body)


def test_cdata_splits_terminator_and_drops_illegal_characters() -> None:
    dirty = "a]]>b\x00\x0bc\ud800 ok"
    assert parse_fields("<xml><C>" + cdata(dirty) + "</C></xml>")["C"] == "a]]>bc ok"
    reply = text_reply_xml(to_user="o_user", from_user="gh_x", create_time=1, content="x]]>y]]>")
    assert parse_fields(reply) == {
        "ToUserName": "o_user",
        "FromUserName": "gh_x",
        "CreateTime": "1",
        "MsgType": "text",
        "Content": "x]]>y]]>",
    }


# ------------------------------------------------------------------- formatting


def test_plain_text_joins_replies_and_numbers_choices() -> None:
    turn = Turn(
        intent="x",
        language="zh",
        replies=(Reply("第一段"), Reply("要开通金融功能吗？", ("需要", "不需要"), "p1")),
    )
    assert plain_text(turn, "回复数字选择：") == "第一段\n\n要开通金融功能吗？\n\n回复数字选择：\n1. 需要\n2. 不需要"


def test_split_content_keeps_short_text_whole() -> None:
    assert split_content("短", "（未完）") == ("短", "")
    exact = "字" * (MAX_CONTENT_BYTES // 3)
    assert split_content(exact, "（未完）") == (exact, "")


@pytest.mark.parametrize(
    "text",
    [
        "社" * 3000,  # no break at all: cut on a character boundary
        "a" * 1000 + "\n" + "b" * 3000,
        "\n\n".join(f"第{i}段：" + "内容" * 40 for i in range(60)),
        "😀" * 1000 + "e" * 3,
    ],
)
def test_split_content_respects_the_byte_limit_and_loses_nothing(text: str) -> None:
    more = "（未完，回复 0 查看余下内容）"
    parts, rest = [], text
    while rest:
        part, rest = split_content(rest, more)
        assert len(part.encode("utf-8")) <= MAX_CONTENT_BYTES
        parts.append(part.removesuffix("\n" + more))
        assert len(parts) < 20
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())


def test_split_content_prefers_paragraph_boundaries() -> None:
    paragraphs = ["段落" + str(i) + "。" + "内容" * 100 for i in range(10)]
    part, rest = split_content("\n\n".join(paragraphs), "MORE")
    body = part.removesuffix("\nMORE")
    assert body in paragraphs[0] + "\n\n" + paragraphs[1] + "\n\n" + paragraphs[2]
    assert body.endswith("内容") and rest.startswith("段落")

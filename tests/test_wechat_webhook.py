"""The WeChat webhook end to end (ASGI, in process) with the real engine.

Expected answers come from a second, independent engine fed the same messages, so the
tests follow the YAML knowledge base instead of repeating its wording.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from wechatpy.crypto import PrpCrypto

from bot.channels.wechat import WeChatChannel
from bot.channels.wechat.replies import MAX_CONTENT_BYTES
from bot.dialogue import Engine
from bot.messages import Command, Reply, Turn
from bot.state import MemoryStore, keys
from tests.conftest import MakeEngine
from tests.support import RecordingEngine
from tests.test_wechat_peer import ACCOUNT, AES_KEY, APP_ID, TOKEN, WeChatPeer, message_xml, settings, wechat_signature

USER = "oFaqbotTestUser000000000001"


LONG = "\n\n".join(f"第{i}段：" + "社保卡激活说明。" * 25 + f"（{i}）" for i in range(1, 13))
"""Far more than one passive reply can carry."""


def long_answer(message: str | Command, turn: Turn) -> tuple[Reply, ...] | None:
    return (Reply(LONG),) if message == "请详细说说" else None


@dataclass
class Harness:
    peer: WeChatPeer
    engine: RecordingEngine
    store: MemoryStore


@asynccontextmanager
async def harness(
    *,
    aes: bool = False,
    compat: bool = False,
    app_id: str = APP_ID,
    engine_options: dict[str, Any] | None = None,
    settings_options: dict[str, Any] | None = None,
    **channel_options: Any,
) -> AsyncIterator[Harness]:
    store = MemoryStore()
    config = settings(aes=aes, **(settings_options or {}))
    engine = RecordingEngine(ENGINE.make(store), **(engine_options or {}))
    routes = WeChatChannel(config, engine, store, **channel_options).routes()  # type: ignore[arg-type]
    app = Starlette(routes=routes)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wechat.test") as client:
        yield Harness(WeChatPeer(client, aes=aes, compat=compat, app_id=app_id), engine, store)


class _Engines:
    """The session's engine factory, for the harness (a plain function, not a fixture)."""

    make: MakeEngine


ENGINE = _Engines()


@pytest.fixture(autouse=True)
def _engines(make_engine: MakeEngine) -> None:
    ENGINE.make = make_engine


def reference_engine() -> Engine:
    return ENGINE.make()


def assert_shows(content: str, turn: Turn, engine: Engine) -> None:
    """``content`` is what ``turn`` looks like on WeChat: every reply, choices numbered."""
    assert turn.replies, "the engine said nothing"
    for reply in turn.replies:
        assert reply.text.strip() in content
        if reply.choices:
            assert engine.notice("reply_with_number", turn.language).strip() in content
            for number, choice in enumerate(reply.choices, start=1):
                assert f"{number}. {choice}" in content.splitlines()


def assert_reply_envelope(reply: Any, user: str = USER) -> None:
    assert reply.message.type == "text"
    assert reply.message.target == user  # ToUserName: the sender's OpenID
    assert reply.message.source == ACCOUNT  # FromUserName: the account
    assert abs(reply.message.create_time.timestamp() - time.time()) < 30


# ------------------------------------------------------------------ verification


async def test_get_verification_official_test_vector(make_engine: MakeEngine) -> None:
    store = MemoryStore()
    config = settings(wechat_token=SecretStr("AAAAA"))
    channel = WeChatChannel(config, make_engine(store), store, clock=lambda: 1714036504.0)
    app = Starlette(routes=channel.routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        query = {
            "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
            "echostr": "4375120948345356249",
            "timestamp": "1714036504",
            "nonce": "1514711492",
        }
        ok = await client.get("/wechat", params=query)
        assert ok.status_code == 200
        assert ok.text == "4375120948345356249"
        assert ok.headers["content-type"].startswith("text/plain")
        bad = await client.get("/wechat", params=query | {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441697"})
        assert bad.status_code == 403
        assert "4375120948345356249" not in bad.text
        unsigned = await client.get("/wechat", params={k: v for k, v in query.items() if k != "signature"})
        assert unsigned.status_code == 403
        no_echo = await client.get("/wechat", params={k: v for k, v in query.items() if k != "echostr"})
        assert no_echo.status_code == 400


async def test_get_verification_in_safe_mode() -> None:
    async with harness(aes=True) as h:
        client = h.peer.client
        # Official Accounts verify with the plain signature and expect echostr verbatim.
        query = h.peer.signed_query() | {"echostr": "8571239461"}
        assert (await client.get("/wechat", params=query)).text == "8571239461"
        # Variant with an encrypted echostr signed by msg_signature: answer the plaintext.
        echostr = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt("echo-42", APP_ID).decode()
        ts, nonce = query["timestamp"], query["nonce"]
        encrypted = {"timestamp": ts, "nonce": nonce, "echostr": echostr}
        good = await client.get(
            "/wechat", params=encrypted | {"msg_signature": wechat_signature(TOKEN, ts, nonce, echostr)}
        )
        assert (good.status_code, good.text) == (200, "echo-42")
        forged = await client.get(
            "/wechat", params=encrypted | {"msg_signature": wechat_signature(TOKEN, ts, nonce, "x")}
        )
        assert forged.status_code == 403
        other = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt("echo-42", "wx_other").decode()
        wrong_app = await client.get(
            "/wechat",
            params={
                "timestamp": ts,
                "nonce": nonce,
                "echostr": other,
                "msg_signature": wechat_signature(TOKEN, ts, nonce, other),
            },
        )
        assert wrong_app.status_code == 403


# ------------------------------------------------------------------- messages


async def test_text_message_gets_the_engines_answer() -> None:
    question = "社保卡怎么激活"
    expected = await reference_engine().handle("ref", question)
    async with harness() as h:
        reply = await h.peer.text(USER, question)
        assert reply.status == 200
        assert_reply_envelope(reply)
        assert_shows(reply.content, expected, h.engine.inner)
        assert h.engine.handled() == [(f"wechat:{USER}", ANY)]


async def test_voice_with_recognition_is_answered_as_its_text() -> None:
    question = "社保卡怎么激活"
    expected = await reference_engine().handle("ref", question)
    async with harness() as h:
        voice = message_xml("voice", USER, MediaId="media-1", Format="amr", Recognition=question)
        reply = await h.peer.post(voice)
        assert_reply_envelope(reply)
        assert_shows(reply.content, expected, h.engine.inner)
        assert len(h.engine.handled()) == 1


@pytest.mark.parametrize(
    "push",
    [
        message_xml("voice", USER, MediaId="media-2", Format="amr"),
        message_xml("voice", USER, MediaId="media-3", Format="amr", Recognition=""),
        message_xml("image", USER, PicUrl="http://example.invalid/p.jpg", MediaId="m"),
        message_xml("location", USER, Location_X="23.1", Location_Y="113.3", Scale="20", Label="x"),
        message_xml("text", USER, Content="   "),
    ],
    ids=["voice-without-recognition", "voice-empty-recognition", "image", "location", "blank-text"],
)
async def test_non_text_gets_the_non_text_notice(push: str) -> None:
    async with harness() as h:
        reply = await h.peer.post(push)
        assert_reply_envelope(reply)
        assert reply.content == h.engine.notice("non_text", "zh")
        assert h.engine.handled() == []


async def test_non_text_notice_follows_the_users_last_language() -> None:
    question = "How do I activate my social security card?"
    language = (await reference_engine().handle("ref", question)).language
    async with harness() as h:
        await h.peer.text(USER, question)
        reply = await h.peer.post(message_xml("image", USER, PicUrl="http://example.invalid/p.jpg", MediaId="m"))
        assert reply.content == h.engine.notice("non_text", language)


async def test_numbers_and_zero_get_the_users_language_as_hint() -> None:
    question = "How do I activate my social security card?"
    reference = reference_engine()
    language = (await reference.handle("ref", question)).language
    expected = await reference.handle("ref", "0", hint=language)
    async with harness() as h:
        await h.peer.text(USER, question)
        reply = await h.peer.text(USER, "0")  # nothing was cut, so "0" goes to the engine
        assert_shows(reply.content, expected, h.engine.inner)


async def test_subscribe_gets_the_welcome() -> None:
    expected = await reference_engine().handle("ref", Command.START)
    async with harness() as h:
        reply = await h.peer.post(message_xml("event", USER, Event="subscribe", EventKey=""))
        assert_reply_envelope(reply)
        assert_shows(reply.content, expected, h.engine.inner)
        assert h.engine.handled() == [(f"wechat:{USER}", Command.START)]


@pytest.mark.parametrize("event", ["unsubscribe", "CLICK", "VIEW", "LOCATION", "TEMPLATESENDJOBFINISH"])
async def test_other_events_get_success(event: str) -> None:
    async with harness() as h:
        reply = await h.peer.post(message_xml("event", USER, Event=event, EventKey="k"))
        assert reply.is_success
        assert h.engine.handled() == []


async def test_numbered_follow_up_in_chinese() -> None:
    reference = reference_engine()
    asked = await reference.handle("ref", "社保卡在哪激活")
    question = next((r for r in asked.replies if len(r.choices) >= 2), None)
    assert question is not None, "the engine should ask a follow-up with choices (financial functions?)"
    chosen = await reference.handle("ref", "2")
    async with harness() as h:
        first = await h.peer.text(USER, "社保卡在哪激活")
        assert_shows(first.content, asked, h.engine.inner)
        assert "\n1. " in first.content and "\n2. " in first.content
        second = await h.peer.text(USER, "2")
        assert_shows(second.content, chosen, h.engine.inner)
        assert second.content != first.content


# --------------------------------------------------------------------- retries


async def test_retry_gets_the_same_reply_and_the_engine_runs_once() -> None:
    async with harness() as h:
        push = message_xml("text", USER, Content="社保卡怎么激活", msg_id=6_000_000_001)
        first = await h.peer.post(push)
        again = await h.peer.post(push)
        third = await h.peer.post(push)
        assert first.body == again.body == third.body
        assert first.content
        assert len(h.engine.handled()) == 1


async def test_concurrent_retry_waits_for_the_original() -> None:
    async with harness(engine_options={"delay": 0.4}) as h:
        push = message_xml("text", USER, Content="社保卡怎么激活", msg_id=6_000_000_002)
        first, retry = await asyncio.gather(h.peer.post(push), h.peer.post(push))
        assert first.body == retry.body
        assert first.content
        assert len(h.engine.handled()) == 1


async def test_retried_subscribe_is_welcomed_once() -> None:
    async with harness() as h:
        push = message_xml("event", USER, Event="subscribe", create_time=int(time.time()))
        first, again = await h.peer.post(push), await h.peer.post(push)
        assert first.content == again.content
        assert h.engine.handled() == [(f"wechat:{USER}", Command.START)]


async def test_retry_of_an_unfinished_message_answers_success_after_waiting() -> None:
    async with harness(engine_options={"delay": 0.8}, engine_timeout=5.0, retry_wait=0.2) as h:
        push = message_xml("text", USER, Content="社保卡怎么激活", msg_id=6_000_000_003)
        original = asyncio.ensure_future(h.peer.post(push))
        await asyncio.sleep(0.1)
        retry = await h.peer.post(push)
        assert retry.is_success
        answered = await original
        assert answered.content
        # That success was not remembered: the next retry gets the real reply.
        assert (await h.peer.post(push)).body == answered.body
        assert len(h.engine.handled()) == 1


# --------------------------------------------------------------------- deadline


async def test_slow_engine_gets_success_within_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.wechat")
    async with harness(engine_options={"delay": 0.5}, engine_timeout=0.1) as h:
        started = time.monotonic()
        reply = await h.peer.text(USER, "社保卡怎么激活")
        assert time.monotonic() - started < 0.45
        assert reply.is_success
        assert any("engine_timeout" in r.getMessage() for r in caplog.records)
        await asyncio.sleep(0.6)
        assert h.engine.finished == 1  # the late call completed, it was not cut off halfway


async def test_retry_after_a_slow_turn_gets_the_real_answer() -> None:
    question = "社保卡怎么激活"
    expected = await reference_engine().handle("ref", question)
    async with harness(engine_options={"delay": 0.6}, engine_timeout=0.1, retry_wait=2.0) as h:
        push = message_xml("text", USER, Content=question, msg_id=6_000_000_004)
        first = await h.peer.post(push)
        assert first.is_success  # too slow for this delivery…
        retry = await h.peer.post(push)  # …a retry while the turn still runs waits for it
        assert_reply_envelope(retry)
        assert_shows(retry.content, expected, h.engine.inner)
        later = await h.peer.post(push)  # and once it has finished, the answer is at hand
        assert later.body == retry.body
        assert h.engine.handled() == [(f"wechat:{USER}", ANY)]
        assert h.engine.finished == 1


async def test_retry_after_the_slow_turn_finished_gets_the_real_answer() -> None:
    question = "社保卡怎么激活"
    expected = await reference_engine().handle("ref", question)
    async with harness(engine_options={"delay": 0.3}, engine_timeout=0.1, retry_wait=0.1) as h:
        push = message_xml("text", USER, Content=question, msg_id=6_000_000_005)
        assert (await h.peer.post(push)).is_success
        await asyncio.sleep(0.5)
        retry = await h.peer.post(push)
        assert_shows(retry.content, expected, h.engine.inner)
        assert len(h.engine.handled()) == 1


async def test_slow_subscribe_is_welcomed_on_the_retry() -> None:
    expected = await reference_engine().handle("ref", Command.START)
    async with harness(engine_options={"delay": 0.3}, engine_timeout=0.1, retry_wait=1.0) as h:
        push = message_xml("event", USER, Event="subscribe", create_time=int(time.time()))
        assert (await h.peer.post(push)).is_success
        retry = await h.peer.post(push)
        assert_shows(retry.content, expected, h.engine.inner)
        assert h.engine.handled() == [(f"wechat:{USER}", Command.START)]


async def test_engine_failure_gets_the_unavailable_notice_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    question = "我的社保卡号是123456怎么激活"
    async with harness(engine_options={"fail": lambda message: True}) as h:
        push = message_xml("text", USER, Content=question, msg_id=6_000_000_006)
        reply = await h.peer.post(push)
        assert_reply_envelope(reply)
        assert reply.content == h.engine.notice("unavailable", "zh")
        retry = await h.peer.post(push)
        assert retry.body == reply.body
        assert len(h.engine.handled()) == 1  # the failed turn is not run again
    logged = "\n".join(
        f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records if r.name.startswith("bot.channels")
    )
    assert "wechat.turn_failed" in logged and "RuntimeError" in logged
    assert question not in logged and USER not in logged


async def test_late_engine_failure_gives_the_retry_the_unavailable_notice() -> None:
    async with harness(
        engine_options={"delay": 0.3, "fail": lambda message: True}, engine_timeout=0.1, retry_wait=1.0
    ) as h:
        push = message_xml("text", USER, Content="社保卡怎么激活", msg_id=6_000_000_007)
        assert (await h.peer.post(push)).is_success
        retry = await h.peer.post(push)
        assert retry.content == h.engine.notice("unavailable", "zh")
        assert len(h.engine.handled()) == 1


# ------------------------------------------------------------------ safe mode


async def test_safe_mode_round_trip() -> None:
    question = "社保卡怎么激活"
    expected = await reference_engine().handle("ref", question)
    async with harness(aes=True) as h:
        reply = await h.peer.text(USER, question)  # the peer decrypts with wechatpy (checks MsgSignature)
        assert "<Encrypt>" in reply.body and "<MsgSignature>" in reply.body
        assert question not in reply.body
        assert_reply_envelope(reply)
        assert_shows(reply.content, expected, h.engine.inner)


async def test_compatible_mode_uses_the_encrypted_part() -> None:
    question = "社保卡怎么激活"
    expected = await reference_engine().handle("ref", question)
    async with harness(aes=True, compat=True) as h:
        reply = await h.peer.text(USER, question)
        assert_shows(reply.content, expected, h.engine.inner)


async def test_safe_mode_rejects_a_message_for_another_app_id() -> None:
    async with harness(aes=True, app_id="wx_someone_else") as h:
        reply = await h.peer.text(USER, "社保卡怎么激活")
        assert reply.status == 403
        assert h.engine.handled() == []


async def test_safe_mode_rejects_bad_msg_signature_and_plaintext() -> None:
    async with harness(aes=True) as h:
        crypto = h.peer.crypto
        assert crypto is not None
        query = h.peer.signed_query()
        envelope = crypto.encrypt_message(message_xml("text", USER, Content="hi"), query["nonce"], query["timestamp"])
        forged = await h.peer.post_raw(envelope, query | {"encrypt_type": "aes", "msg_signature": "0" * 40})
        assert forged.status_code == 403
        unsigned = await h.peer.post_raw(envelope, query | {"encrypt_type": "aes"})
        assert unsigned.status_code == 403
        plain = await h.peer.post_raw(message_xml("text", USER, Content="hi"))
        assert plain.status_code == 403
        assert h.engine.handled() == []


# ------------------------------------------------------------ long answers


async def test_oversized_answer_is_cut_and_zero_continues() -> None:
    async with harness(engine_options={"replies": long_answer}) as h:
        more = h.engine.notice("more", "zh")
        parts = []
        reply = await h.peer.text(USER, "请详细说说")
        while True:
            content = reply.content
            assert len(content.encode("utf-8")) <= MAX_CONTENT_BYTES
            if not content.endswith(more.strip()):
                parts.append(content)
                break
            parts.append(content.removesuffix(more.strip()).rstrip())
            assert len(parts) < 10
            reply = await h.peer.text(USER, "0")
        assert len(parts) >= 2
        assert "\n\n".join(parts) == LONG
        assert h.engine.handled() == [(f"wechat:{USER}", ANY)]  # "0" was served by the channel
        # Nothing left: "0" now goes to the engine like any text.
        await h.peer.text(USER, "0")
        assert len(h.engine.handled()) == 2


async def test_a_notice_between_the_parts_keeps_the_continuation() -> None:
    async with harness(engine_options={"replies": long_answer}) as h:
        more = h.engine.notice("more", "zh").strip()
        first = await h.peer.text(USER, "请详细说说")
        assert first.content.endswith(more)
        image = await h.peer.post(message_xml("image", USER, PicUrl="http://example.invalid/p.jpg", MediaId="m"))
        assert image.content == h.engine.notice("non_text", "zh")
        second = await h.peer.text(USER, "0")
        assert second.content.split("\n", 1)[0] in LONG
        assert second.content != first.content
        assert len(h.engine.handled()) == 1  # "0" was still served from the kept rest


# ---------------------------------------------------------------- bad input


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml ['
    '<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{USER}</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{USER}</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>"
)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("<xml><ToUserName>gh</ToUserName><Content>unclosed", 400),
        ("", 400),
        ('{"ToUserName": "json"}', 400),
        (BILLION_LAUGHS, 400),
        (EXTERNAL_ENTITY, 400),
        (message_xml("text", USER, Content="x").replace(f"<FromUserName><![CDATA[{USER}]]></FromUserName>", ""), 400),
        (message_xml("text", USER), 400),  # no Content
        (message_xml("event", USER), 400),  # no Event
        (message_xml("text", USER, Content="x").replace("<CreateTime>", "<CreateTime>soon"), 400),
        ("<xml>" + "<Pad>" + "x" * (64 * 1024) + "</Pad></xml>", 413),
    ],
    ids=[
        "malformed",
        "empty",
        "json",
        "billion-laughs",
        "external-entity",
        "missing-from",
        "missing-content",
        "missing-event",
        "bad-create-time",
        "oversize",
    ],
)
async def test_bad_bodies_are_refused(body: str, status: int) -> None:
    async with harness() as h:
        response = await h.peer.post_raw(body.encode("utf-8"))
        assert response.status_code == status
        assert "Traceback" not in response.text and "File " not in response.text
        assert h.engine.handled() == []


async def test_oversize_body_without_content_length_is_refused() -> None:
    async with harness() as h:

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b"x" * 1024

        response = await h.peer.post_raw(chunks())  # type: ignore[arg-type]
        assert response.status_code == 413


@pytest.mark.parametrize("skew", [-301, 301, -100_000])
async def test_stale_or_future_timestamp_is_refused(skew: int) -> None:
    async with harness() as h:
        reply = await h.peer.post(
            message_xml("text", USER, Content="社保卡怎么激活"), timestamp=int(time.time()) + skew
        )
        assert reply.status == 403
        assert h.engine.handled() == []


async def test_bad_or_missing_signature_is_refused() -> None:
    async with harness() as h:
        push = message_xml("text", USER, Content="社保卡怎么激活")
        forged = h.peer.signed_query(token="not-the-token")
        assert (await h.peer.post_raw(push, forged)).status_code == 403
        unsigned = {k: v for k, v in h.peer.signed_query().items() if k != "signature"}
        assert (await h.peer.post_raw(push, unsigned)).status_code == 403
        assert h.engine.handled() == []


async def test_plaintext_signed_query_cannot_carry_another_body() -> None:
    """The plaintext signature covers timestamp and nonce, not the body: a captured signed
    URL is refused with any body but the one it first came with."""
    async with harness() as h:
        query = h.peer.signed_query()
        original = message_xml("text", USER, Content="社保卡怎么激活", msg_id=6_000_000_101)
        first = h.peer.read(await h.peer.post_raw(original.encode("utf-8"), query))
        assert first.content
        forged = message_xml("text", "oSomeoneElse00000000000001", Content="在哪激活", msg_id=6_000_000_102)
        replayed = await h.peer.post_raw(forged.encode("utf-8"), query)
        assert (replayed.status_code, replayed.text) == (403, "forbidden")
        # The same body again (a retry or replay of that message) gets the same answer.
        again = h.peer.read(await h.peer.post_raw(original.encode("utf-8"), query))
        assert again.body == first.body
        assert h.engine.handled() == [(f"wechat:{USER}", ANY)]
        # Another nonce is another request.
        other = await h.peer.post(forged)
        assert other.content
        assert len(h.engine.handled()) == 2


async def test_compatible_mode_without_a_key_also_binds_the_body_to_the_nonce() -> None:
    async with harness() as h:
        query = h.peer.signed_query() | {"encrypt_type": "aes", "msg_signature": "0" * 40}
        body = message_xml("text", USER, Content="社保卡怎么激活").removesuffix("</xml>") + "<Encrypt>x</Encrypt></xml>"
        assert (await h.peer.post_raw(body.encode("utf-8"), query)).status_code == 200
        forged = body.replace("社保卡怎么激活", "在哪激活")
        assert (await h.peer.post_raw(forged.encode("utf-8"), query)).status_code == 403
        assert len(h.engine.handled()) == 1


async def test_safe_mode_does_not_track_nonces() -> None:
    """There msg_signature covers the body; a re-sent push is answered again."""
    async with harness(aes=True) as h:
        crypto = h.peer.crypto
        assert crypto is not None
        query = h.peer.signed_query()
        envelope = crypto.encrypt_message(
            message_xml("text", USER, Content="社保卡怎么激活"), query["nonce"], query["timestamp"]
        )
        encrypt = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
        query |= {
            "encrypt_type": "aes",
            "msg_signature": wechat_signature(TOKEN, query["timestamp"], query["nonce"], encrypt),
        }
        first = await h.peer.post_raw(envelope, query)
        again = await h.peer.post_raw(envelope, query)
        assert first.status_code == again.status_code == 200
        assert await h.store.tokens.recall(keys.wechat_nonce(query["timestamp"], query["nonce"])) is None


async def test_logs_carry_no_message_text_openid_or_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    question = "我的社保卡号是123456怎么激活"
    async with harness(aes=True) as h:
        await h.peer.text(USER, question)
        await h.peer.post_raw(b"<xml><broken")
    logged = "\n".join(
        f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records if r.name.startswith("bot.channels")
    )
    assert "wechat.reply" in logged
    for secret in (question, USER, TOKEN, AES_KEY):
        assert secret not in logged


# ----------------------------------------------------------- issue 10 cases


@pytest.mark.parametrize("timestamp", ["-400", "+400", "9" * 400, "-5", "1e9"])
async def test_get_verification_checks_the_timestamp_window(timestamp: str) -> None:
    """Issue 10, case 11: a captured signed URL reflected any ``echostr`` forever, and a
    400-digit signed timestamp was a 500."""
    if timestamp in ("-400", "+400"):  # seconds away from now
        timestamp = str(int(time.time()) + int(timestamp))
    async with harness() as h:
        nonce = "1514711492"
        query = {"timestamp": timestamp, "nonce": nonce, "signature": wechat_signature(TOKEN, timestamp, nonce)}
        response = await h.peer.client.get("/wechat", params=query | {"echostr": "attacker-text"})
        assert response.status_code == 403
        assert "attacker-text" not in response.text


async def test_a_post_with_a_huge_signed_timestamp_is_refused_not_a_500() -> None:
    async with harness() as h:
        timestamp, nonce = "9" * 400, "77"
        query = {"timestamp": timestamp, "nonce": nonce, "signature": wechat_signature(TOKEN, timestamp, nonce)}
        response = await h.peer.post_raw(message_xml("text", USER, Content="社保卡怎么激活"), query)
        assert response.status_code == 403
        huge_time = message_xml("text", USER, Content="hi", create_time=int("9" * 30))
        assert (await h.peer.post_raw(huge_time)).status_code == 400


async def test_the_retry_cache_tells_senders_apart() -> None:
    """Issue 10, case 13: the retry cache key ignored the sender, so two users' messages with
    the same MsgId got one answer."""
    async with harness() as h:
        first = await h.peer.post(message_xml("text", USER, Content="社保卡怎么激活", msg_id=42))
        other = await h.peer.post(message_xml("text", USER + "2", Content="社保卡在哪里激活", msg_id=42))
        assert first.content != other.content
        assert other.message.target == USER + "2"
        assert len(h.engine.handled()) == 2


async def test_a_flooding_follower_is_told_once_and_then_ignored() -> None:
    async with harness(settings_options={"faqbot_flood_private_per_minute": 2}) as h:
        answers = [await h.peer.text(USER, f"社保卡怎么激活{n}") for n in range(5)]
        assert all(reply.message is not None for reply in answers[:3])
        assert answers[2].content == h.engine.notice("flood", "zh")
        assert all(reply.is_success for reply in answers[3:])
        assert len(h.engine.handled()) == 2
        other = await h.peer.text(USER + "x", "社保卡怎么激活")  # another follower is not held up
        assert other.content != h.engine.notice("flood", "zh")


async def test_a_cut_answer_leaves_no_empty_continuation_behind() -> None:
    """Issue 10, case 13: every reply stored an empty ``wechat:more:`` value per user."""
    async with harness() as h:
        await h.peer.text(USER, "社保卡怎么激活")
        assert await h.store.tokens.recall(keys.more(f"wechat:{USER}")) is None
        kept = sorted(name.split(":")[1] for name in h.store.tokens.values._entries)
        assert kept == ["msg", "nonce"]  # the reply kept for WeChat's retries, the body's hash: nothing else

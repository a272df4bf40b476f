"""``faqbot serve``'s ASGI app (bot/web.py) under a real uvicorn on 127.0.0.1, with the
Telegram side played by the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.app import ConfigurationError
from bot.channels.telegram import ALLOWED_UPDATES
from bot.channels.telegram.config import SECRET_HEADER
from bot.channels.telegram.intake import MAX_BODY_BYTES
from bot.dialogue import Engine
from bot.messages import Command
from bot.settings import Settings
from bot.state import MemoryStore
from bot.state.keys import telegram_conversation as conversation_key
from bot.web import create_app
from tests.conftest import MakeEngine
from tests.fake_telegram import FakeTelegram, buttons, expected_messages, make_settings, shown
from tests.support import uvicorn_in_loop

SECRET = "w3bh00k-Secret_value"
WEBHOOK_URL = "https://faq.example.com/telegram"


@dataclass
class WebhookBot:
    fake: FakeTelegram
    client: httpx.AsyncClient
    settings: Settings
    reference: Engine
    store: MemoryStore

    async def post(self, update: Any, secret: str | None = SECRET, **kw: Any) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if "content" not in kw:
            kw["json"] = update
        return await self.client.post("/telegram", headers=headers, **kw)


@contextlib.asynccontextmanager
async def webhook_bot(fake: FakeTelegram, make_engine: MakeEngine, **overrides: Any) -> AsyncIterator[WebhookBot]:
    values: dict[str, Any] = {"telegram_webhook_url": WEBHOOK_URL, "telegram_webhook_secret": SECRET}
    values.update(overrides)
    settings = make_settings(fake, **values)
    store = MemoryStore()
    app = create_app(settings, engine=make_engine(store), store=store)
    async with uvicorn_in_loop(app) as (base_url, _), httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        yield WebhookBot(fake, client, settings, make_engine(), store)


@pytest.fixture
async def web(fake: FakeTelegram, make_engine: MakeEngine) -> AsyncIterator[WebhookBot]:
    async with webhook_bot(fake, make_engine) as running:
        yield running


async def test_start_up_registers_the_webhook_with_secret_and_update_types(web: WebhookBot) -> None:
    (call,) = web.fake.calls_of("setWebhook")
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ALLOWED_UPDATES == ["message", "callback_query"]
    health = await web.client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "checks": {"store": "ok", "telegram": "ok"}, "channels": ["telegram"]}


async def test_a_good_update_is_answered(web: WebhookBot) -> None:
    fake = web.fake
    user = fake.user(3001, language_code="zh-hans")
    chat = fake.private_chat(user)
    key = conversation_key(chat["id"], user["id"])
    welcome = await web.reference.handle(key, Command.START, hint="zh")
    response = await web.post(fake.text_update(chat, user, "/start"))
    assert (response.status_code, response.text) == (200, "ok")
    sent = await fake.wait_sent(chat["id"], len(expected_messages(welcome)))
    assert [shown(m) for m in sent] == expected_messages(welcome)

    # A button press arrives by webhook too.
    answer = await web.reference.choose(key, welcome.replies[-1].prompt_id, 0)
    assert answer is not None
    response = await web.post(fake.press_update(user, sent[-1], buttons(sent[-1])[0]))
    assert response.status_code == 200
    sent = await fake.wait_sent(chat["id"], len(sent) + len(expected_messages(answer)))
    assert [shown(m) for m in sent[-len(expected_messages(answer)) :]] == expected_messages(answer)
    assert len(fake.calls_of("answerCallbackQuery")) == 1


async def test_the_response_does_not_wait_for_slow_sends(web: WebhookBot) -> None:
    fake = web.fake
    user = fake.user(3002)
    chat = fake.private_chat(user)
    fake.fail_next("sendMessage", status=429, retry_after=2)
    started = time.monotonic()
    response = await web.post(fake.text_update(chat, user, "hello"))
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0
    await fake.wait_sent(chat["id"], 1, timeout=10)
    assert time.monotonic() - started >= 2.0


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1]])
async def test_missing_or_wrong_secret_is_403(web: WebhookBot, secret: str | None) -> None:
    fake = web.fake
    user = fake.user(3003)
    chat = fake.private_chat(user)
    response = await web.post(fake.text_update(chat, user, "hello"), secret=secret)
    assert response.status_code == 403
    assert "Traceback" not in response.text
    await asyncio.sleep(0.2)
    assert fake.sent(chat["id"]) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe",
        b"[]",
        b"42",
        b'{"update_id": "7"}',
        b"{}",
        b'{"update_id": true}',
        b'{"update_id": 5, "message": {"message_id": "x"}}',
        b"[" * 100_000 + b"]" * 100_000,  # issue 10, case 9: deep nesting was a 500 with a traceback
        b'{"update_id": {"a": ' * 5_000 + b"1" + b"}" * 5_000,
        b'{"update_id": ' + b"9" * 400 + b"}",
        b'{"update_id": -1}',
        b'{"update_id": 12, "message": "\xff"}',
    ],
)
async def test_malformed_bodies_are_400(web: WebhookBot, body: bytes) -> None:
    response = await web.client.post(
        "/telegram", content=body, headers={SECRET_HEADER: SECRET, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text and "Error" not in response.text


async def test_oversized_bodies_are_413(web: WebhookBot) -> None:
    big = json.dumps({"update_id": 1, "padding": "x" * MAX_BODY_BYTES}).encode()
    response = await web.client.post("/telegram", content=big, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the streamed size counts
        for _ in range(17):
            yield b" " * 65536

    response = await web.client.post("/telegram", content=chunks(), headers={SECRET_HEADER: SECRET})
    assert response.status_code == 413
    assert (await web.client.get("/healthz")).status_code == 200


async def test_a_repeated_update_is_processed_once(web: WebhookBot) -> None:
    fake = web.fake
    user = fake.user(3004, language_code="en")
    chat = fake.private_chat(user)
    update = fake.text_update(chat, user, "how do I activate my card")
    key = conversation_key(chat["id"], user["id"])
    expected = await web.reference.handle(key, "how do I activate my card", hint="en")
    responses = await asyncio.gather(*(web.post(update) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert (await web.post(update)).status_code == 200
    await fake.wait_sent(chat["id"], len(expected_messages(expected)))
    await asyncio.sleep(0.3)
    assert [shown(m) for m in fake.sent(chat["id"])] == expected_messages(expected)


async def test_accepted_updates_are_processed_before_shutdown(fake: FakeTelegram, make_engine: MakeEngine) -> None:
    user = fake.user(3005)
    chat = fake.private_chat(user)
    async with webhook_bot(fake, make_engine) as web:
        fake.fail_next("sendMessage", status=429, retry_after=1)
        assert (await web.post(fake.text_update(chat, user, "hello"))).status_code == 200
    assert len(fake.sent(chat["id"])) >= 1


async def test_without_url_nothing_is_registered(fake: FakeTelegram, make_engine: MakeEngine) -> None:
    async with webhook_bot(fake, make_engine, telegram_webhook_url=None) as web:
        assert fake.calls_of("setWebhook") == []
        user = fake.user(3006)
        chat = fake.private_chat(user)
        assert (await web.post(fake.text_update(chat, user, "hello"), secret=None)).status_code == 403
        assert (await web.post(fake.text_update(chat, user, "hello"))).status_code == 200
        await fake.wait_sent(chat["id"], 1)


@pytest.mark.parametrize("secret", [None, ""])
def test_the_webhook_needs_a_secret(fake: FakeTelegram, secret: str | None, make_engine: MakeEngine) -> None:
    settings = make_settings(fake, telegram_webhook_secret=secret)
    with pytest.raises(ConfigurationError, match=r"^TELEGRAM_WEBHOOK_SECRET is required for the webhook: ") as caught:
        create_app(settings, engine=make_engine(), store=MemoryStore())
    assert "\n" not in str(caught.value)


def test_an_app_needs_a_channel() -> None:
    with pytest.raises(ConfigurationError):
        create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError):
        create_app(Settings(_env_file=None, telegram_bot_token="nonsense"))  # type: ignore[call-arg]


async def test_wechat_routes_are_mounted_on_the_same_app(fake: FakeTelegram, make_engine: MakeEngine) -> None:
    async with webhook_bot(fake, make_engine, wechat_token="faqbotWeChatToken1") as web:
        health = await web.client.get("/healthz")
        assert health.json()["channels"] == ["telegram", "wechat"]
        unsigned = await web.client.get("/wechat", params={"echostr": "1"})
        assert unsigned.status_code in (400, 403)
        assert (await web.client.get("/nowhere")).status_code == 404


@pytest.mark.parametrize("kind", ["edited_message", "channel_post", "business_message", "edited_channel_post"])
async def test_other_update_types_are_acknowledged_and_ignored(web: WebhookBot, kind: str) -> None:
    """Issue 10, case 10: an edited question was answered again."""
    fake = web.fake
    user = fake.user(3008, language_code="zh")
    chat = fake.private_chat(user)
    question = fake.text_update(chat, user, "社保卡怎么激活")
    assert (await web.post(question)).status_code == 200
    await fake.wait_sent(chat["id"], 1)
    other = {"update_id": question["update_id"] + 1000, kind: {**question["message"], "text": "社保卡在哪里激活"}}
    if kind == "edited_message":
        other = fake.edited_update(question, "社保卡在哪里激活")
    assert (await web.post(other)).status_code == 200
    await fake.settle()
    assert len(fake.sent(chat["id"])) == 1
    assert await web.store.inbox.backlog() == 0  # not even stored


async def test_a_lone_surrogate_in_a_webhook_update_is_answered(web: WebhookBot) -> None:
    fake = web.fake
    user = fake.user(3009, language_code="zh")
    chat = fake.private_chat(user)
    body = json.dumps(fake.text_update(chat, user, "社保卡\ud800怎么激活")).encode()
    assert b"\\ud800" in body
    assert (await web.post(None, content=body)).status_code == 200
    (answer,) = await fake.wait_sent(chat["id"], 1)
    assert answer["text"] and "\ufffd" not in answer["text"]


async def test_a_full_backlog_is_refused_so_that_telegram_delivers_again(
    fake: FakeTelegram, make_engine: MakeEngine
) -> None:
    """Issue 10, case 3: the backlog is bounded, and what does not fit is not acknowledged."""
    fake.latency["sendMessage"] = 0.5
    async with webhook_bot(fake, make_engine, faqbot_telegram_backlog=1) as web:
        first, second = fake.user(3101), fake.user(3102)
        assert (await web.post(fake.text_update(fake.private_chat(first), first, "hello"))).status_code == 200
        later = fake.text_update(fake.private_chat(second), second, "hello")
        refused = await web.post(later)
        assert (refused.status_code, refused.headers["retry-after"]) == (503, "5")
        await fake.wait_sent(first["id"], 1)
        deadline = time.monotonic() + 10
        while (await web.post(later)).status_code != 200:  # Telegram's re-delivery, once there is room
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        await fake.wait_sent(second["id"], 1)

"""The WeChat webhook over a real uvicorn server on 127.0.0.1 (HTTP/1.1, real sockets)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from bot.channels.wechat import wechat_routes
from bot.channels.wechat.replies import MAX_CONTENT_BYTES
from bot.runtime import build_engine
from bot.state import MemoryStore
from devtools.processes import ServeProcess
from tests.support import uvicorn_in_loop
from tests.test_wechat_peer import TOKEN, WeChatPeer, message_xml, settings, wechat_signature

USER = "oFaqbotServerTestUser000001"


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    store = MemoryStore()
    config = settings(aes=True)
    app = Starlette(routes=wechat_routes(config, build_engine(config, store), store))
    async with uvicorn_in_loop(app, lifespan="off") as (url, _):
        yield url


async def test_over_a_real_server(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        peer = WeChatPeer(client, aes=True)

        query = peer.signed_query()
        verified = await client.get("/wechat", params=query | {"echostr": "123456789"})
        assert (verified.status_code, verified.text) == (200, "123456789")

        started = time.monotonic()
        reply = await peer.text(USER, "社保卡怎么激活")
        assert time.monotonic() - started < 5
        assert reply.status == 200
        assert reply.message.target == USER
        assert 0 < len(reply.content.encode("utf-8")) <= MAX_CONTENT_BYTES

        push = message_xml("event", USER, Event="subscribe")
        first, retry = await peer.post(push), await peer.post(push)
        assert first.content == retry.content

        refused = await client.post(
            "/wechat",
            params={"timestamp": "1", "nonce": "2", "signature": wechat_signature(TOKEN, "1", "2")},
            content=b"<xml/>",
        )
        assert refused.status_code == 403
        too_big = await peer.post_raw(
            b"<xml>" + b"x" * (70 * 1024) + b"</xml>", peer.signed_query() | {"encrypt_type": "aes"}
        )
        assert too_big.status_code == 413


@pytest.mark.parametrize("workers", [1, 2])
async def test_served_logs_carry_no_openid_or_signature(
    workers: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """``faqbot serve`` at DEBUG (both uvicorn.run calls: one process, and ``--workers``
    with Redis): every logger, uvicorn's access and error logs included, goes to the
    process's stderr, and no line holds the ``openid`` or ``signature`` that WeChat puts
    in the query string."""
    state_url = "memory://" if workers == 1 else str(request.getfixturevalue("redis_url"))
    server = ServeProcess(
        {"WECHAT_TOKEN": TOKEN, "FAQBOT_STATE_URL": state_url, "FAQBOT_LOG_LEVEL": "DEBUG"},
        tmp_path / "run",
        workers=workers,
    )
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            peer = WeChatPeer(client)
            query = peer.signed_query() | {"openid": USER}
            push = message_xml("text", USER, Content="社保卡怎么激活")
            response = await client.post("/wechat", params=query, content=push.encode("utf-8"))
            assert response.status_code == 200 and response.text.startswith("<xml>")
    finally:
        await asyncio.to_thread(server.stop)
    logged = server.log()
    assert "wechat.reply" in logged  # the channel's own line, so the log was captured
    assert USER not in logged
    assert query["signature"] not in logged
    assert "POST /wechat" not in logged  # no access-log line at all

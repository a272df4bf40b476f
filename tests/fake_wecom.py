"""A fake WeCom for the robot channel, written from the documents, not from our code.

* Callbacks are the documents' own sample payloads (``tests/fixtures/wecom``, each citing
  its page) with the members, chat, text and ``msgid`` of a test filled in.
* They are encrypted and signed, and the replies opened and their signature checked, by
  wechatpy's enterprise crypto with an empty receive id (:class:`tests.wecom_peer.WeComPeer`).
* ``response_url`` points at a loopback server of the fake, which records each active
  reply (主动回复, path 101138) and answers ``{"errcode": 0}``; a URL takes one reply only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import uvicorn_in_loop
from tests.wecom_peer import WeComPeer, fixture

TOKEN = "QDG6eK"
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SETTINGS = {"WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": KEY}


@dataclass
class Answer:
    """The HTTP answer to one callback, its reply opened by the peer (``None``: an empty one)."""

    status: int
    reply: dict[str, Any] | None
    text: str = ""

    @property
    def stream(self) -> dict[str, Any]:
        assert self.reply is not None and "stream" in self.reply, self.reply
        stream: dict[str, Any] = self.reply["stream"]
        return stream

    @property
    def content(self) -> str:
        """The stream's markdown as a member reads it (escapes removed)."""
        return str(self.stream.get("content", "")).replace("\\", "")

    @property
    def card(self) -> dict[str, Any]:
        assert self.reply is not None, self.status
        card: dict[str, Any] = self.reply["template_card"]
        return card


@dataclass
class FakeWeCom:
    """WeCom's side of ``/wecom`` for one robot, talking to ``client`` (the bot's server)."""

    client: httpx.AsyncClient
    token: str = TOKEN
    key: str = KEY
    active: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # response code → replies posted
    base_url: str = ""
    _numbers: itertools.count[int] = field(default_factory=itertools.count)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def peer(self) -> WeComPeer:
        return WeComPeer(self.token, self.key)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeWeCom]:
        """The response_url server on a loopback port, for the duration of the block."""
        app = Starlette(routes=[Route("/response/{code}", self._active_reply, methods=["POST"])])
        async with uvicorn_in_loop(app, lifespan="off") as (url, _):
            self.base_url = url
            yield self

    async def _active_reply(self, request: Request) -> JSONResponse:
        code = request.path_params["code"]
        if self.active.get(code):
            return JSONResponse({"errcode": 40001, "errmsg": "response_url used"})  # one call per URL
        async with self._arrived:
            self.active[code] = [json.loads(await request.body())]
            self._arrived.notify_all()
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def active_reply(self, code: str, timeout: float = 15.0) -> dict[str, Any]:
        """The active reply posted to ``response_url`` ``code``, once it arrives."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: code in self.active), timeout)
        return self.active[code][0]

    def callback(self, name: str, user: str, chat: str | None = None, **fields: Any) -> dict[str, Any]:
        """The sample ``name`` from ``user`` (in group ``chat``), with a fresh ``msgid`` and
        ``response_url``; ``fields`` replace top-level fields."""
        data = fixture(name)
        data["msgid"] = f"CAIQ{secrets.token_urlsafe(18)}="
        data["from"]["userid"] = user
        if chat is None:
            data.pop("chatid", None)
            if "chattype" in data:
                data["chattype"] = "single"
        else:
            data |= {"chatid": chat, "chattype": "group"}
        if "response_url" in data:
            data["response_url"] = f"{self.base_url}/response/{next(self._numbers)}"
        return data | fields

    def question(self, text: str, user: str, chat: str | None = "CHATID") -> dict[str, Any]:
        """A text message; in a group it @mentions the robot, as members must."""
        return self.callback("text_group", user, chat, text={"content": f"@RobotA {text}" if chat else text})

    def press(self, card: dict[str, Any], index: int, user: str, chat: str | None = "CHATID") -> dict[str, Any]:
        """A press on button ``index`` of ``card`` (the confirm button with option ``index``
        picked, for a dropdown), as 按钮交互模版卡片的事件 documents it."""
        data = self.callback("template_card_event_button", user, chat)
        event = data["event"]["template_card_event"]
        event |= {
            "task_id": card["task_id"],
            "event_key": card["button_list"][min(index, len(card["button_list"]) - 1)]["key"],
        }
        selection = card.get("button_selection")
        event["selected_items"] = {"selected_item": [{"question_key": selection["question_key"], "option_ids": {
            "option_id": [selection["option_list"][index]["id"]]}}]} if selection else {}  # fmt: skip
        return data

    def vote(self, feedback_id: str, vote: int, user: str, chat: str | None = "CHATID") -> dict[str, Any]:
        data = self.callback("feedback_event", user, chat)
        data["event"]["feedback_event"] |= {"id": feedback_id, "type": vote}
        return data

    def refresh(self, stream_id: str, user: str, chat: str | None = "CHATID") -> dict[str, Any]:
        data = self.callback("stream_refresh", user, chat)
        data["stream"]["id"] = stream_id
        return data

    async def send(self, data: dict[str, Any], *, timestamp: int | None = None, nonce: str | None = None) -> Answer:
        """POST ``data`` encrypted and signed, and open the reply as WeCom would."""
        query, body = self.peer.callback(
            json.dumps(data, ensure_ascii=False), timestamp=str(timestamp or int(time.time())),
            nonce=nonce or str(secrets.randbelow(10**9)),
        )  # fmt: skip
        response = await self.client.post("/wecom", params=query, content=body)
        return self.open(response, query["nonce"])

    def open(self, response: httpx.Response, nonce: str) -> Answer:
        if response.status_code != 200 or not response.content:
            return Answer(response.status_code, None, response.text)
        envelope = response.json()
        assert envelope["nonce"] == nonce and isinstance(envelope["timestamp"], int)  # "需要用回调url中的nonce"
        return Answer(200, json.loads(self.peer.open_reply(envelope)))

    async def finished(self, answer: Answer, user: str, chat: str | None = "CHATID", timeout: float = 20.0) -> Answer:
        """``answer``, or when it is an unfinished stream, what WeCom's refreshes (流式消息刷新)
        get once it is finished."""
        deadline = time.monotonic() + timeout
        while not answer.stream.get("finish"):
            assert time.monotonic() < deadline, "the stream never finished"
            await asyncio.sleep(0.2)
            answer = await self.send(self.refresh(answer.stream["id"], user, chat))
        return answer

"""A simulated WeChat server for the WeChat channel tests (no tests of its own).

Signatures, encryption and reply parsing go through wechatpy, an implementation
independent of ``bot/channels/wechat*.py``, so the tests check the channel against the
protocol rather than against itself.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import xmltodict
from pydantic import SecretStr
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.settings import Settings

TOKEN = "faqbot-test-token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
ACCOUNT = "gh_faqbot_test"

_msg_ids = itertools.count(24_000_000_000_000_000)


def settings(*, aes: bool = False, **overrides: Any) -> Settings:
    """Settings for a test deployment (the environment and .env are ignored)."""
    values: dict[str, Any] = {
        "wechat_token": SecretStr(TOKEN),
        "wechat_app_id": APP_ID if aes else None,
        "wechat_aes_key": SecretStr(AES_KEY) if aes else None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def wechat_signature(*parts: str) -> str:
    """The signature as wechatpy computes it."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(
    msg_type: str, user: str, *, msg_id: int | None = None, create_time: int | None = None, **fields: str
) -> str:
    """A push as WeChat sends it; ``fields`` are extra elements (Content, Event, …)."""
    parts = [
        f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>",
        f"<FromUserName>{cdata(user)}</FromUserName>",
        f"<CreateTime>{create_time if create_time is not None else int(time.time())}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    parts += [f"<{name}>{cdata(value)}</{name}>" for name, value in fields.items()]
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id if msg_id is not None else next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class Reply:
    """What the channel answered, decrypted and parsed by wechatpy."""

    status: int
    body: str
    message: Any = None  # a wechatpy message when the body is a reply XML

    @property
    def is_success(self) -> bool:
        return self.status == 200 and self.body == "success"

    @property
    def content(self) -> str:
        assert self.message is not None, f"no reply message: {self.status} {self.body[:80]!r}"
        return str(self.message.content)


@dataclass
class WeChatPeer:
    """Posts signed (and, with ``aes``, encrypted) pushes to ``/wechat``."""

    client: httpx.AsyncClient
    aes: bool = False
    compat: bool = False  # compatible mode: the plain fields travel next to Encrypt
    app_id: str = APP_ID
    crypto: WeChatCrypto | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.aes:
            self.crypto = WeChatCrypto(TOKEN, AES_KEY, self.app_id)

    def signed_query(self, *, timestamp: int | None = None, token: str = TOKEN) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = str(random.randint(10**8, 10**10))
        return {"timestamp": ts, "nonce": nonce, "signature": wechat_signature(token, ts, nonce)}

    async def post_raw(self, body: bytes | str, query: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return await self.client.post("/wechat", params=query or self.signed_query(), content=body, **kwargs)

    async def post(self, xml: str, *, timestamp: int | None = None) -> Reply:
        """Send ``xml`` as WeChat would in this peer's mode; the parsed answer."""
        query = self.signed_query(timestamp=timestamp)
        body = xml
        if self.crypto is not None:
            envelope = self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
            encrypt = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
            query |= {
                "encrypt_type": "aes",
                "msg_signature": wechat_signature(TOKEN, query["timestamp"], query["nonce"], encrypt),
            }
            encrypted = f"<Encrypt>{cdata(encrypt)}</Encrypt>"
            if self.compat:
                body = xml.removesuffix("</xml>") + encrypted + "</xml>"
            else:
                body = f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>{encrypted}</xml>"
        response = await self.client.post("/wechat", params=query, content=body.encode("utf-8"))
        return self.read(response)

    def read(self, response: httpx.Response) -> Reply:
        text = response.text
        if response.status_code != 200 or text == "success" or not text.startswith("<xml>"):
            return Reply(response.status_code, text)
        if self.crypto is not None:
            reply_fields = parse_message_fields(text)
            plain = self.crypto.decrypt_message(
                text, reply_fields["MsgSignature"], reply_fields["TimeStamp"], reply_fields["Nonce"]
            )
            return Reply(response.status_code, text, parse_message(plain))
        return Reply(response.status_code, text, parse_message(text))

    async def text(self, user: str, content: str, **kwargs: Any) -> Reply:
        return await self.post(message_xml("text", user, Content=content, **kwargs))


def parse_message_fields(xml: str) -> dict[str, str]:
    return dict(xmltodict.parse(xml)["xml"])

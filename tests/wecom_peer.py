"""The WeCom side of the robot's crypto, played by wechatpy (a peer this project did not write).

wechatpy's enterprise ``WeChatCrypto`` with an empty corp id is the intelligent robot's
scheme (path 101033: "receiveid直接传空字符串即可"); it speaks XML envelopes, so the JSON
ones of the robot are built around its ``Encrypt`` / ``MsgSignature`` values here.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from defusedxml import ElementTree
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.channels.wecom.envelope import Callback, parse_callback

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "wecom"


def parse(plaintext: str, robot_names: tuple[str, ...] = ()) -> Callback:
    """The callback carrying ``plaintext`` (as if decrypted from a body's ``encrypt``)."""
    return parse_callback(b'{"encrypt": "ENCRYPTED"}', lambda encrypt: plaintext, robot_names)


def fixture(name: str) -> dict[str, Any]:
    """A documented sample payload, without its ``_source`` note."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    data.pop("_source")
    return data


class WeComPeer:
    """Encrypts callbacks and checks replies as WeCom would, for one Token and EncodingAESKey."""

    def __init__(self, token: str, aes_key: str, receive_id: str = "") -> None:
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, receive_id)
        self.receive_id = receive_id

    def callback(
        self, plaintext: str, *, timestamp: str = "1700000000", nonce: str = "1372623149"
    ) -> tuple[dict[str, str], bytes]:
        """The query parameters and body of a POST carrying ``plaintext``."""
        xml = ElementTree.fromstring(self.crypto.encrypt_message(plaintext, nonce, timestamp))
        query = {"msg_signature": xml.findtext("MsgSignature"), "timestamp": timestamp, "nonce": nonce}
        return query, json.dumps({"encrypt": xml.findtext("Encrypt")}).encode()

    def echostr(self, plaintext: str, *, timestamp: str = "1700000000", nonce: str = "1372623149") -> dict[str, str]:
        """The query parameters of the URL check (GET) whose echostr carries ``plaintext``."""
        echostr = PrpCrypto(self.crypto.key).encrypt(plaintext, self.receive_id).decode()
        signature = _get_signature(self.token, timestamp, nonce, echostr)
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}

    def open_reply(self, envelope: dict[str, Any]) -> str:
        """The plaintext of a passive reply envelope; raises when it does not verify."""
        return str(self.crypto.decrypt_message(
            {"Encrypt": envelope["encrypt"]}, envelope["msgsignature"], str(envelope["timestamp"]), envelope["nonce"]
        ))  # fmt: skip

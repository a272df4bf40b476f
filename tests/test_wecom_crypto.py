"""The robot's callback crypto against wechatpy (empty receive id), both directions: the
channel's own cipher (:mod:`bot.channels.common.crypto` with an empty receive id), the
signature checked before anything is decrypted, and the timestamp window."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from wechatpy.exceptions import InvalidSignatureException

from bot.app import ConfigurationError
from bot.channels.common.crypto import WeChatCipher, seal
from bot.channels.common.webhooks import Rejected, open_signed
from bot.channels.wecom.channel import wecom_keys
from bot.settings import Settings
from tests.wecom_peer import WeComPeer, fixture


class WeComCrypto:
    """What the channel does with a Token and an EncodingAESKey (:mod:`bot.channels.wecom.channel`)."""

    def __init__(self, token: str, key: str) -> None:
        self.token, self.cipher = token, WeChatCipher(key, "")

    def verify_url(self, signature: str | None, timestamp: str, nonce: str, echostr: str) -> str:
        return open_signed(self.token, self.cipher, (signature, timestamp, nonce), echostr, float(timestamp or 0))

    def decrypt_callback(self, signature: str | None, timestamp: str, nonce: str, body: bytes) -> str:
        return self.verify_url(signature, timestamp, nonce, json.loads(body)["encrypt"])

    def encrypt_reply(self, plaintext: str, *, timestamp: int, nonce: str) -> dict[str, Any]:
        encrypt, signature = seal(self.token, self.cipher, plaintext, str(timestamp), nonce)
        return {"encrypt": encrypt, "msgsignature": signature, "timestamp": timestamp, "nonce": nonce}


def refused(reason: str) -> Any:
    return pytest.raises(Rejected, match=reason)


TOKEN = "QDG6eK"
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def ours() -> WeComCrypto:
    return WeComCrypto(TOKEN, KEY)


@pytest.fixture
def peer() -> WeComPeer:
    return WeComPeer(TOKEN, KEY)


def test_a_callback_encrypted_by_the_peer_decrypts(ours: WeComCrypto, peer: WeComPeer) -> None:
    plaintext = json.dumps(fixture("text_group"), ensure_ascii=False)
    query, body = peer.callback(plaintext)
    assert json.loads(body).keys() == fixture("replies/callback_envelope").keys()
    assert ours.decrypt_callback(query["msg_signature"], query["timestamp"], query["nonce"], body) == plaintext


def test_the_url_check_answers_the_peers_echostr(ours: WeComCrypto, peer: WeComPeer) -> None:
    query = peer.echostr("1616140317555161061")
    assert (
        ours.verify_url(query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"])
        == "1616140317555161061"
    )


def test_a_reply_is_the_documented_envelope_and_the_peer_opens_it(ours: WeComCrypto, peer: WeComPeer) -> None:
    plaintext = json.dumps(fixture("replies/stream"), ensure_ascii=False)
    envelope = ours.encrypt_reply(plaintext, timestamp=1641002400, nonce="1372623149")
    documented = fixture("replies/reply_envelope")
    assert envelope.keys() == documented.keys()
    assert {k: type(v) for k, v in envelope.items()} == {k: type(v) for k, v in documented.items()}
    assert envelope["nonce"] == "1372623149" and envelope["timestamp"] == 1641002400  # the callback's nonce
    assert peer.open_reply(envelope) == plaintext


def test_the_peer_refuses_a_reply_whose_signature_was_altered(ours: WeComCrypto, peer: WeComPeer) -> None:
    envelope = ours.encrypt_reply("{}", timestamp=1641002400, nonce="n")
    envelope["timestamp"] = 1641002401  # the signature covers the timestamp
    with pytest.raises(InvalidSignatureException):
        peer.open_reply(envelope)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_round_trips_both_ways(text: str) -> None:
    ours, peer = WeComCrypto(TOKEN, KEY), WeComPeer(TOKEN, KEY)
    query, body = peer.callback(text, nonce="abc")
    assert ours.decrypt_callback(query["msg_signature"], query["timestamp"], "abc", body) == text
    assert peer.open_reply(ours.encrypt_reply(text, timestamp=1, nonce="abc")) == text


def test_a_wrong_or_missing_signature_is_refused_before_decryption(ours: WeComCrypto) -> None:
    query, body = WeComPeer("another-token", KEY).callback("{}")
    with refused("bad_signature"):
        ours.decrypt_callback(query["msg_signature"], query["timestamp"], query["nonce"], body)
    query, body = WeComPeer(TOKEN, KEY).callback("{}")
    for signature, timestamp, nonce in ((None, "1700000000", "1372623149"), ("", "1700000000", "1372623149"),
                                        (query["msg_signature"], "1700000001", "1372623149"),
                                        (query["msg_signature"], "1700000000", "other")):  # fmt: skip
        with refused("bad_signature"):
            ours.decrypt_callback(signature, timestamp, nonce, body)
    echo = WeComPeer("another-token", KEY).echostr("x")
    with refused("bad_signature"):
        ours.verify_url(echo["msg_signature"], echo["timestamp"], echo["nonce"], echo["echostr"])


def test_a_tampered_payload_is_refused(ours: WeComCrypto, peer: WeComPeer) -> None:
    query, body = peer.callback('{"msgid": "1"}')
    encrypt = json.loads(body)["encrypt"]
    tampered = ("B" if encrypt[0] != "B" else "C") + encrypt[1:]
    with refused("bad_signature"):  # without the Token the signature cannot follow
        ours.decrypt_callback(
            query["msg_signature"], query["timestamp"], query["nonce"], json.dumps({"encrypt": tampered}).encode()
        )


def test_a_payload_for_another_key_or_receive_id_is_refused_after_the_signature(ours: WeComCrypto) -> None:
    for peer in (WeComPeer(TOKEN, OTHER_KEY), WeComPeer(TOKEN, KEY, receive_id="wwcorp123")):
        query, body = peer.callback('{"msgid": "1"}')
        with refused("decrypt") as caught:
            ours.decrypt_callback(query["msg_signature"], query["timestamp"], query["nonce"], body)
        assert KEY not in str(caught.value.detail) and "msgid" not in str(caught.value.detail)


def test_signed_garbage_is_a_decrypt_error(ours: WeComCrypto) -> None:
    from bot.channels.common.crypto import sign

    for garbage in ("not base64!", "QUJD", "A" * 44):
        with refused("decrypt"):
            ours.decrypt_callback(sign(TOKEN, "1", "n", garbage), "1", "n", json.dumps({"encrypt": garbage}).encode())


def test_a_stale_timestamp_is_refused_after_the_signature() -> None:
    query, body = WeComPeer(TOKEN, KEY).callback("{}", timestamp="1700000000")
    cipher = WeChatCipher(KEY, "")
    signed = (query["msg_signature"], query["timestamp"], query["nonce"])
    encrypt = json.loads(body)["encrypt"]
    assert open_signed(TOKEN, cipher, signed, encrypt, 1700000000 + 299) == "{}"
    for now in (1700000000 + 301, 1700000000 - 301):
        with refused("stale_timestamp"):
            open_signed(TOKEN, cipher, signed, encrypt, now)


@pytest.mark.parametrize(
    ("token", "key"), [("", KEY), ("  ", KEY), (TOKEN, ""), (TOKEN, None), (None, KEY), (TOKEN, KEY[:-1]),
                       (TOKEN, KEY + "A"), (TOKEN, KEY[:-1] + "+")],
)  # fmt: skip
def test_unusable_settings_name_the_setting_not_the_value(token: str | None, key: str | None) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        wecom_token=SecretStr(token) if token is not None else None,
        wecom_aes_key=SecretStr(key) if key is not None else None,
    )
    with pytest.raises(ConfigurationError, match="WECOM_") as caught:
        wecom_keys(settings)
    assert (not key or key not in str(caught.value)) and "\n" not in str(caught.value)


def test_usable_settings_give_the_cipher_of_the_empty_receive_id() -> None:
    settings = Settings(_env_file=None, wecom_token=SecretStr(f" {TOKEN} "), wecom_aes_key=SecretStr(KEY))  # type: ignore[call-arg]
    token, cipher = wecom_keys(settings)
    assert token == TOKEN and KEY not in repr(cipher)
    _, body = WeComPeer(TOKEN, KEY).callback("x")
    assert cipher.decrypt(json.loads(body)["encrypt"]) == "x"

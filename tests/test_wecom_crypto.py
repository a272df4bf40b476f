"""The robot's callback crypto against wechatpy (empty receive id), both directions."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.exceptions import InvalidSignatureException

from bot.channels.wecom.crypto import DecryptError, EnvelopeError, SignatureError, WeComCrypto
from tests.wecom_peer import WeComPeer, fixture

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
    with pytest.raises(SignatureError):
        ours.decrypt_callback(query["msg_signature"], query["timestamp"], query["nonce"], body)
    query, body = WeComPeer(TOKEN, KEY).callback("{}")
    for signature, timestamp, nonce in ((None, "1700000000", "1372623149"), ("", "1700000000", "1372623149"),
                                        (query["msg_signature"], "1700000001", "1372623149"),
                                        (query["msg_signature"], "1700000000", "other")):  # fmt: skip
        with pytest.raises(SignatureError):
            ours.decrypt_callback(signature, timestamp, nonce, body)
    echo = WeComPeer("another-token", KEY).echostr("x")
    with pytest.raises(SignatureError):
        ours.verify_url(echo["msg_signature"], echo["timestamp"], echo["nonce"], echo["echostr"])


def test_a_tampered_payload_is_refused(ours: WeComCrypto, peer: WeComPeer) -> None:
    query, body = peer.callback('{"msgid": "1"}')
    encrypt = json.loads(body)["encrypt"]
    tampered = ("B" if encrypt[0] != "B" else "C") + encrypt[1:]
    with pytest.raises(SignatureError):  # without the Token the signature cannot follow
        ours.decrypt_callback(
            query["msg_signature"], query["timestamp"], query["nonce"], json.dumps({"encrypt": tampered}).encode()
        )


def test_a_payload_for_another_key_or_receive_id_is_refused_after_the_signature(ours: WeComCrypto) -> None:
    for peer in (WeComPeer(TOKEN, OTHER_KEY), WeComPeer(TOKEN, KEY, receive_id="wwcorp123")):
        query, body = peer.callback('{"msgid": "1"}')
        with pytest.raises(DecryptError) as caught:
            ours.decrypt_callback(query["msg_signature"], query["timestamp"], query["nonce"], body)
        assert KEY not in str(caught.value) and "msgid" not in str(caught.value)


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"Encrypt": "x"}', b'{"encrypt": ""}', b'{"encrypt": 5}', b"\xff\xfe{"]
)
def test_a_body_that_is_not_the_envelope_is_malformed(ours: WeComCrypto, body: bytes) -> None:
    with pytest.raises(EnvelopeError):
        ours.decrypt_callback("sig", "1", "n", body)


def test_signed_garbage_is_a_decrypt_error(ours: WeComCrypto) -> None:
    from bot.channels.common.crypto import sign

    for garbage in ("not base64!", "QUJD", "A" * 44):
        with pytest.raises(DecryptError):
            ours.decrypt_callback(sign(TOKEN, "1", "n", garbage), "1", "n", json.dumps({"encrypt": garbage}).encode())


@pytest.mark.parametrize(
    ("token", "key"), [("", KEY), (" x", KEY), (TOKEN, KEY[:-1]), (TOKEN, KEY + "A"), (TOKEN, KEY[:-1] + "+")]
)
def test_unusable_settings_name_the_setting_not_the_value(token: str, key: str) -> None:
    with pytest.raises(ValueError, match="WECOM_") as caught:
        WeComCrypto(token, key)
    assert key not in str(caught.value) or not key


def test_the_secrets_stay_out_of_repr(ours: WeComCrypto) -> None:
    assert TOKEN not in repr(ours) and KEY not in repr(ours)

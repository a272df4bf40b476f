"""Callback signatures and AES of the WeCom intelligent robot (回调和回复的加解密方案, path 101033).

``msg_signature`` is the SHA-1 of the sorted ``[token, timestamp, nonce, encrypt]``; the
payload is AES-256-CBC as in WeChat safe mode (加解密方案说明, path 91144) with the receive
id empty: "企业自建智能机器人的使用场景里，receiveid直接传空字符串即可". A callback is
``{"encrypt": …}``; a passive reply ``{"encrypt", "msgsignature", "timestamp", "nonce"}``
with the callback URL's nonce. Signing and the cipher are :mod:`bot.channels.common.crypto`'s.
"""

from __future__ import annotations

import json
import re

from bot.channels.common.crypto import CryptoError, WeChatCipher, sign, signature_matches

__all__ = ["DecryptError", "EnvelopeError", "SignatureError", "WeComCrypto", "WeComCryptoError"]

_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")  # "43个字符,从a-z, A-Z, 0-9共62个字符中选取"


class WeComCryptoError(Exception):
    """A callback that cannot be trusted or read; the message names the reason only."""


class SignatureError(WeComCryptoError):  # msg_signature missing or not over this Token: 403
    pass


class EnvelopeError(WeComCryptoError):  # the body is not {"encrypt": "<base64>"}: 400
    pass


class DecryptError(WeComCryptoError):  # signed with the Token, not for this key or robot: 403
    pass


class WeComCrypto:
    """Verifies, decrypts and encrypts one robot's callbacks (no I/O, no logging)."""

    def __init__(self, token: str, encoding_aes_key: str) -> None:
        """:class:`ValueError` naming the setting, never its value, when one is unusable."""
        if not token or token != token.strip():
            raise ValueError("WECOM_TOKEN must be the robot's Token (non-empty, no surrounding spaces)")
        if not _AES_KEY.fullmatch(encoding_aes_key):
            raise ValueError(
                f"WECOM_AES_KEY must be the 43-letter-or-digit EncodingAESKey, not {len(encoding_aes_key)} characters"
            )
        self._token, self._cipher = token, WeChatCipher(encoding_aes_key, "")

    def __repr__(self) -> str:
        return "WeComCrypto(<secret>)"

    def verify_url(self, msg_signature: str | None, timestamp: str, nonce: str, echostr: str) -> str:
        """The plaintext of the URL check's ``echostr``, to be answered as it is."""
        if not signature_matches(msg_signature, self._token, timestamp, nonce, echostr):
            raise SignatureError("msg_signature does not match")
        try:
            return self._cipher.decrypt(echostr)
        except CryptoError as exc:
            raise DecryptError(f"undecryptable: {exc}") from None

    def decrypt_callback(self, msg_signature: str | None, timestamp: str, nonce: str, body: bytes) -> str:
        """The callback's JSON plaintext; the signature is checked before anything is decrypted."""
        try:
            encrypt = json.loads(body).get("encrypt")
        except (ValueError, AttributeError):
            raise EnvelopeError("body is not a JSON object") from None
        if not isinstance(encrypt, str) or not encrypt:
            raise EnvelopeError("body has no encrypt string")
        return self.verify_url(msg_signature, timestamp, nonce, encrypt)

    def encrypt_reply(self, plaintext: str, *, timestamp: int, nonce: str) -> dict[str, str | int]:
        """The passive reply envelope of ``plaintext`` (JSON), signed with ``timestamp`` (seconds)
        and ``nonce`` (the callback's)."""
        encrypt = self._cipher.encrypt(plaintext)
        signature = sign(self._token, str(timestamp), nonce, encrypt)
        return {"encrypt": encrypt, "msgsignature": signature, "timestamp": timestamp, "nonce": nonce}

"""Callback signatures and AES of the WeCom intelligent robot (回调和回复的加解密方案, path 101033).

``msg_signature`` is the SHA-1 of the sorted ``[token, timestamp, nonce, encrypt]`` and the
payload is AES-256-CBC exactly as in WeChat safe mode (加解密方案说明, path 91144), with
the receive id appended to the plaintext empty: "企业自建智能机器人的使用场景里，receiveid直接
传空字符串即可". Callbacks arrive as ``{"encrypt": …}``; a passive reply is
``{"encrypt", "msgsignature", "timestamp", "nonce"}`` with the callback URL's nonce.
The signature and cipher code are :mod:`bot.channels.wechat_crypto`'s, not a copy.
"""

from __future__ import annotations

import json
import re

from bot.channels.wechat_crypto import CryptoError, WeChatCipher, sign, signature_matches

__all__ = ["DecryptError", "EnvelopeError", "SignatureError", "WeComCrypto", "WeComCryptoError"]

_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")  # "43个字符，从a-z, A-Z, 0-9共62个字符中选取"


class WeComCryptoError(Exception):
    """A callback that cannot be trusted or read; the message names the reason only."""


class SignatureError(WeComCryptoError):
    """``msg_signature`` is missing or is not over this Token (answer 403)."""


class EnvelopeError(WeComCryptoError):
    """The body is not ``{"encrypt": "<base64>"}`` (answer 400)."""


class DecryptError(WeComCryptoError):
    """Signed with the Token, but not a payload for this robot's EncodingAESKey (answer 403)."""


class _RobotCipher(WeChatCipher):
    """:class:`WeChatCipher` with the robot's empty receive id; see ``docs/wecom.md`` for
    the one-parameter change to ``wechat_crypto`` that makes this subclass unnecessary."""

    def __init__(self, encoding_aes_key: str) -> None:
        super().__init__(encoding_aes_key, "-")  # WeChatCipher refuses an empty app id
        self._app_id = b""


class WeComCrypto:
    """Verifies, decrypts and encrypts one robot's callbacks (no I/O, no logging)."""

    def __init__(self, token: str, encoding_aes_key: str) -> None:
        """:class:`ValueError` naming the setting when either is unusable (never its value)."""
        if not token or token != token.strip():
            raise ValueError("WECOM_TOKEN must be the robot's Token (non-empty, no surrounding spaces)")
        if not _AES_KEY.fullmatch(encoding_aes_key):
            raise ValueError(
                f"WECOM_AES_KEY must be the 43-letter-or-digit EncodingAESKey; got {len(encoding_aes_key)} characters"
            )
        self._token = token
        self._cipher = _RobotCipher(encoding_aes_key)

    def __repr__(self) -> str:
        return "WeComCrypto(<secret>)"

    def _open(self, signature: str | None, timestamp: str, nonce: str, encrypt: str) -> str:
        if not signature_matches(signature, self._token, timestamp, nonce, encrypt):
            raise SignatureError("msg_signature does not match")
        try:
            return self._cipher.decrypt(encrypt)
        except CryptoError as exc:
            raise DecryptError(f"undecryptable: {exc}".replace("WECHAT_APP_ID", "the empty receive id")) from None

    def verify_url(self, msg_signature: str | None, timestamp: str, nonce: str, echostr: str) -> str:
        """The plaintext of ``echostr`` for the URL check (GET), to be answered as it is."""
        return self._open(msg_signature, timestamp, nonce, echostr)

    def decrypt_callback(self, msg_signature: str | None, timestamp: str, nonce: str, body: bytes) -> str:
        """The callback's plaintext JSON; the signature is checked before anything is decrypted."""
        try:
            outer = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise EnvelopeError("body is not JSON") from None
        encrypt = outer.get("encrypt") if isinstance(outer, dict) else None
        if not isinstance(encrypt, str) or not encrypt:
            raise EnvelopeError("body has no encrypt string")
        return self._open(msg_signature, timestamp, nonce, encrypt)

    def encrypt_reply(self, plaintext: str, *, timestamp: int, nonce: str) -> dict[str, str | int]:
        """The passive reply envelope for ``plaintext`` (JSON text), signed over ``nonce`` and
        ``timestamp`` (seconds; give the callback's nonce)."""
        encrypt = self._cipher.encrypt(plaintext)
        signature = sign(self._token, str(timestamp), nonce, encrypt)
        return {"encrypt": encrypt, "msgsignature": signature, "timestamp": timestamp, "nonce": nonce}

"""WeChat-family request signatures and safe-mode (AES) message encryption.

Pure functions and one small class, no I/O, so that they are easy to test against an
independent implementation (wechatpy in the tests).

Signatures: SHA-1 hex digest of the parts sorted as strings and concatenated —
``[token, timestamp, nonce]`` for ``signature``, plus the ``Encrypt`` value for
``msg_signature``.

Safe mode: AES-256-CBC with ``key = base64decode(EncodingAESKey + "=")`` and
``iv = key[:16]``; the plaintext is ``16 random bytes + 4-byte big-endian length + msg +
receive id``, PKCS#7-padded to 32-byte blocks, and travels base64-encoded. The receive id
is the Official Account's AppID; WeCom's intelligent robot uses the same scheme with an
empty one (回调和回复的加解密方案, path 101033), so both channels use this module.
Checking a signed payload against the timestamp window is :func:`bot.channels.common.webhooks.open_signed`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["AES_KEY_LENGTH", "CryptoError", "WeChatCipher", "seal", "sign", "signature_matches"]

AES_KEY_LENGTH = 43
"""Characters in an EncodingAESKey (base64 of 32 bytes without the trailing ``=``)."""

_BLOCK = 32  # WeChat pads to 32 bytes, not the AES block size of 16
_AES_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")  # "43位字符，字符范围为A-Z，a-z，0-9"


class CryptoError(Exception):
    """A safe-mode payload that does not decrypt, or was not meant for this account.

    The message names the reason only; it never contains key material or plaintext.
    """


def sign(*parts: str) -> str:
    """WeChat's signature of ``parts``: SHA-1 hex of the sorted, joined strings."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(given: str | None, *parts: str) -> bool:
    """True when ``given`` is the signature of ``parts`` (compared in constant time)."""
    if not given:
        return False
    return hmac.compare_digest(sign(*parts).encode("ascii"), given.strip().lower().encode("utf-8"))


class WeChatCipher:
    """Encrypts and decrypts the AES payloads of Tencent's callback scheme for one receiver:
    an Official Account in safe mode (its AppID), or a WeCom robot (an empty receive id)."""

    def __init__(self, encoding_aes_key: str, receive_id: str, *, key_setting: str = "WECHAT_AES_KEY") -> None:
        """Raise :class:`ValueError`, naming ``key_setting``, when the key is not a
        43-character EncodingAESKey (the key itself never appears in the error).
        ``receive_id`` is the AppID, or ``""`` for a WeCom robot."""
        if not _AES_KEY_RE.fullmatch(encoding_aes_key):
            raise ValueError(
                f"{key_setting} must be the {AES_KEY_LENGTH}-character EncodingAESKey "
                f"(letters and digits) from the server configuration; got {len(encoding_aes_key)} characters"
            )
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:  # pragma: no cover - 43 base64 chars always give 32 bytes
            raise ValueError(f"{key_setting} does not decode to a 32-byte AES key")
        self._key = key
        self._receive_id = receive_id.encode("utf-8")

    def __repr__(self) -> str:
        return "WeChatCipher(<secret>)"

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        """The base64 ``Encrypt`` value carrying ``message`` (with this receive id)."""
        body = message.encode("utf-8")
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("random_prefix must be 16 bytes")
        plain = prefix + struct.pack(">I", len(body)) + body + self._receive_id
        pad = _BLOCK - len(plain) % _BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The message inside a base64 ``Encrypt`` value; :class:`CryptoError` when it is
        malformed or addressed to another receive id."""
        try:
            raw = base64.b64decode(encrypted.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("not base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise CryptoError("length field exceeds payload")
        message, receive_id = content[4 : 4 + length], content[4 + length :]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise CryptoError("app id does not match (the receive id)")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("message is not UTF-8") from exc


def seal(token: str, cipher: WeChatCipher, message: str, timestamp: str, nonce: str) -> tuple[str, str]:
    """``(encrypt, msg_signature)`` of ``message`` for a reply signed with ``timestamp`` and ``nonce``."""
    encrypt = cipher.encrypt(message)
    return encrypt, sign(token, timestamp, nonce, encrypt)

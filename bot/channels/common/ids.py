"""Short references to users and chats for log lines, instead of their identifiers.

A reference is stable (the same person gets the same one, so a log can be followed) but
does not give the identifier back. Identifiers too long to guess (WeChat OpenIDs) can be
hashed as they are; small numbers (Telegram chat and user ids, which are the same number
in a private chat) could be recovered from a plain hash by trying them all, so they are
hashed under a key derived from a deployment secret.
"""

from __future__ import annotations

import hashlib
import hmac

#: Hex digits kept of a reference.
REF_LENGTH = 12


def log_key(secret: str) -> bytes:
    """The key for :func:`user_ref` derived from a deployment secret (e.g. the bot token):
    stable across restarts and workers, useless without the secret."""
    return hashlib.sha256(b"faqbot log references\0" + secret.encode("utf-8")).digest()


def user_ref(identifier: str | int, key: bytes = b"") -> str:
    """A short, stable, non-reversible reference to ``identifier`` for logs: the first
    hex digits of HMAC-SHA256 under ``key``, or of SHA-256 when no key is given."""
    data = str(identifier).encode("utf-8")
    digest = hmac.new(key, data, hashlib.sha256) if key else hashlib.sha256(data)
    return digest.hexdigest()[:REF_LENGTH]

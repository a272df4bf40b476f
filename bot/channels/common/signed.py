"""Checks every signed-callback channel makes (WeChat, WeCom): numbers from the outside
parsed only when they are short, and a signed timestamp within a window of the clock, so
that a captured request cannot be replayed later."""

from __future__ import annotations

MAX_DIGITS = 10
"""Unix seconds have 10 digits until the year 2286; anything longer is refused unparsed."""


def bounded_int(text: str) -> int | None:
    """``text`` as a non-negative integer of at most :data:`MAX_DIGITS` digits, else ``None``."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS else None


def fresh(timestamp: str, now: float, skew_seconds: float) -> bool:
    """Whether ``timestamp`` (Unix seconds, as sent) is within ``skew_seconds`` of ``now``."""
    sent = bounded_int(timestamp)
    return sent is not None and abs(now - sent) <= skew_seconds

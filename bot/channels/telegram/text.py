"""Telegram's text rules: lengths and entity offsets in UTF-16 code units, mentions, languages.

A Chinese character is one unit, most emoji are two; every offset here is counted that way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.channels.common.text import measure, split, utf16_width
from bot.messages import Language

MAX_MESSAGE_UNITS = 4096
"""Longest text of one message, in UTF-16 code units."""


def utf16_len(text: str) -> int:
    """Length of ``text`` as Telegram counts it."""
    return measure(text, utf16_width)


def split_message(text: str, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """``text`` as messages Telegram accepts: cut at paragraph breaks when possible, then at
    line breaks, then anywhere (never inside a character); blank pieces dropped."""
    return split(text, limit, utf16_width)


def language_of_code(language_code: str | None) -> Language:
    """The language hint for a Telegram user's ``language_code`` (``zh*`` → Chinese)."""
    return "zh" if language_code and language_code.lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Span:
    """A stretch of a message, in UTF-16 units (as Telegram's ``MessageEntity``)."""

    offset: int
    length: int


def remove_spans(text: str, spans: Iterable[Span]) -> str:
    """``text`` without the given stretches, whitespace tidied at the seams."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    kept: list[bytes] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.offset):
        start = max(span.offset * 2, position)
        kept.append(encoded[position:start])
        position = max(position, (span.offset + span.length) * 2)
    kept.append(encoded[position:])
    joined = b"".join(kept).decode("utf-16-le", errors="replace")
    return re.sub(r"[ \t]{2,}", " ", joined).strip(" \t\n,，:：")


def text_after(text: str, span: Span) -> str:
    """What follows ``span`` (e.g. the question after ``/ask@Bot``), stripped."""
    encoded = text.encode("utf-16-le", "surrogatepass")
    return encoded[(span.offset + span.length) * 2 :].decode("utf-16-le", errors="replace").strip()

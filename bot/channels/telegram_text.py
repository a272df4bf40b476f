"""Pure text helpers of the Telegram channel: lengths, splitting, mentions, button data.

Telegram measures message lengths and entity offsets in UTF-16 code units, so every
length and offset here is counted that way (a Chinese character is one unit, most
emoji are two).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.messages import Language

#: Longest text of one message, in UTF-16 code units.
MAX_MESSAGE_UNITS = 4096
#: Longest ``callback_data`` of an inline button, in bytes.
MAX_CALLBACK_BYTES = 64


def utf16_len(text: str) -> int:
    """Length of ``text`` as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def _hard_cut(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` units without splitting a character."""
    pieces: list[str] = []
    start, units = 0, 0
    for i, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > limit:
            pieces.append(text[start:i])
            start, units = i, 0
        units += width
    pieces.append(text[start:])
    return pieces


def _split(text: str, limit: int, separators: Sequence[str]) -> list[str]:
    if utf16_len(text) <= limit:
        return [text]
    if not separators:
        return _hard_cut(text, limit)
    sep, rest = separators[0], separators[1:]
    chunks: list[str] = []
    current: str | None = None
    for part in text.split(sep):
        candidate = part if current is None else current + sep + part
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current is not None:
            chunks.append(current)
        if utf16_len(part) <= limit:
            current = part
        else:
            *whole, current = _split(part, limit, rest)
            chunks.extend(whole)
    if current is not None:
        chunks.append(current)
    return chunks


def split_message(text: str, limit: int = MAX_MESSAGE_UNITS) -> list[str]:
    """Split ``text`` into messages Telegram accepts: at paragraph breaks when possible,
    then at line breaks, then anywhere. Blank pieces are dropped (Telegram rejects them)."""
    return [chunk for chunk in _split(text, limit, ("\n\n", "\n")) if chunk.strip()]


def language_of_code(language_code: str | None) -> Language:
    """The reply language for a Telegram user's ``language_code`` (``zh*`` → Chinese)."""
    return "zh" if language_code and language_code.lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Span:
    """A stretch of a message, in UTF-16 units (as Telegram's ``MessageEntity``)."""

    offset: int
    length: int


def remove_spans(text: str, spans: Iterable[Span]) -> str:
    """``text`` without the given stretches, whitespace tidied at the seams."""
    encoded = text.encode("utf-16-le")
    kept: list[bytes] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.offset):
        start = max(span.offset * 2, position)
        kept.append(encoded[position:start])
        position = max(position, (span.offset + span.length) * 2)
    kept.append(encoded[position:])
    joined = b"".join(kept).decode("utf-16-le", errors="ignore")
    return re.sub(r"[ \t]{2,}", " ", joined).strip(" \t\n,，:：")


def text_after(text: str, span: Span) -> str:
    """What follows ``span`` (e.g. the question after ``/ask@Bot``), stripped."""
    encoded = text.encode("utf-16-le")
    return encoded[(span.offset + span.length) * 2 :].decode("utf-16-le", errors="ignore").strip()


def choice_data(prompt_id: str, index: int) -> str:
    """The ``callback_data`` of choice ``index`` of ``prompt_id``: ``<prompt_id>:<index>``.

    The engine's prompt ids are a few hex digits, so this always fits Telegram's 64 bytes;
    a longer one is a bug, raised here rather than sent and refused as BUTTON_DATA_INVALID.
    """
    data = f"{prompt_id}:{index}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data of prompt {prompt_id[:16]!r}… exceeds {MAX_CALLBACK_BYTES} bytes")
    return data


def parse_choice_data(data: str | None) -> tuple[str, int] | None:
    """``(prompt_id, index)`` from a button's ``callback_data``; ``None`` if malformed."""
    if not data:
        return None
    prompt_id, sep, index = data.rpartition(":")
    if not sep or not prompt_id or not (index.isascii() and index.isdigit()):
        return None
    return prompt_id, int(index)

"""Incoming text made safe, outgoing text cut to a platform's size limit.

Platforms measure differently — Telegram in UTF-16 code units, WeChat and WeCom in UTF-8
bytes — so the cutting functions take the measure of one character. A reply cut to one
message ends with the ``more`` notice, and the user replies ``0`` for the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_TEXT_CHARS = 4096
"""Longest message text passed on to the engine (Telegram's own limit; longer is cut)."""
CONTINUE_COMMANDS = frozenset({"0", "０"})
"""What a user sends to get the rest of a reply that was cut."""

_SURROGATES = re.compile("[\ud800-\udfff]")
_SENTENCE_ENDS = ("。", "！", "？", "；", ". ", "! ", "? ", "; ")
_MARKUP = re.compile(r"([\\`*_~<>\[\]|])|^\s*(#)", re.MULTILINE)
_ITEM = re.compile(r"\d+\. ")

Width = Callable[[str], int]


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (JSON escapes like ``\\ud800`` produce them, and nothing
    downstream can encode them) replaced by U+FFFD, NUL removed, cut to :data:`MAX_TEXT_CHARS`."""
    return _SURROGATES.sub("\ufffd", text[:MAX_TEXT_CHARS]).replace("\x00", "")


def utf16_width(char: str) -> int:
    """Telegram's measure: characters beyond the BMP (most emoji) count twice."""
    return 2 if ord(char) > 0xFFFF else 1


def utf8_width(char: str) -> int:
    """WeChat's measure: UTF-8 bytes."""
    return len(char.encode("utf-8", "replace"))


def measure(text: str, width: Width) -> int:
    """The size of ``text`` in ``width`` units."""
    return sum(width(char) for char in text)


def _fitting(text: str, limit: int, width: Width) -> int:
    """How many leading characters of ``text`` fit in ``limit`` units (never half a character)."""
    used = 0
    for index, char in enumerate(text):
        used += width(char)
        if used > limit:
            return index
    return len(text)


def _cut_index(prefix: str) -> int:
    """Where to end a piece that may hold at most ``prefix``: the last paragraph break,
    else line break, else sentence end in its second half; else all of it."""
    floor = len(prefix) // 2
    for separator in ("\n\n", "\n"):
        index = prefix.rfind(separator)
        if index >= floor and index > 0:
            return index
    best = max(
        (prefix.rfind(end) + len(end.rstrip()) for end in _SENTENCE_ENDS if prefix.rfind(end) >= 0),
        default=-1,
    )
    return best if best >= floor and best > 0 else len(prefix)


def cut(text: str, limit: int, width: Width) -> tuple[str, str]:
    """``(head, rest)``: ``text`` and ``""`` when it fits in ``limit`` units; otherwise the
    longest head that fits, ended at a paragraph, line or sentence end where there is one
    in its second half, and the text left over (whitespace at the seam dropped)."""
    if limit < 2:
        raise ValueError("a piece must hold at least 2 units")
    end = _fitting(text, limit, width)
    if end == len(text):
        return text, ""
    prefix = text[:end]
    index = _cut_index(prefix)
    head, rest = text[:index].rstrip(), text[index:].strip()
    if not head:  # nothing but whitespace before the cut: a plain cut instead
        head, rest = prefix.rstrip(), text[end:].strip()
    return head, rest


def split(text: str, limit: int, width: Width) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` units; blank pieces are dropped."""
    pieces: list[str] = []
    rest = text
    while rest.strip():
        head, rest = cut(rest, limit, width)
        if head.strip():
            pieces.append(head)
    return pieces


def split_content(text: str, more_notice: str, limit: int) -> tuple[str, str]:
    """``(part, rest)``: ``text`` itself and ``""`` when it fits in ``limit`` UTF-8 bytes;
    otherwise the longest leading part that fits together with ``more_notice``, the notice
    appended, and the text left over."""
    if len(text.encode("utf-8")) <= limit:
        return text, ""
    suffix = "\n" + more_notice.strip()
    budget = limit - len(suffix.encode("utf-8"))
    if budget < 2:
        raise ValueError("the 'more' notice alone exceeds the reply size limit")
    head, rest = cut(text, budget, utf8_width)
    return head + suffix, rest


def as_markdown(text: str) -> str:
    """Plain ``text`` that reads the same rendered as markdown: markup characters escaped,
    and each line its own paragraph (a lone newline may not break a markdown line), list
    items excepted; no leading spaces (they would make code blocks)."""
    out: list[str] = []
    for line in _MARKUP.sub(lambda m: "\\" + (m.group(1) or m.group(2)), text).splitlines():
        if line := line.strip():
            out += [("\n" if _ITEM.match(out[-1]) and _ITEM.match(line) else "\n\n"), line] if out else [line]
    return "".join(out)


def fit_markdown(text: str, more_notice: str, limit: int) -> tuple[str, str]:
    """``(markdown part, plain rest)``: as much of ``text`` as fits in ``limit`` UTF-8 bytes
    once written as markdown (:func:`as_markdown`), cut as :func:`split_content` cuts."""
    budget = limit
    while True:
        part, rest = split_content(text, more_notice, budget)
        shown = as_markdown(part)
        if len(shown.encode()) <= limit:
            return shown, rest
        budget -= len(shown.encode()) - limit + 64


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, an ellipsis ending what was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compact_json(payload: dict[str, Any]) -> str:
    """``payload`` as compact UTF-8 JSON (Chinese as it is, not escaped: a third of the bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

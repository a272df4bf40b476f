"""Turning an engine :class:`~bot.messages.Turn` into WeChat passive-reply text.

WeChat has no buttons: a reply's choices are listed as numbered lines under a header
(the ``reply_with_number`` notice) and the user answers with the number, which the
engine understands. A passive text reply carries at most :data:`MAX_CONTENT_BYTES`
bytes of UTF-8, so longer text is cut into parts.
"""

from __future__ import annotations

from bot.messages import Turn

__all__ = ["MAX_CONTENT_BYTES", "format_turn", "split_content"]

MAX_CONTENT_BYTES = 2047
"""Upper bound of a passive text reply's ``Content``, in UTF-8 bytes."""

_SENTENCE_ENDS = ("。", "！", "？", "；", ". ", "! ", "? ", "; ")


def format_turn(turn: Turn, choices_header: str) -> str:
    """All of ``turn``'s replies as one message, a blank line between them; each reply's
    choices numbered from 1 under ``choices_header``."""
    blocks: list[str] = []
    for reply in turn.replies:
        parts = [reply.text.strip()] if reply.text.strip() else []
        if reply.choices:
            numbered = [f"{number}. {choice}" for number, choice in enumerate(reply.choices, start=1)]
            parts.append("\n".join([choices_header.strip(), *numbered]))
        if parts:
            blocks.append("\n\n".join(parts))
    return "\n\n".join(blocks)


def _cut_index(prefix: str) -> int:
    """Where to end a part that may hold at most ``prefix``: the last paragraph break,
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


def split_content(text: str, more_notice: str, limit: int = MAX_CONTENT_BYTES) -> tuple[str, str]:
    """``(part, rest)``: ``text`` itself and ``""`` when it fits in ``limit`` UTF-8 bytes;
    otherwise the longest leading part that fits together with ``more_notice`` (cut on a
    character boundary, preferably at a paragraph or line end), the notice appended, and
    the text left over."""
    if len(text.encode("utf-8")) <= limit:
        return text, ""
    suffix = "\n" + more_notice.strip()
    budget = limit - len(suffix.encode("utf-8"))
    if budget <= 0:
        raise ValueError("the 'more' notice alone exceeds the reply size limit")
    # Decoding a byte prefix with errors="ignore" drops only a trailing partial character.
    prefix = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    index = _cut_index(prefix)
    head, rest = text[:index].rstrip(), text[index:].strip()
    if not head:  # nothing but whitespace before the cut: fall back to a plain cut
        head, rest = prefix.rstrip(), text[len(prefix) :].strip()
    return head + suffix, rest

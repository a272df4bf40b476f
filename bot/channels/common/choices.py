"""A turn's choices, numbered for platforms without buttons and encoded for those with them.

Typing a choice's number selects it (the engine understands ``1``, ``2``…), and a button
carries ``<prompt id>:<index>`` for :meth:`bot.dialogue.Engine.choose`.
"""

from __future__ import annotations

from bot.messages import Turn

MAX_BUTTON_DATA_BYTES = 64
"""Telegram's limit on ``callback_data`` (the strictest of the platforms)."""


def plain_text(turn: Turn, choices_header: str) -> str:
    """All of ``turn``'s replies as one text, a blank line between them; each reply's
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


def choice_data(prompt_id: str, index: int) -> str:
    """The button data of choice ``index`` of ``prompt_id``: ``<prompt_id>:<index>``.

    The engine's prompt ids are a few hex digits, so this always fits 64 bytes; a longer
    one is a bug, raised here rather than sent and refused by the platform.
    """
    data = f"{prompt_id}:{index}"
    if len(data.encode()) > MAX_BUTTON_DATA_BYTES:
        raise ValueError(f"button data of prompt {prompt_id[:16]!r}… exceeds {MAX_BUTTON_DATA_BYTES} bytes")
    return data


FEEDBACK_PREFIX = "fb:"
VOTES = ("up", "down")


def feedback_data(feedback: str, vote: str) -> str:
    """The button data of a 👍 (``up``) or 👎 (``down``) on the answer ``feedback`` identifies."""
    return f"{FEEDBACK_PREFIX}{feedback}:{vote}"


def parse_feedback_data(data: str | None) -> tuple[str, str] | None:
    """``(feedback id, vote)`` from a vote button's data; ``None`` for anything else."""
    if not data or not data.startswith(FEEDBACK_PREFIX):
        return None
    feedback, sep, vote = data[len(FEEDBACK_PREFIX) :].rpartition(":")
    return (feedback, vote) if sep and feedback and vote in VOTES else None


def parse_choice_data(data: str | None) -> tuple[str, int] | None:
    """``(prompt_id, index)`` from a button's data; ``None`` if malformed."""
    if not data:
        return None
    prompt_id, sep, index = data.rpartition(":")
    if not sep or not prompt_id or not (index.isascii() and index.isdigit()) or len(index) > 4:
        return None
    return prompt_id, int(index)

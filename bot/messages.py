"""What the engine returns to a channel: transport-neutral replies and the turn they belong to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["zh", "en"]


@dataclass(frozen=True)
class Reply:
    """One message to send.

    ``choices`` are the answers the bot offers (Telegram shows them as buttons, WeChat
    numbers them); typing a choice's text, or its 1-based number, selects it.
    ``prompt_id`` identifies the pending question those choices answer, so that a channel
    can tell a stale button press (see :meth:`bot.dialogue.Engine.choose`).
    """

    text: str
    choices: tuple[str, ...] = ()
    prompt_id: str | None = None


@dataclass(frozen=True)
class Turn:
    """The engine's whole response to one incoming message."""

    intent: str | None
    language: Language
    replies: tuple[Reply, ...]
    awaiting: str | None = None
    confidence: float = 0.0
    slots: dict[str, object] = field(default_factory=dict)

    def as_json(self, user: str) -> dict[str, object]:
        """The ``faqbot chat --json`` record for this turn (a stable contract)."""
        return {
            "user": user,
            "intent": self.intent,
            "replies": [{"text": r.text, "choices": list(r.choices)} for r in self.replies],
            "awaiting": self.awaiting,
        }

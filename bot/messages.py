"""What passes between channels and the engine: commands in, transport-neutral replies out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from bot.script import Script

Language = Literal["zh", "en"]


class Command(Enum):
    """What a channel asks of the engine besides a text message.

    Each channel maps its own gestures onto these: Telegram's ``/start``, a WeChat
    ``subscribe`` event, a menu click, the terminal's ``/help``.
    """

    START = "start"
    """Greeting and the topics (a new follower, ``/start``)."""
    HELP = "help"
    """What the bot can do, with the topics."""
    CANCEL = "cancel"
    """Drop the pending follow-up question."""


@dataclass(frozen=True)
class Locale:
    """The language and, for Chinese, the script every reply of a conversation is in."""

    language: Language = "zh"
    script: Script = "hans"


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
    feedback: str | None = None
    """Set on an answer from the source: the id a channel's 👍/👎 buttons report to
    :meth:`bot.dialogue.Engine.feedback`."""


@dataclass(frozen=True)
class Turn:
    """The engine's whole response to one incoming message."""

    intent: str | None
    language: Language
    replies: tuple[Reply, ...]
    awaiting: str | None = None
    confidence: float = 0.0
    slots: dict[str, object] = field(default_factory=dict)
    script: Script = "hans"

    @property
    def locale(self) -> Locale:
        """The locale the replies are in (for a channel's own notices around them)."""
        return Locale(self.language, self.script)

    def as_json(self, user: str) -> dict[str, object]:
        """The ``faqbot chat --json`` record for this turn (a stable contract)."""
        return {
            "user": user,
            "intent": self.intent,
            "replies": [{"text": r.text, "choices": list(r.choices)} for r in self.replies],
            "awaiting": self.awaiting,
            "slots": self.slots,
        }

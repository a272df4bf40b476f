"""One review-log entry: what happened to a message, without anything that identifies its writer.

An entry keeps the message as normalised (case-folded, Simplified), its language, the
channel, the bot's best guesses and the outcome — never a user id, chat id, OpenID or
name. Runs of digits long enough to be an ID card, phone or bank card number are masked
before the entry is made.
"""

from __future__ import annotations

import re
import time
from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["fallback", "not_covered", "did_you_mean", "picked", "reasked", "low_confidence", "down", "up"]
"""What happened:

* ``fallback`` — answered as out of scope; ``not_covered`` — the honest not-covered answer;
* ``did_you_mean`` — the bot asked which of two topics was meant; ``picked`` — what the
  person chose then (``intent``; ``ref`` ties it to its question);
* ``reasked`` — an answer to a follow-up question was not understood and asked again;
* ``low_confidence`` — answered, but with little confidence;
* ``down`` / ``up`` — a 👎 / 👍 on an answer (``intent`` is the answer's topic).
"""

REVIEWED: frozenset[str] = frozenset({"fallback", "not_covered", "did_you_mean", "reasked", "low_confidence", "down"})
"""Outcomes that mean the bot may have misunderstood: what ``faqbot review`` groups."""

_NUMBER = re.compile(r"\d{17}[\dx]|\d{6,}|\d{3,}(?:[\s-]\d{3,})+", re.IGNORECASE)
"""An ID card (17 digits and a check digit or X), or six or more digits, possibly in groups
of three or more separated by a space or dash (a phone or bank card number; a date such as
2026-05-10 has shorter groups and stays)."""

MASK = "#"


def mask_numbers(text: str) -> str:
    """``text`` with every long number replaced by ``#`` (dates like 2026-05-10 stay)."""
    return _NUMBER.sub(MASK, text)


class ReviewEntry(BaseModel):
    """One event worth an operator's look."""

    at: float = Field(default_factory=time.time)
    channel: str
    language: Literal["zh", "en"]
    outcome: Outcome
    text: str = ""
    """The message as normalised, numbers masked (empty for a pick or a vote)."""
    intent: str | None = None
    """The topic answered (votes, low confidence) or picked (picks)."""
    guesses: list[tuple[str, float]] = Field(default_factory=list)
    """The bot's best guesses with their probabilities, best first."""
    ref: str | None = None
    """Ties a pick to its did-you-mean question (a random id, not a person's)."""

    @classmethod
    def of_message(cls, text: str, **fields: object) -> ReviewEntry:
        """An entry for a message ``text`` (already normalised), its numbers masked."""
        return cls(text=mask_numbers(text)[:500], **fields)  # type: ignore[arg-type]

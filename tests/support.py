"""Constants and small helpers shared by the understanding and dialogue tests (fixtures: ``conftest.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date

from bot.knowledge import KnowledgeBase
from bot.messages import Language, Turn
from bot.understanding.compiled import Compiled
from bot.understanding.dates import Implausible, Received, parse_received
from bot.understanding.matcher import Matcher
from bot.understanding.normalize import fold

TODAY = date(2026, 11, 25)
"""Today in the unit tests, as in the conversation tests of ``tests/conversations`` (a Wednesday)."""

LANGUAGES: tuple[Language, ...] = ("zh", "en")


def text_of(turn: Turn) -> str:
    """Every reply text of ``turn``, one after the other."""
    return "\n".join(reply.text for reply in turn.replies)


def is_chinese(text: str) -> bool:
    """Mostly Han characters (an English answer may quote the law's Chinese title)."""
    han = sum("\u4e00" <= char <= "\u9fff" for char in text)
    latin = sum(char.isascii() and char.isalpha() for char in text)
    return han > latin


def topic_labels(kb: KnowledgeBase, language: Language) -> tuple[str, ...]:
    """The menu's choices: the topics' labels in menu order."""
    return tuple(kb.responses[topic].label[language] for topic in kb.topics)


@dataclasses.dataclass(frozen=True)
class FixedModel:
    """A classifier that gives every message the same probabilities."""

    fixed: Mapping[str, float]

    def probabilities(self, units: Sequence[str], allowed: Sequence[str] | None = None) -> dict[str, float]:
        return dict(self.fixed)


def fixed_matcher(compiled_kb: tuple[KnowledgeBase, Compiled], **probabilities: float) -> Matcher:
    """A matcher of the real knowledge base whose classifier always says ``probabilities``."""
    knowledge, compiled = compiled_kb
    return Matcher(knowledge, dataclasses.replace(compiled, intents=FixedModel(probabilities)))  # type: ignore[arg-type]


def read_date(text: str, today: date = TODAY) -> Received | Implausible | None:
    """What the date parser makes of ``text`` as the dialogue passes it (folded)."""
    return parse_received(fold(text), today)


def day(value: str) -> Received:
    """One day, from its ISO form."""
    return Received(date.fromisoformat(value), date.fromisoformat(value))


def span(first: str, last: str) -> Received:
    """A span of days, from the ISO forms of its first and last day."""
    return Received(date.fromisoformat(first), date.fromisoformat(last))

"""The loaded knowledge base as the engine uses it (no YAML here: answering never parses files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.knowledge.schema import IntentSpec, LocalContacts, ResponseSpec
from bot.messages import Language

LANGUAGES: tuple[Language, ...] = ("zh", "en")

REQUIRED_CONCEPTS = ("social_security", "card", "activate")
"""Concepts the code names: a clause that mentions one of them says what it is about."""


class KnowledgeError(Exception):
    """The knowledge base is invalid; ``problems`` are ``file:line: message`` strings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Example:
    """One example text, what it means, and where it was written."""

    intent: str
    language: Language
    text: str
    where: str


@dataclass(frozen=True)
class KnowledgeBase:
    """The validated knowledge base the engine runs on."""

    intents: dict[str, IntentSpec]
    responses: dict[str, ResponseSpec]
    system: dict[str, dict[Language, str]]
    examples: tuple[Example, ...]
    lexicon: dict[str, dict[Language, list[str]]]
    topics: tuple[str, ...]
    """Domain intents in menu order."""
    dialect: dict[str, str] = field(default_factory=dict)
    slot_examples: tuple[Example, ...] = ()
    """Answers to follow-up questions; ``intent`` is ``"<slot type>=<value>"`` or ``"unsure"``."""
    asides: tuple[Example, ...] = ()
    """Questions about a follow-up question; ``intent`` is the slot's name."""
    local: LocalContacts | None = None

    def slot(self, intent: str, name: str) -> Any:
        """The spec of slot ``name`` of ``intent``."""
        return next(slot for slot in self.intents[intent].slots if slot.name == name)

    def reported(self, intent: str | None) -> str | None:
        """What evaluation and ``chat --json`` call ``intent``: ``None`` for what is out of scope."""
        if intent is None:
            return None
        spec = self.intents[intent]
        if spec.kind in ("chitchat", "not_covered", "out_of_scope"):
            return None
        return spec.reports_as or intent

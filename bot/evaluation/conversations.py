"""``faqbot test``: conversation tests, in the manner of Rasa's test stories.

A file (YAML; JSON is YAML too) holds a list of conversations, or a mapping with a
``conversations`` list. Each conversation has a ``name``, an optional ``today`` and
``turns``; each turn is the person's message (``user``) and what the bot's reply must
show — every check is optional:

* ``intent``: the intent the reply is about (``null``: answered as out of scope / not covered);
* ``not_intent``: an intent the reply must not be about (``null``: must not be out of scope);
* ``awaiting``: the detail still being asked for (``null``: none);
* ``all``: groups of strings; at least one string of each group appears in the reply;
* ``none``: strings that must not appear;
* ``dates``: ISO dates that must appear, in any common written form;
* ``max_len``: the reply's length in characters at most.

Each conversation starts afresh (its own conversation key) with ``today`` fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.dialogue import Engine
from bot.messages import Turn
from bot.yamlio import YamlError, read_yaml

_UNSET: Any = object()


class TurnCheck(BaseModel):
    """One message and what its reply must show."""

    model_config = ConfigDict(extra="forbid")

    user: str
    intent: str | None = Field(default=_UNSET)
    not_intent: str | None = Field(default=_UNSET)
    awaiting: str | None = Field(default=_UNSET)
    all: list[list[str]] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)
    dates: list[date] = Field(default_factory=list)
    max_len: int | None = None

    @field_validator("user", mode="before")
    @classmethod
    def _as_written(cls, value: object) -> object:
        """YAML reads an unquoted ``2026-03-03`` or ``6.18`` as a date or number: the person typed text."""
        return value.isoformat() if isinstance(value, date) else str(value) if isinstance(value, int | float) else value


class Conversation(BaseModel):
    """A named list of turns, run on a fresh conversation."""

    model_config = ConfigDict(extra="forbid")

    name: str
    today: date | None = None
    turns: list[TurnCheck] = Field(min_length=1)


@dataclass
class Failure:
    """What one turn was expected to show and what it showed instead."""

    conversation: str
    turn: int
    user: str
    problems: list[str]
    reply: str

    def render(self) -> str:
        lines = [f"✗ {self.conversation}, turn {self.turn}: {self.user!r}"]
        lines += [f"    {problem}" for problem in self.problems]
        shown = self.reply.replace("\n", " ⏎ ")
        lines.append(f"    reply: {shown[:300]}{'…' if len(shown) > 300 else ''}")
        return "\n".join(lines)


@dataclass
class Outcome:
    """The result of running conversation files."""

    conversations: int = 0
    turns: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed_conversations(self) -> int:
        return len({failure.conversation for failure in self.failures})


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of one file; ``ValueError`` naming the file (and entry) when malformed."""
    try:
        data = read_yaml(path)
    except YamlError as error:
        raise ValueError(str(error)) from None
    if isinstance(data, dict):
        data = data.get("conversations")
    if not isinstance(data, list):
        raise ValueError(f"{path}:1: expected a list of conversations (or a 'conversations' list)")
    conversations = []
    for index, item in enumerate(data):
        try:
            conversations.append(Conversation.model_validate(item))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{path}: conversation {index + 1}: {where}: {first['msg']}") from None
    return conversations


def reply_text(turn: Turn) -> str:
    """Everything the person sees of ``turn``: each reply's text and its choices."""
    parts: list[str] = []
    for reply in turn.replies:
        parts.append(reply.text)
        parts.extend(reply.choices)
    return "\n".join(parts)


def date_forms(day: date) -> set[str]:
    """Common written forms of ``day`` in both languages."""
    d, m, y = day.day, day.month, day.year
    month = day.strftime("%B")
    return {
        day.isoformat(),
        f"{y}/{m}/{d}",
        f"{y}/{m:02d}/{d:02d}",
        f"{y}年{m}月{d}日",
        f"{y}年{m:02d}月{d:02d}日",
        f"{y}年{m}月{d}号",
        f"{d} {month} {y}",
        f"{month} {d}, {y}",
        f"{month} {d} {y}",
        f"{d} {month[:3]} {y}",
        f"{month[:3]} {d}, {y}",
    }


def check_turn(expected: TurnCheck, turn: Turn) -> list[str]:
    """The ways ``turn`` differs from ``expected`` (empty when it passes)."""
    problems: list[str] = []
    text = reply_text(turn)
    folded = text.casefold()
    if expected.intent is not _UNSET and turn.intent != expected.intent:
        problems.append(f"intent: expected {expected.intent!r}, got {turn.intent!r}")
    if expected.not_intent is not _UNSET and turn.intent == expected.not_intent:
        what = "out of scope" if expected.not_intent is None else repr(expected.not_intent)
        problems.append(f"not_intent: the reply must not be {what}")
    if expected.awaiting is not _UNSET and turn.awaiting != expected.awaiting:
        problems.append(f"awaiting: expected {expected.awaiting!r}, got {turn.awaiting!r}")
    for group in expected.all:
        if not any(option.casefold() in folded for option in group):
            problems.append(f"all: none of {group} in the reply")
    for forbidden in expected.none:
        if forbidden.casefold() in folded:
            problems.append(f"none: {forbidden!r} is in the reply")
    for day in expected.dates:
        if not any(form.casefold() in folded for form in date_forms(day)):
            problems.append(f"dates: {day.isoformat()} is not in the reply (in any common form)")
    if expected.max_len is not None and len(text) > expected.max_len:
        problems.append(f"max_len: the reply has {len(text)} characters, more than {expected.max_len}")
    return problems


async def run_conversations(engine: Engine, clock: list[date], conversations: Iterable[Conversation]) -> Outcome:
    """Run every conversation on ``engine``; ``clock[0]`` is what the engine takes as today."""
    outcome = Outcome()
    default_today = clock[0]
    for number, conversation in enumerate(conversations, start=1):
        outcome.conversations += 1
        clock[0] = conversation.today or default_today
        key = f"test:{number}:{conversation.name}"
        for index, expected in enumerate(conversation.turns, start=1):
            outcome.turns += 1
            turn = await engine.handle(key, expected.user)
            problems = check_turn(expected, turn)
            if problems:
                outcome.failures.append(Failure(conversation.name, index, expected.user, problems, reply_text(turn)))
    clock[0] = default_today
    return outcome


def format_outcome(outcome: Outcome, paths: Sequence[Path]) -> str:
    """The failures, each with what was expected and seen, then one summary line."""
    lines = [failure.render() for failure in outcome.failures]
    status = "FAILED" if outcome.failures else "passed"
    lines.append(
        f"{status}: {outcome.conversations - outcome.failed_conversations}/{outcome.conversations} conversations, "
        f"{outcome.turns - len(outcome.failures)}/{outcome.turns} turns passed ({len(paths)} file(s))"
    )
    return "\n".join(lines)

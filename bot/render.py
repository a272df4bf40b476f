"""Turning a response template and slot values into the text a person reads."""

from __future__ import annotations

from datetime import date

from bot.dates import deadlines
from bot.knowledge import DEADLINE_STATUSES, KnowledgeBase, Variant
from bot.messages import Language


def variables(
    knowledge: KnowledgeBase, intent: str, slots: dict[str, bool | str | None], today: date
) -> dict[str, object]:
    """Template variables: the filled slots plus what follows from them (deadline dates).

    A deadline date is the last day to activate: it has passed only once today is later.
    """
    values: dict[str, object] = {name: value for name, value in slots.items() if value is not None}
    for slot in knowledge.intents[intent].slots:
        received = values.get(slot.name) if slot.type == "date" else None
        if isinstance(received, str):
            half_year, day300 = deadlines(date.fromisoformat(received))
            values.update(
                half_year_date=half_year.isoformat(),
                day300_date=day300.isoformat(),
                today=today.isoformat(),
                deadline_status=DEADLINE_STATUSES[(half_year < today) + (day300 < today)],
            )
    return values


def _applies(variant: Variant, values: dict[str, object]) -> bool:
    return all(name in values and values[name] == expected for name, expected in variant.when.items())


def answer(knowledge: KnowledgeBase, intent: str, language: Language, values: dict[str, object]) -> str:
    """The first answer variant whose conditions hold, filled in; domain answers cite the law."""
    variant = next(v for v in knowledge.responses[intent].answers[language] if _applies(v, values))
    text = variant.text.format_map(values)
    if knowledge.intents[intent].domain:
        text = f"{text}\n\n{knowledge.system['legal_footer'][language]}"
    return text

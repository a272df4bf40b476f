"""Composing an answer: the intent's template with its slot values, then what goes with it.

What goes with it, in order: the deadline status when the person said when they received
the card (in any question but the deadline one, which is about nothing else), the
operator's local contacts for region-dependent answers, and the legal footer under
answers from the source.
"""

from __future__ import annotations

from datetime import date

from bot import render
from bot.knowledge import KnowledgeBase
from bot.messages import Language
from bot.understanding.dates import Received

RECEIVED = "received_date"
"""The slot (and detail) holding when the card was received."""


class Answers:
    """Answer texts of one knowledge base."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge

    def text(self, intent: str, language: Language, slots: dict[str, bool | str | None], today: date) -> str:
        """The full answer to ``intent`` given ``slots`` (values of the intent's slots and other details)."""
        values = self._values(intent, language, slots, today)
        variants = self.knowledge.responses[intent].answers[language]
        parts = [render.choose_variant(variants, values).text.format_map(values)]
        received = slots.get(RECEIVED)
        if isinstance(received, str) and not self._has_date_slot(intent) and self._is_domain(intent):
            parts.append(self._deadline_note(Received.decode(received), language, today))
        if self.knowledge.responses[intent].local:
            parts.append(render.local_block(self.knowledge.local, self.knowledge, language))
        if self._is_domain(intent) and self.knowledge.intents[intent].footer:
            parts.append(self.knowledge.system["legal_footer"][language])
        return "\n\n".join(part for part in parts if part)

    def used_slots(self, intent: str, slots: dict[str, bool | str | None]) -> dict[str, object]:
        """The slot values an answer to ``intent`` used, as ``chat --json`` reports them."""
        names = {slot.name for slot in self.knowledge.intents[intent].slots}
        if self._is_domain(intent):
            names.add(RECEIVED)
        return self.reported_details({name: value for name, value in slots.items() if name in names})

    @staticmethod
    def reported_details(slots: dict[str, bool | str | None]) -> dict[str, object]:
        """Every detail in ``slots``, dates as ``faqbot classify`` reports them."""
        reported: dict[str, object] = {}
        for name, value in sorted(slots.items()):
            if name == RECEIVED and isinstance(value, str):
                reported.update(_received_json(Received.decode(value)))
            elif value is not None:
                reported[name] = value
        return reported

    def _values(
        self, intent: str, language: Language, slots: dict[str, bool | str | None], today: date
    ) -> dict[str, object]:
        values: dict[str, object] = {name: value for name, value in slots.items() if value is not None}
        received = slots.get(RECEIVED)
        if self._has_date_slot(intent) and isinstance(received, str):
            values.update(render.deadline_variables(Received.decode(received), today, self.knowledge, language))
        return values

    def _deadline_note(self, when: Received, language: Language, today: date) -> str:
        values = render.deadline_variables(when, today, self.knowledge, language)
        template = self.knowledge.system[f"deadline_note_{values['deadline_status']}"][language]
        return template.format_map(values)

    def _has_date_slot(self, intent: str) -> bool:
        return any(slot.type == "date" for slot in self.knowledge.intents[intent].slots)

    def _is_domain(self, intent: str) -> bool:
        return self.knowledge.intents[intent].kind == "domain"


def _received_json(when: Received) -> dict[str, object]:
    if when.is_day:
        return {"received_date": when.start.isoformat()}
    if when.month is not None:
        return {"received_month": when.month, "received_range": when.encode()}
    return {"received_range": when.encode()}

"""Checks across files, and of the names the code relies on, then the :class:`KnowledgeBase`."""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path

from bot.knowledge.base import LANGUAGES, REQUIRED_CONCEPTS, Example, KnowledgeBase, KnowledgeError
from bot.knowledge.loader import Document, Parts, read_parts
from bot.knowledge.schema import IntentSpec, ResponseSpec, SlotValuesSpec

OUT_OF_SCOPE = "out_of_scope"
"""Reserved intent: examples of what the bot must *not* answer; the fallback answers them."""

REQUIRED_INTENTS = {"greeting": "social", "help": "social", OUT_OF_SCOPE: "out_of_scope", "not_covered": "not_covered"}
"""Intents the dialogue names (the welcome, help, the fallback, the honest not-covered answer)."""


SYSTEM_TEXTS = (
    "fallback", "legal_footer", "non_text", "stale_choice", "reply_with_number", "more", "cancelled",
    "nothing_to_cancel", "disambiguation", "menu", "unavailable", "deadline_received_day",
    "deadline_received_range", "status_passed", "status_open", "status_uncertain", "deadline_note_open",
    "deadline_note_half_year_passed", "deadline_note_both_passed", "deadline_note_uncertain",
    "date_in_future", "date_too_old", "local_header", "review_notice", "flood", "feedback_up", "feedback_down",
    "feedback_thanks", "feedback_not_counted", "card_title", "card_confirm",
)  # fmt: skip

DERIVED_VARIABLES: dict[str, tuple[str, ...]] = {
    "financial": (),
    "role": (),
    "date": ("received_intro", "half_year", "day300", "half_year_status", "day300_status", "deadline_status", "today"),
}
"""Variables a slot of each type makes available to templates (besides the slot itself)."""

DEADLINE_STATUSES = ("open", "half_year_passed", "both_passed", "uncertain")
"""Values of ``{deadline_status}``: which of the source's two deadlines have passed, or whether
that is unclear (only the month of receipt known)."""

SLOT_VALUES = {"financial": (True, False), "role": ("insured", "agent")}
"""The values each slot type takes (``date`` slots hold dates)."""


def load_knowledge(root: Path) -> KnowledgeBase:
    """Load and check ``root/intents`` and ``root/responses``; :class:`KnowledgeError` lists every problem."""
    problems: list[str] = []
    parts = read_parts(root, problems)
    _check_system(parts, root, problems)
    _check_names(parts, root, problems)
    for name, (spec, document) in parts.intents.items():
        _check_intent(parts, name, spec, document, problems)
    for name, (_, document) in parts.responses.items():
        if name not in parts.intents or name == OUT_OF_SCOPE:
            problems.append(f"{document.where('intent')}: responses for unknown intent {name!r}")
    topics = _topics(parts, root, problems)
    examples = _collect(parts, problems)
    slot_examples, asides = _slot_examples(parts, problems)
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        intents={name: spec for name, (spec, _) in parts.intents.items()},
        responses={name: spec for name, (spec, _) in parts.responses.items()},
        system=parts.system,
        examples=examples,
        lexicon=parts.lexicon,
        topics=topics,
        dialect=parts.dialect,
        slot_examples=slot_examples,
        asides=asides,
        local=parts.local,
    )


def _check_system(parts: Parts, root: Path, problems: list[str]) -> None:
    where = parts.system_document.where("system") if parts.system_document else f"{root / 'responses'}:1"
    for name in SYSTEM_TEXTS:
        texts = parts.system.get(name)
        if texts is None:
            problems.append(f"{where}: system text {name!r} is missing")
            continue
        problems.extend(f"{where}: system text {name!r} has no {lang!r}" for lang in LANGUAGES if lang not in texts)


def _check_names(parts: Parts, root: Path, problems: list[str]) -> None:
    """The intents and concepts the code names exist, with the kind the code expects."""
    where = f"{root / 'intents'}:1"
    for name, kind in REQUIRED_INTENTS.items():
        entry = parts.intents.get(name)
        if entry is None:
            problems.append(f"{where}: intent {name!r} is missing (the dialogue relies on it)")
        elif entry[0].kind != kind:
            problems.append(f"{entry[1].where('kind')}: intent {name!r} must have kind {kind!r}")
    for concept in REQUIRED_CONCEPTS:
        if concept not in parts.lexicon:
            problems.append(f"{where}: concept {concept!r} is missing from the lexicon (the matcher relies on it)")
    if parts.slot_values is None:
        problems.append(f"{where}: intents/_slots.yaml (answers to follow-up questions) is missing")


def _check_intent(parts: Parts, name: str, spec: IntentSpec, document: Document, problems: list[str]) -> None:
    for language in LANGUAGES:
        if language not in spec.examples:
            problems.append(f"{document.where('examples')}: no {language!r} examples")
    if spec.reports_as is not None and spec.reports_as not in parts.intents:
        problems.append(f"{document.where('reports_as')}: reports_as names unknown intent {spec.reports_as!r}")
    for concept in spec.anchors:
        if concept not in parts.lexicon:
            problems.append(f"{document.where('anchors')}: anchor {concept!r} is not a concept of the lexicon")
    for slot in spec.slots:
        for concept, value in slot.explained_when.items():
            if concept not in parts.lexicon:
                problems.append(f"{document.where('slots')}: {slot.name}: {concept!r} is not a concept of the lexicon")
            if value not in slot.values:
                problems.append(f"{document.where('slots')}: {slot.name}: {concept!r} goes with {value!r}, not a value")
    if spec.kind == "out_of_scope":
        return
    if name not in parts.responses:
        problems.append(f"{document.where('intent')}: intent {name!r} has no responses file")
        return
    response, response_document = parts.responses[name]
    problems.extend(check_responses(spec, response, response_document))


def check_responses(intent: IntentSpec, response: ResponseSpec, document: Document) -> list[str]:
    """Every language answered and labelled, every slot prompted, every placeholder known."""
    problems: list[str] = []
    variables, possible = _variables(intent)
    for language in LANGUAGES:
        if language not in response.label:
            problems.append(f"{document.where('label')}: no {language!r} label")
        variants = response.answers.get(language)
        if not variants:
            problems.append(f"{document.where('answers')}: no {language!r} answer")
            continue
        if variants[-1].when:
            last = document.where("answers", language, len(variants) - 1)
            problems.append(f"{last}: the last {language!r} answer must have no 'when' (it is the general answer)")
        for index, variant in enumerate(variants):
            where = document.where("answers", language, index)
            problems.extend(_check_variant(variant.text, variant.when, variables, possible, where))
    problems.extend(_check_prompts(intent, response, document))
    return problems


def _variables(intent: IntentSpec) -> tuple[set[str], dict[str, list[object]]]:
    variables = {slot.name for slot in intent.slots}
    possible: dict[str, list[object]] = {}
    for slot in intent.slots:
        variables.update(DERIVED_VARIABLES[slot.type])
        possible[slot.name] = [value for value in slot.values if value is not None]
        if slot.type == "date":
            possible["deadline_status"] = list(DEADLINE_STATUSES)
    return variables, possible


def _check_variant(
    text: str, when: Mapping[str, object], variables: set[str], possible: dict[str, list[object]], where: str
) -> list[str]:
    problems: list[str] = []
    try:
        placeholders = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:
        return [f"{where}: invalid template: {error} (write {{{{ and }}}} for a literal brace)"]
    for name in sorted((placeholders | set(when)) - variables):
        known = ", ".join(sorted(variables)) or "none"
        problems.append(f"{where}: unknown variable {{{name}}} (known: {known})")
    for name, expected in when.items():
        values = possible.get(name)
        if values is not None and expected not in values:
            choices = ", ".join(map(repr, values))
            problems.append(
                f"{where}: {name} is never {expected!r} (it can be {choices}), so this answer is never given"
            )
    return problems


def _check_prompts(intent: IntentSpec, response: ResponseSpec, document: Document) -> list[str]:
    problems: list[str] = []
    for slot in intent.slots:
        prompts = response.prompts.get(slot.name)
        if prompts is None:
            problems.append(f"{document.where('prompts')}: slot {slot.name!r} has no prompt")
            continue
        for language in LANGUAGES:
            prompt = prompts.get(language)
            if prompt is None:
                problems.append(
                    f"{document.where('prompts', slot.name)}: slot {slot.name!r} has no {language!r} prompt"
                )
            elif len(prompt.choices) != len(slot.values):
                where = document.where("prompts", slot.name, language, "choices")
                problems.append(
                    f"{where}: {len(prompt.choices)} choices for {len(slot.values)} slot values {slot.values}"
                )
    for name in sorted(set(response.prompts) - {slot.name for slot in intent.slots}):
        problems.append(f"{document.where('prompts', name)}: prompt for unknown slot {name!r}")
    return problems


def _topics(parts: Parts, root: Path, problems: list[str]) -> tuple[str, ...]:
    where = parts.system_document.where("topics") if parts.system_document else f"{root / 'responses'}:1"
    for name in parts.topics:
        entry = parts.intents.get(name)
        if entry is None or entry[0].kind != "domain":
            problems.append(f"{where}: topic {name!r} is not a domain intent")
    domain = [name for name, (spec, _) in parts.intents.items() if spec.kind == "domain"]
    return (*parts.topics, *(name for name in domain if name not in parts.topics))


def _collect(parts: Parts, problems: list[str]) -> tuple[Example, ...]:
    """All examples, refusing one that stands under two intents (it would make matching a coin toss)."""
    seen: dict[str, Example] = {}
    examples: list[Example] = []
    for name, (spec, document) in parts.intents.items():
        for language, texts in spec.examples.items():
            for index, text in enumerate(texts):
                example = Example(name, language, text, document.where("examples", language, index))
                first = seen.setdefault(_key(text), example)
                if first.intent != name:
                    problems.append(
                        f"{example.where}: example {text!r} is also under intent {first.intent!r} ({first.where})"
                    )
                examples.append(example)
    return tuple(examples)


def _key(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def _slot_examples(parts: Parts, problems: list[str]) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    if parts.slot_values is None:
        return (), ()
    spec, document = parts.slot_values
    values: list[Example] = []
    for slot_type, by_value in spec.values.items():
        allowed = SLOT_VALUES.get(slot_type, ())
        for value, texts in by_value.items():
            if value not in allowed:
                problems.append(f"{document.where('values', slot_type, value)}: {slot_type} has no value {value!r}")
            values += _examples_of(f"{slot_type}={value}", texts, document, ("values", slot_type, value))
    values += _examples_of("unsure", spec.unsure, document, ("unsure",))
    asides: list[Example] = []
    for slot, texts in spec.asides.items():
        asides += _examples_of(slot, texts, document, ("asides", slot))
    _check_aside_slots(parts, spec, document, problems)
    return tuple(values), tuple(asides)


def _examples_of(label: str, texts: object, document: Document, path: tuple[object, ...]) -> list[Example]:
    return [
        Example(label, language, text, document.where(*path, language, index))
        for language in LANGUAGES
        for index, text in enumerate(getattr(texts, language))
    ]


def _check_aside_slots(parts: Parts, spec: SlotValuesSpec, document: Document, problems: list[str]) -> None:
    slots = {slot.name for intent, _ in parts.intents.values() for slot in intent.slots}
    for name in spec.asides:
        if name not in slots:
            problems.append(f"{document.where('asides', name)}: asides for unknown slot {name!r}")


def check_problems(root: Path) -> list[str]:
    """Every problem of the knowledge base at ``root`` (empty when it is valid)."""
    try:
        load_knowledge(root)
    except KnowledgeError as error:
        return error.problems
    return []

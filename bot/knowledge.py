"""Loading and validating the knowledge base: ``intents/*.yaml`` and ``responses/*.yaml``.

The files follow Rasa's habits (intents with examples, responses with variables) so FAQ
authors feel at home. Every problem is reported as ``file:line: message`` — the person
editing YAML is rarely a programmer, and a traceback would not tell them where to look.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.messages import Language

LANGUAGES: tuple[Language, ...] = ("zh", "en")
OUT_OF_SCOPE = "out_of_scope"
"""Reserved intent id: examples of what the bot must *not* answer (never a reply)."""

SlotType = Literal["financial", "role", "date"]

# Variables a slot of each type makes available to templates (besides the slot itself).
DERIVED_VARIABLES: dict[str, tuple[str, ...]] = {
    "financial": (),
    "role": (),
    "date": ("half_year_date", "day300_date", "deadline_status", "today"),
}

DEADLINE_STATUSES = ("open", "half_year_passed", "both_passed")
"""Values of ``{deadline_status}``: which of the two deadlines the source gives have passed."""

SYSTEM_TEXTS = (
    "fallback",
    "legal_footer",
    "non_text",
    "stale_choice",
    "reply_with_number",
    "more",
    "cancelled",
    "nothing_to_cancel",
    "disambiguation",
    "menu",
    "unavailable",
    "flood",
)


class KnowledgeError(Exception):
    """The knowledge base is invalid; ``problems`` are ``file:line: message`` strings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlotSpec(_Strict):
    """A detail that changes the answer, asked for when the first message lacks it."""

    name: str
    type: SlotType
    values: list[bool | str | None] = Field(min_length=1, description="what each offered choice means, in order")


class IntentSpec(_Strict):
    """One intent file: what people say when they mean this intent."""

    intent: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    domain: bool = Field(True, description="domain answers end with the legal footer")
    anchors: list[str] = Field(
        default_factory=list,
        description="lexicon concepts that tie a message to this intent even when it names neither the card nor activation",
    )
    examples: dict[Language, list[str]]
    slots: list[SlotSpec] = Field(default_factory=list)

    @field_validator("examples")
    @classmethod
    def _non_empty(cls, examples: dict[Language, list[str]]) -> dict[Language, list[str]]:
        for language, texts in examples.items():
            if not texts:
                raise ValueError(f"no examples for {language!r}")
            if any(not isinstance(text, str) or not text.strip() for text in texts):
                raise ValueError(f"an empty example under {language!r}")
        return examples


class Prompt(_Strict):
    """A follow-up question: its text, the choices offered, and the hint used when re-asking."""

    text: str = Field(min_length=1)
    choices: list[str] = Field(min_length=1)
    hint: str = Field(min_length=1)


class Variant(_Strict):
    """One answer text, used when every ``when`` condition holds (the first match wins)."""

    when: dict[str, bool | str] = Field(default_factory=dict)
    text: str = Field(min_length=1)


class ResponseSpec(_Strict):
    """One response file: an intent's label, answers and follow-up prompts per language."""

    intent: str
    label: dict[Language, str]
    answers: dict[Language, list[Variant]]
    prompts: dict[str, dict[Language, Prompt]] = Field(default_factory=dict)


class LexiconSpec(_Strict):
    """Concepts: words meaning the same thing for matching, per language."""

    lexicon: dict[str, dict[Language, list[str]]]


class SystemSpec(_Strict):
    """Fixed texts of the dialogue (fallback, footer, notices for channels)."""

    system: dict[str, dict[Language, str]]
    topics: list[str] = Field(default_factory=list, description="menu order of the topics")


@dataclass(frozen=True)
class Example:
    """One training example and where it was written."""

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

    def slot(self, intent: str, name: str) -> SlotSpec:
        """The spec of slot ``name`` of ``intent``."""
        return next(slot for slot in self.intents[intent].slots if slot.name == name)


def _line_of(node: yaml.Node | None, path: Iterable[Any]) -> int:
    """1-based line of the YAML entry at ``path`` (or of its deepest existing ancestor).

    For a mapping entry this is the line of its key, which is where a reader looks even
    when the value is a block starting on the next line.
    """
    if node is None:
        return 1
    line = node.start_mark.line
    for key in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(key):
                    child, line = value_node, key_node.start_mark.line
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = child.start_mark.line
        if child is None:
            break
        node = child
    return line + 1


@dataclass
class _Document:
    path: Path
    data: Any
    root: yaml.Node | None

    def where(self, *path: Any) -> str:
        return f"{self.path}:{_line_of(self.root, path)}"


def _read_yaml(path: Path, problems: list[str]) -> _Document | None:
    try:
        text = path.read_text(encoding="utf-8")
        return _Document(path, yaml.safe_load(text), yaml.compose(text))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        problems.append(f"{path}:{line}: invalid YAML: {error.problem or error}")
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        problems.append(f"{path}:1: cannot read: {error}")
    return None


def _validate(model: type[BaseModel], document: _Document, problems: list[str]) -> Any:
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"]) or "(top level)"
            problems.append(f"{document.where(*item['loc'])}: {location}: {item['msg']}")
    return None


def _yaml_files(folder: Path, problems: list[str]) -> Iterator[Path]:
    if not folder.is_dir():
        problems.append(f"{folder}:1: folder missing")
        return
    yield from sorted(folder.glob("*.yaml"))


def _placeholders(template: str) -> set[str]:
    """Fields ``template`` fills (``{}`` counts, as ``""``); ValueError on an unbalanced brace."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def load_knowledge(root: Path) -> KnowledgeBase:
    """Load and check ``root/intents`` and ``root/responses``.

    Raises :class:`KnowledgeError` listing every problem found, so one run of
    ``faqbot check`` shows them all.
    """
    problems: list[str] = []
    intents: dict[str, IntentSpec] = {}
    intent_docs: dict[str, _Document] = {}
    responses: dict[str, ResponseSpec] = {}
    response_docs: dict[str, _Document] = {}
    system: dict[str, dict[Language, str]] = {}
    topics: list[str] = []
    topics_where = f"{root / 'responses'}:1"
    lexicon: dict[str, dict[Language, list[str]]] = {}

    for path in _yaml_files(root / "intents", problems):
        document = _read_yaml(path, problems)
        if document is not None and isinstance(document.data, dict) and "lexicon" in document.data:
            concepts = _validate(LexiconSpec, document, problems)
            lexicon.update(concepts.lexicon if concepts else {})
            continue
        spec = document and _validate(IntentSpec, document, problems)
        if spec is not None:
            _register(spec, document, intents, intent_docs, "intent", problems)

    for path in _yaml_files(root / "responses", problems):
        document = _read_yaml(path, problems)
        if document is None:
            continue
        if isinstance(document.data, dict) and "system" in document.data:
            spec = _validate(SystemSpec, document, problems)
            if spec is not None:
                system.update(spec.system)
                topics.extend(spec.topics)
                topics_where = document.where("topics")
                for name, texts in spec.system.items():
                    for language in LANGUAGES:
                        if language not in texts:
                            problems.append(
                                f"{document.where('system', name)}: system text {name!r} has no {language!r}"
                            )
            continue
        spec = _validate(ResponseSpec, document, problems)
        if spec is not None:
            _register(spec, document, responses, response_docs, "responses", problems)

    for name in SYSTEM_TEXTS:
        if name not in system:
            problems.append(f"{root / 'responses'}:1: system text {name!r} is missing")

    for name, spec in intents.items():
        document = intent_docs[name]
        for language in LANGUAGES:
            if language not in spec.examples:
                problems.append(f"{document.where('examples')}: no {language!r} examples")
        if name == OUT_OF_SCOPE:
            continue
        if name not in responses:
            problems.append(f"{document.where('intent')}: intent {name!r} has no responses file")
            continue
        problems.extend(_check_responses(spec, responses[name], response_docs[name]))

    for name, document in response_docs.items():
        if name not in intents or name == OUT_OF_SCOPE:
            problems.append(f"{document.where('intent')}: responses for unknown intent {name!r}")

    for name in topics:
        if name not in intents or not intents[name].domain:
            problems.append(f"{topics_where}: topic {name!r} is not a domain intent")
    topics += [name for name, spec in intents.items() if spec.domain and name not in topics and name != OUT_OF_SCOPE]

    for name, spec in intents.items():
        for concept in spec.anchors:
            if concept not in lexicon:
                problems.append(
                    f"{intent_docs[name].where('anchors')}: anchor {concept!r} is not a concept of the lexicon"
                )

    examples = _collect_examples(intents, intent_docs, problems)
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        intents=intents, responses=responses, system=system, examples=examples, lexicon=lexicon, topics=tuple(topics)
    )


def _register(
    spec: Any,
    document: _Document,
    specs: dict[str, Any],
    documents: dict[str, _Document],
    what: str,
    problems: list[str],
) -> None:
    """Keep ``spec`` under its intent id, refusing a second file for the same intent."""
    if spec.intent in specs:
        problems.append(f"{document.where('intent')}: {what} for {spec.intent!r} also in {documents[spec.intent].path}")
        return
    specs[spec.intent] = spec
    documents[spec.intent] = document


def _check_responses(intent: IntentSpec, response: ResponseSpec, document: _Document) -> list[str]:
    """Every language answered and labelled, every slot prompted, every placeholder known."""
    problems: list[str] = []
    variables = {slot.name for slot in intent.slots}
    condition_values: dict[str, list[object]] = {}
    for slot in intent.slots:
        variables.update(DERIVED_VARIABLES[slot.type])
        condition_values[slot.name] = [value for value in slot.values if value is not None]
        if slot.type == "date":
            condition_values["deadline_status"] = list(DEADLINE_STATUSES)
    for language in LANGUAGES:
        if language not in response.label:
            problems.append(f"{document.where('label')}: no {language!r} label")
        variants = response.answers.get(language)
        if not variants:
            problems.append(f"{document.where('answers')}: no {language!r} answer")
            continue
        if variants[-1].when:
            problems.append(
                f"{document.where('answers', language, len(variants) - 1)}: the last {language!r} answer must have no 'when' (it is the general answer)"
            )
        for index, variant in enumerate(variants):
            try:
                placeholders = _placeholders(variant.text)
            except ValueError as error:
                problems.append(
                    f"{document.where('answers', language, index)}: invalid template: {error} (write {{{{ and }}}} for a literal brace)"
                )
                placeholders = set()
            for name in sorted((placeholders | set(variant.when)) - variables):
                problems.append(
                    f"{document.where('answers', language, index)}: unknown variable {{{name}}} (known: {', '.join(sorted(variables)) or 'none'})"
                )
            for name, expected in variant.when.items():
                possible = condition_values.get(name)
                if possible is not None and expected not in possible:
                    problems.append(
                        f"{document.where('answers', language, index, 'when', name)}: {name} is never {expected!r} "
                        f"(it can be {', '.join(map(repr, possible))}), so this answer could never be given"
                    )
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
                problems.append(
                    f"{document.where('prompts', slot.name, language, 'choices')}: {len(prompt.choices)} choices for {len(slot.values)} slot values {slot.values}"
                )
    for name in sorted(set(response.prompts) - {slot.name for slot in intent.slots}):
        problems.append(f"{document.where('prompts', name)}: prompt for unknown slot {name!r}")
    return problems


def _collect_examples(
    intents: dict[str, IntentSpec], docs: dict[str, _Document], problems: list[str]
) -> tuple[Example, ...]:
    """All examples, refusing one that stands under two intents (it would make matching a coin toss)."""
    from bot.normalize import normalize  # late import: normalisation pulls in OpenCC

    seen: dict[str, Example] = {}
    examples: list[Example] = []
    for name, spec in intents.items():
        for language, texts in spec.examples.items():
            for index, text in enumerate(texts):
                example = Example(name, language, text, docs[name].where("examples", language, index))
                key = normalize(text).text
                first = seen.setdefault(key, example)
                if first is not example and first.intent != name:
                    problems.append(
                        f"{example.where}: example {text!r} is also under intent {first.intent!r} ({first.where})"
                    )
                examples.append(example)
    return tuple(examples)

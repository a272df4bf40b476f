"""Reading ``intents/`` and ``responses/`` into a :class:`KnowledgeBase`.

Every problem is reported as ``file:line: message``: the person editing YAML is rarely a
programmer, and a traceback would not tell them where to look. All problems are
collected, so one run of ``faqbot check`` shows them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.knowledge.schema import (
    DialectSpec,
    IntentSpec,
    LexiconSpec,
    LocalContacts,
    LocalSpec,
    ResponseSpec,
    SlotValuesSpec,
    SystemSpec,
)
from bot.messages import Language
from bot.yamlio import YamlError, compose_yaml, parse_yaml


def line_of(node: yaml.Node | None, path: Iterable[Any]) -> int:
    """1-based line of the YAML entry at ``path`` (or of its deepest existing ancestor).

    For a mapping entry this is the line of its key, which is where a reader looks even
    when the value is a block starting on the next line.
    """
    if node is None:
        return 1
    line = node.start_mark.line
    for key in path:
        child = _child(node, key)
        if child is None:
            break
        node, line = child
    return line + 1


def _child(node: yaml.Node, key: Any) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if str(key_node.value).lower() == str(key).lower():
                return value_node, key_node.start_mark.line
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key], node.value[key].start_mark.line
    return None


@dataclass
class Document:
    """A parsed YAML file; its node tree is composed only when a line number is needed."""

    path: Path
    text: str
    data: Any
    _root: yaml.Node | None = None

    def where(self, *path: Any) -> str:
        if self._root is None:
            self._root = compose_yaml(self.text)
        return f"{self.path}:{line_of(self._root, path)}"


def read_document(path: Path, problems: list[str]) -> Document | None:
    """The parsed file, or ``None`` with its problem recorded."""
    try:
        text = path.read_text(encoding="utf-8")
        return Document(path, text, parse_yaml(text, path))
    except YamlError as error:
        problems.append(str(error))
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{path}:1: cannot read: {error}")
    return None


def validate(model: type[BaseModel], document: Document, problems: list[str]) -> Any:
    """``document``'s data as ``model``, or ``None`` with each problem recorded at its line."""
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"]) or "(top level)"
            problems.append(f"{document.where(*item['loc'])}: {location}: {item['msg']}")
    return None


def yaml_files(folder: Path, problems: list[str]) -> Iterator[Path]:
    """The ``*.yaml`` files of ``folder`` in name order (a missing folder is a problem)."""
    if not folder.is_dir():
        problems.append(f"{folder}:1: folder missing")
        return
    yield from sorted(folder.glob("*.yaml"))


@dataclass
class Parts:
    """What the files held, before the checks across files."""

    intents: dict[str, tuple[IntentSpec, Document]] = field(default_factory=dict)
    responses: dict[str, tuple[ResponseSpec, Document]] = field(default_factory=dict)
    system: dict[str, dict[Language, str]] = field(default_factory=dict)
    system_document: Document | None = None
    topics: list[str] = field(default_factory=list)
    lexicon: dict[str, dict[Language, list[str]]] = field(default_factory=dict)
    dialect: dict[str, str] = field(default_factory=dict)
    slot_values: tuple[SlotValuesSpec, Document] | None = None
    local: LocalContacts | None = None


_INTENT_FILES: dict[str, type[BaseModel]] = {"lexicon": LexiconSpec, "dialect": DialectSpec, "values": SlotValuesSpec}
_RESPONSE_FILES: dict[str, type[BaseModel]] = {"system": SystemSpec, "local": LocalSpec}


def read_parts(root: Path, problems: list[str]) -> Parts:
    """Parse and validate every file of ``root/intents`` and ``root/responses``."""
    parts = Parts()
    for path in yaml_files(root / "intents", problems):
        document = read_document(path, problems)
        if document is not None:
            _add_intent_file(parts, document, problems)
    for path in yaml_files(root / "responses", problems):
        document = read_document(path, problems)
        if document is not None:
            _add_response_file(parts, document, problems)
    return parts


def _special(document: Document, kinds: dict[str, type[BaseModel]]) -> str | None:
    """Which special file (lexicon, system texts…) ``document`` is; ``None`` for an intent's file."""
    data = document.data
    if not isinstance(data, dict) or "intent" in data:
        return None
    return next((key for key in kinds if key in data), None)


def _add_intent_file(parts: Parts, document: Document, problems: list[str]) -> None:
    special = _special(document, _INTENT_FILES)
    spec = validate(_INTENT_FILES.get(special or "", IntentSpec), document, problems)
    if spec is None:
        return
    if isinstance(spec, LexiconSpec):
        parts.lexicon.update(spec.lexicon)
    elif isinstance(spec, DialectSpec):
        parts.dialect.update(spec.dialect)
    elif isinstance(spec, SlotValuesSpec):
        parts.slot_values = (spec, document)
    else:
        _register(parts.intents, spec, document, "intent", problems)


def _add_response_file(parts: Parts, document: Document, problems: list[str]) -> None:
    special = _special(document, _RESPONSE_FILES)
    spec = validate(_RESPONSE_FILES.get(special or "", ResponseSpec), document, problems)
    if spec is None:
        return
    if isinstance(spec, SystemSpec):
        parts.system.update(spec.system)
        parts.topics.extend(spec.topics)
        parts.system_document = document
    elif isinstance(spec, LocalSpec):
        parts.local = spec.local
    else:
        _register(parts.responses, spec, document, "responses", problems)


def _register(specs: dict[str, Any], spec: Any, document: Document, what: str, problems: list[str]) -> None:
    """Keep ``spec`` under its intent id, refusing a second file for the same intent."""
    if spec.intent in specs:
        problems.append(f"{document.where('intent')}: {what} for {spec.intent!r} also in {specs[spec.intent][1].path}")
        return
    specs[spec.intent] = (spec, document)

"""From the review to the knowledge base, without making the bot worse.

``faqbot review --export FILE`` writes the groups with a suggested intent each; the
operator edits the file (an intent per group, or ``skip``; texts removed at will);
``faqbot review --apply FILE`` adds the texts as examples to ``intents/*.yaml`` — keeping
the files' comments and layout (ruamel.yaml) — but first checks the changed knowledge base
(``faqbot check``) and runs the guard on it and on the current one: in-scope accuracy,
out-of-scope rejection and wrong answers on the labelled sets, answers to follow-up
questions, the conversation tests. When anything gets worse (see :func:`worse`) it
refuses and writes nothing, unless ``force``. Untouched evaluation sets are never part
of the guard.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.dialogue import Engine
from bot.knowledge import KnowledgeBase, KnowledgeError
from bot.state import MemoryStore
from bot.understanding.compiled import Compiled, compile_knowledge, load

SKIP = "skip"
_HAN = re.compile(r"[\u3400-\u9fff]")
GUARD_TODAY = date(2026, 11, 25)
"""The guard's labelled answers carry their own today; questions and conversations use this one."""

_HEADER = """\
# faqbot review export. For each group set `intent` to the intent its texts should teach:
# an intent of intents/ (where_to_activate, …), not_covered, out_of_scope — or skip.
# Remove any text you do not want. Then: faqbot review --apply THIS_FILE
"""


def export(groups: list[dict[str, Any]], path: Path) -> int:
    """Write ``groups`` (from :func:`bot.review.report.review`) for editing; how many were written."""
    from ruamel.yaml import YAML

    items = [
        {"count": g["count"], "suggested": g["suggested_intent"], "intent": g["suggested_intent"], "texts": g["texts"]}
        for g in groups
    ]
    yaml = YAML()
    yaml.allow_unicode = True
    with path.open("w", encoding="utf-8") as file:
        file.write(_HEADER)
        yaml.dump({"groups": items}, file)
    return len(items)


def read_choices(path: Path, knowledge: KnowledgeBase) -> dict[str, list[str]]:
    """The texts to add, by intent, from an edited export; ``ValueError`` names what is wrong."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise ValueError(f"{path}: expected a 'groups' list (as --export writes it)")
    chosen: dict[str, list[str]] = {}
    for number, group in enumerate(groups, start=1):
        intent = group.get("intent") if isinstance(group, dict) else None
        if intent in (None, SKIP):
            continue
        if intent not in knowledge.intents:
            raise ValueError(f"{path}: group {number}: unknown intent {intent!r}")
        texts = [str(t).strip() for t in group.get("texts") or [] if str(t).strip()]
        chosen.setdefault(str(intent), []).extend(texts)
    return chosen


def add_examples(root: Path, chosen: dict[str, list[str]], knowledge: KnowledgeBase) -> dict[Path, int]:
    """Add the texts to ``root/intents/<intent>.yaml`` keeping comments and order; how many per file."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    existing = {_key(e.text) for e in knowledge.examples}
    added: dict[Path, int] = {}
    for intent, texts in chosen.items():
        path = root / "intents" / f"{intent}.yaml"
        document = yaml.load(path.read_text(encoding="utf-8"))
        for text in texts:
            if _key(text) in existing:
                continue
            existing.add(_key(text))
            document["examples"][("zh" if _HAN.search(text) else "en")].append(text)
            added[path] = added.get(path, 0) + 1
        if path in added:
            with path.open("w", encoding="utf-8") as file:
                yaml.dump(document, file)
    return added


def _key(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


@dataclass(frozen=True)
class GuardSets:
    """What the guard measures on: labelled questions, labelled answers, conversation files."""

    questions: tuple[Path, ...]
    answers: tuple[Path, ...]
    conversations: tuple[Path, ...]

    @classmethod
    def default(cls, project: Path) -> GuardSets:
        data = project / "tests" / "data"
        questions = tuple(
            p for p in (data / "questions.jsonl", data / "heldout.jsonl", data / "blind.jsonl") if p.exists()
        )
        answers = tuple(p for p in (data / "answers.jsonl",) if p.exists())
        conversations = tuple(sorted((project / "tests" / "conversations").glob("*.yaml")))
        return cls(questions, answers, conversations)


Figures = dict[str, tuple[int, int]]
"""Guard figures: name → (lines right, lines in all); more right lines is better."""


def guard(knowledge: KnowledgeBase, compiled: Compiled, sets: GuardSets) -> Figures:
    """The guard's figures for one knowledge base (see :data:`Figures`)."""
    from bot.evaluation.answers import evaluate_answers
    from bot.evaluation.conversations import load_conversations, run_conversations
    from bot.evaluation.questions import evaluate

    clock = [GUARD_TODAY]
    engine = Engine(knowledge, MemoryStore(), compiled=compiled, today=lambda: clock[0])
    figures: Figures = {}
    for path in sets.questions:
        report = evaluate(engine, path, clock)
        for language, tally in sorted(report.in_scope.items()):
            figures[f"{path.name} in-scope {language}"] = (tally.right, tally.total)
        for language, tally in sorted(report.rejection.items()):
            figures[f"{path.name} rejected {language}"] = (tally.right, tally.total)
        wrong = report.wrong_answers
        figures[f"{path.name} no wrong answer"] = (wrong.total - wrong.right, wrong.total)
    for path in sets.answers:
        lines = path.read_text(encoding="utf-8").splitlines()
        verdicts = asyncio.run(evaluate_answers(engine, clock, lines, path)).verdicts
        total = sum(verdicts.values())
        figures[f"{path.name} taken"] = (verdicts["taken"], total)
        figures[f"{path.name} no wrong value"] = (total - verdicts["wrong"], total)
    if sets.conversations:
        conversations = [c for path in sets.conversations for c in load_conversations(path)]
        outcome = asyncio.run(run_conversations(engine, clock, conversations))
        figures["conversation turns"] = (outcome.turns - len(outcome.failures), outcome.turns)
    return figures


def worse(before: Figures, after: Figures) -> list[str]:
    """The figures that got worse.

    Retraining on a few more examples moves the decision boundaries a little, and lines on
    a boundary flip either way (two or three of several hundred, measured on the own sets),
    so a labelled set may lose up to two lines, or half a percent of a large set, without
    the change being worse; losing more is worse. A conversation test is a behaviour:
    losing any is worse.
    """
    allowed = {
        name: 0 if name.startswith("conversation") else max(2, round(total * 0.005))
        for name, (_, total) in before.items()
    }
    return [name for name, (right, _) in before.items() if right - after.get(name, (0, 0))[0] > allowed[name]]


@dataclass
class Applied:
    """The outcome of ``--apply``."""

    added: dict[str, int]
    before: Figures
    after: Figures
    worse: list[str]
    written: bool


def apply(root: Path, path: Path, sets: GuardSets, *, force: bool = False) -> Applied:
    """Add the chosen texts if the guard allows it (see the module docstring).

    Raises :class:`KnowledgeError` when the changed knowledge base does not pass the checks.
    """
    knowledge, compiled = load(root)
    chosen = read_choices(path, knowledge)
    with tempfile.TemporaryDirectory(prefix="faqbot-apply-") as scratch:
        copy = Path(scratch)
        shutil.copytree(root / "intents", copy / "intents")
        shutil.copytree(root / "responses", copy / "responses")
        added = add_examples(copy, chosen, knowledge)
        from bot.knowledge import load_knowledge

        changed = load_knowledge(copy)  # faqbot check on the changed copy
        before = guard(knowledge, compiled, sets)
        after = guard(changed, compile_knowledge(changed), sets)
        got_worse = worse(before, after)
        written = bool(added) and (force or not got_worse)
        if written:
            for changed_path in added:
                shutil.copyfile(changed_path, root / "intents" / changed_path.name)
    return Applied({p.name: n for p, n in added.items()}, before, after, got_worse, written)


__all__ = ["Applied", "GuardSets", "KnowledgeError", "apply", "export", "guard"]

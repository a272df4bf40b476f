"""From the review to the knowledge base, without making the bot worse.

``faqbot review --export FILE`` writes the groups with a suggested intent each; the
operator edits the file (an intent per group, or ``skip``; texts removed at will);
``faqbot review --apply FILE`` adds the texts as examples to ``intents/*.yaml`` — keeping
the files' comments and layout (ruamel.yaml) — but first checks the changed knowledge base
(``faqbot check``) and runs the guard on it and on the current one: in-scope accuracy,
out-of-scope rejection and wrong answers on the labelled sets, answers to follow-up
questions, the conversation tests. When a figure gets worse (line by line, beyond
chance: see :func:`worse`) it refuses and writes nothing, unless ``force``. Untouched evaluation sets are never part
of the guard.
"""

from __future__ import annotations

import asyncio
import json
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


@dataclass(frozen=True)
class Figure:
    """One guard figure: which of its lines (or turns) are right, of how many."""

    right: frozenset[str]
    total: int


Figures = dict[str, Figure]


class _Tally:
    """Lines right, by figure, as the guard counts them."""

    def __init__(self) -> None:
        self.right: dict[str, set[str]] = {}
        self.totals: dict[str, int] = {}

    def add(self, name: str, line: str, ok: bool) -> None:
        self.totals[name] = self.totals.get(name, 0) + 1
        self.right.setdefault(name, set()).update([line] if ok else [])

    def figures(self) -> Figures:
        return {name: Figure(frozenset(self.right.get(name, ())), total) for name, total in self.totals.items()}


def guard(knowledge: KnowledgeBase, compiled: Compiled, sets: GuardSets) -> Figures:
    """The guard's figures for one knowledge base, line by line (see :func:`worse`)."""
    clock = [GUARD_TODAY]
    engine = Engine(knowledge, MemoryStore(), compiled=compiled, today=lambda: clock[0])
    tally = _Tally()
    for path in sets.questions:
        _guard_questions(engine, path, tally)
    for path in sets.answers:
        _guard_answers(engine, clock, path, tally)
    if sets.conversations:
        _guard_conversations(engine, clock, sets.conversations, tally)
    return tally.figures()


def _guard_questions(engine: Engine, path: Path, tally: _Tally) -> None:
    from bot.evaluation.questions import NONE, read_rows

    for number, row in read_rows(path):
        got = engine.classify(row.text)["intent"] or NONE
        scope = "rejected" if row.intents == [NONE] else "in-scope"
        tally.add(f"{path.name} {scope} {row.lang}", str(number), got in row.intents)
        tally.add(f"{path.name} no wrong answer", str(number), got == NONE or got in row.intents)


def _guard_answers(engine: Engine, clock: list[date], path: Path, tally: _Tally) -> None:
    """An ask that no longer asks is one change, however many answers follow it: it is
    counted once, under "asks", and its answers are not judged."""
    from bot.evaluation.answers import evaluate_answers

    text = path.read_text(encoding="utf-8").splitlines()
    report = asyncio.run(evaluate_answers(engine, clock, text, path))
    verdicts = {miss["line"]: miss["verdict"] for miss in report.misses}
    asks: set[str] = set()
    for number in (n for n, line in enumerate(text, start=1) if line.strip()):
        verdict = verdicts.get(number, "taken")
        ask = json.loads(text[number - 1])["ask"]
        if ask not in asks:
            asks.add(ask)
            tally.add(f"{path.name} asks", ask, verdict != "not_asked")
        tally.add(f"{path.name} taken", str(number), verdict in ("taken", "not_asked"))
        tally.add(f"{path.name} no wrong value", str(number), verdict != "wrong")


def _guard_conversations(engine: Engine, clock: list[date], paths: tuple[Path, ...], tally: _Tally) -> None:
    from bot.evaluation.conversations import load_conversations, run_conversations

    conversations = [c for path in paths for c in load_conversations(path)]
    outcome = asyncio.run(run_conversations(engine, clock, conversations))
    failed = {(f.conversation, f.turn) for f in outcome.failures}
    for conversation in conversations:
        for turn in range(1, len(conversation.turns) + 1):
            tally.add("conversation turns", f"{conversation.name}:{turn}", (conversation.name, turn) not in failed)


SIGNIFICANCE = 1.96
"""McNemar's z (two-sided 5 %) a net loss of lines needs to count as worse."""


def worse(before: Figures, after: Figures) -> list[str]:
    """The figures that got worse, judged line by line.

    Retraining on a few more examples moves the decision boundaries a little: some lines
    become wrong and others right. A labelled set is worse when it lost more lines than it
    gained by more than chance explains — McNemar's test on the lines that changed,
    ``(lost - gained) / sqrt(lost + gained) > 1.96``. A conversation test is a behaviour:
    losing any turn is worse.
    """
    found = []
    for name, old in before.items():
        new = after.get(name, Figure(frozenset(), old.total))
        lost, gained = len(old.right - new.right), len(new.right - old.right)
        if name.startswith("conversation"):
            significant = lost > 0
        else:
            significant = lost > gained and (lost - gained) > SIGNIFICANCE * (lost + gained) ** 0.5
        if significant:
            found.append(name)
    return found


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

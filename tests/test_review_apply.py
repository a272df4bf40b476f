"""From the review to ``intents/``: the round trip keeps the files' comments and order, and the
guard refuses a change that makes the bot worse (compiles the knowledge base twice: slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.knowledge import load_knowledge
from bot.review.apply import Figure, GuardSets, apply, export, worse
from bot.review.entry import ReviewEntry
from bot.review.report import review
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def guard_sets() -> GuardSets:
    sets = GuardSets.default(PROJECT_ROOT)
    assert sets.questions and sets.answers and sets.conversations
    assert not any("untouched" in str(path) for path in (*sets.questions, *sets.answers, *sets.conversations))
    return sets


def edited_export(tmp_path: Path, intent: str, texts: list[str]) -> Path:
    entries = [ReviewEntry.of_message(t, channel="tg", language="zh", outcome="not_covered") for t in texts]
    path = tmp_path / "review.yaml"
    assert export(review(entries)["groups"], path) >= 1
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    for group in data["groups"]:
        group["intent"] = intent
    with path.open("w", encoding="utf-8") as file:
        yaml.dump(data, file)
    return path


def test_the_export_apply_round_trip_keeps_comments_and_order(kb_dir: Path, guard_sets: GuardSets) -> None:
    target = kb_dir / "intents" / "not_covered.yaml"
    before = target.read_text(encoding="utf-8")
    texts = ["激活以后银行会不会每年扣管理费", "does the card ever charge a yearly fee once it's active"]
    applied = apply(kb_dir, edited_export(kb_dir, "not_covered", texts), guard_sets)
    assert applied.written, applied.worse
    after = target.read_text(encoding="utf-8")
    assert all(text in after for text in texts)
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments == [line for line in after.splitlines() if line.lstrip().startswith("#")]
    keys = [line.split(":")[0] for line in before.splitlines() if line and not line.startswith((" ", "#"))]
    assert keys == [line.split(":")[0] for line in after.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(after.splitlines()) == len(before.splitlines()) + 2


def test_a_change_that_makes_the_bot_worse_is_refused_and_nothing_written(kb_dir: Path, guard_sets: GuardSets) -> None:
    not_covered = load_knowledge(kb_dir).intents["not_covered"].examples
    # A deliberately bad change: questions the source does not answer (a particle more, which
    # matching ignores) filed as where-to-activate questions.
    bad = [f"{text}呀" for text in not_covered["zh"][:40]] + [f"{text} please" for text in not_covered["en"][:25]]
    files = {path: path.read_bytes() for path in (kb_dir / "intents").glob("*.yaml")}
    applied = apply(kb_dir, edited_export(kb_dir, "where_to_activate", bad), guard_sets)
    assert applied.added and applied.worse and not applied.written
    assert {path: path.read_bytes() for path in files} == files


def figure(right: range, total: int = 200) -> Figure:
    return Figure(frozenset(map(str, right)), total)


def test_worse_is_a_net_loss_beyond_chance_or_any_lost_conversation_turn() -> None:
    before = {"set in-scope zh": figure(range(150)), "conversation turns": figure(range(90), 93)}
    same_turns = figure(range(90), 93)
    assert worse(before, {"set in-scope zh": figure(range(3, 150)), "conversation turns": same_turns}) == []
    assert worse(before, {"set in-scope zh": figure(range(5, 153)), "conversation turns": same_turns}) == []
    assert worse(before, {"set in-scope zh": figure(range(8, 150)), "conversation turns": same_turns}) == [
        "set in-scope zh"
    ]
    assert worse(before, {"set in-scope zh": figure(range(150)), "conversation turns": figure(range(89), 93)}) == [
        "conversation turns"
    ]

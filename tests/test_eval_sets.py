"""Accuracy floors on the project's own labelled sets (never the examples in ``intents/``).

``questions.jsonl``, ``heldout.jsonl`` and ``blind.jsonl`` are labelled questions,
``answers.jsonl`` natural answers to the bot's follow-up questions. The floors (and the
ceilings on wrong answers) sit a little under (over) today's figures, so a change that
makes understanding generalise worse fails here, not in production. ``tests/data/untouched``
and ``tests/data/untouched2``-``4`` are untouched evaluation sets: no test reads them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.dialogue import Engine
from bot.evaluation.answers import evaluate_answers
from bot.evaluation.questions import evaluate

DATA = Path(__file__).parent / "data"

FLOORS = {  # in-scope accuracy, out-of-scope rejection, wrong answers at most, slot accuracy
    "questions.jsonl": (0.93, 0.93, 0.03, 0.90),
    "heldout.jsonl": (0.94, 0.93, 0.02, 0.88),
    "blind.jsonl": (0.90, 0.95, 0.035, 0.76),
}
ANSWERS_TAKEN = 0.95
ANSWERS_TAKEN_PER_LANGUAGE = 0.93
ANSWERS_WRONG = 0.015
ANSWERS_NOT_ASKED = 5


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_questions_stay_above_the_floor(engine: Engine, clock: list[date], name: str) -> None:
    in_scope, rejection, wrong, slots = FLOORS[name]
    report = evaluate(engine, DATA / name, clock).as_dict()
    assert set(report["in_scope_accuracy"]) == set(report["out_of_scope_rejection"]) == {"zh", "en"}
    for language, rate in report["in_scope_accuracy"].items():
        assert rate >= in_scope, f"{name} in-scope accuracy {language}: {rate}"
    for language, rate in report["out_of_scope_rejection"].items():
        assert rate >= rejection, f"{name} out-of-scope rejection {language}: {rate}"
    assert report["wrong_answer_rate"] <= wrong, f"{name} wrong answers: {report['wrong_answer_rate']}"
    assert report["slot_accuracy"] >= slots, f"{name} slot accuracy: {report['slot_accuracy']}"


async def test_answers_to_follow_ups_stay_above_the_floor(engine: Engine, clock: list[date]) -> None:
    path = DATA / "answers.jsonl"
    report = (await evaluate_answers(engine, clock, path.read_text(encoding="utf-8").splitlines(), path)).as_dict()
    assert report["total"] >= 200
    assert report["taken"] >= ANSWERS_TAKEN, f"answers taken: {report['taken']}"
    assert report["wrong"] <= ANSWERS_WRONG, f"answers with a wrong value: {report['wrong']}"
    assert report["not_asked"] <= ANSWERS_NOT_ASKED, f"asks that did not ask: {report['not_asked']}"
    for language, rates in report["by_language"].items():
        assert rates["taken"] >= ANSWERS_TAKEN_PER_LANGUAGE, f"answers taken in {language}: {rates['taken']}"

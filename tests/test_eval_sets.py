"""Accuracy guard on the project's own labelled sets (never the examples in intents/).

``tests/data/heldout.jsonl`` and ``tests/data/blind.jsonl`` were written by people who did
not see ``intents/``. The floors sit a little under today's figures (README, "Quality and
speed"), so a change that makes the matcher generalise worse fails here, not in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialogue import Engine
from bot.evaluation import evaluate
from bot.runtime import build_engine
from bot.settings import Settings

DATA = Path(__file__).parent / "data"
IN_SCOPE_FLOOR = 0.92
REJECTION_FLOOR = 0.88


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(Settings())


@pytest.mark.parametrize("name", ["heldout.jsonl", "blind.jsonl"])
def test_own_sets_stay_above_the_floor(engine: Engine, name: str) -> None:
    report = evaluate(engine, DATA / name).as_dict()
    for language, rate in report["in_scope_accuracy"].items():
        assert rate >= IN_SCOPE_FLOOR, f"{name} in-scope {language}: {rate}"
    for language, rate in report["out_of_scope_rejection"].items():
        assert rate >= REJECTION_FLOOR, f"{name} out-of-scope {language}: {rate}"

"""``faqbot eval`` on questions: how well messages are understood (the format of ``shared/eval/dev.jsonl``).

Four figures matter most: in-scope accuracy per language; out-of-scope rejection per
language; *wrong answers* — another topic's answer given to a question (in scope or not
covered), the worst outcome; and *did you mean* — how often the bot asks which of two
topics was meant instead of answering.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from bot.dialogue import Engine

NONE = "none"


class _Row(BaseModel):
    """One labelled line: the format of ``shared/eval/dev.jsonl``."""

    text: str
    intents: list[str] = Field(min_length=1)
    lang: Literal["zh", "en"] = "zh"
    slots: dict[str, bool | str] | None = None
    today: date | None = None


@dataclass
class _Tally:
    right: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.right += ok
        self.total += 1

    @property
    def rate(self) -> float | None:
        return round(self.right / self.total, 4) if self.total else None


@dataclass
class Report:
    """Everything ``faqbot eval`` prints."""

    overall: _Tally = field(default_factory=_Tally)
    in_scope: dict[str, _Tally] = field(default_factory=dict)
    rejection: dict[str, _Tally] = field(default_factory=dict)
    slots: _Tally = field(default_factory=_Tally)
    wrong_answers: _Tally = field(default_factory=_Tally)
    did_you_mean: _Tally = field(default_factory=_Tally)
    predicted: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        intents = sorted(set(self.expected) | set(self.predicted))
        per_intent = {
            name: {
                "precision": round(self.correct[name] / self.predicted[name], 4) if self.predicted[name] else None,
                "recall": round(self.correct[name] / self.expected[name], 4) if self.expected[name] else None,
                "support": self.expected[name],
            }
            for name in intents
        }
        return {
            "total": self.overall.total,
            "accuracy": self.overall.rate,
            "in_scope_accuracy": {lang: tally.rate for lang, tally in sorted(self.in_scope.items())},
            "out_of_scope_rejection": {lang: tally.rate for lang, tally in sorted(self.rejection.items())},
            "wrong_answer_rate": self.wrong_answers.rate,
            "did_you_mean_rate": self.did_you_mean.rate,
            "slot_accuracy": self.slots.rate,
            "slot_lines": self.slots.total,
            "per_intent": per_intent,
            "top_confusions": [
                {"expected": expected, "predicted": predicted, "count": count}
                for (expected, predicted), count in self.confusions.most_common(10)
            ],
            "misses": self.misses,
        }


def read_rows(path: Path) -> list[tuple[int, _Row]]:
    """The labelled lines of ``path`` with their line numbers; ``ValueError`` names a bad line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, _Row.model_validate_json(line)))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise ValueError(f"{path}:{number}: not an evaluation line ({where}: {first['msg']})") from None
    return rows


def evaluate(engine: Engine, path: Path, clock: list[date] | None = None) -> Report:
    """Classify every line of ``path`` and tally the results (``clock[0]``: today, set from a line's ``today``)."""
    report = Report()
    default_today = clock[0] if clock else None
    for number, row in read_rows(path):
        if clock is not None and default_today is not None:
            clock[0] = row.today or default_today
        _tally(report, number, row, engine.classify(row.text))
    if clock is not None and default_today is not None:
        clock[0] = default_today
    return report


def _tally(report: Report, number: int, row: _Row, result: dict[str, Any]) -> None:
    acceptable = row.intents
    got = result["intent"] or NONE
    ok = got in acceptable
    report.overall.add(ok)
    scope = report.rejection if acceptable == [NONE] else report.in_scope
    scope.setdefault(row.lang, _Tally()).add(ok)
    report.wrong_answers.add(got != NONE and not ok)
    report.did_you_mean.add(bool(result.get("did_you_mean")))
    expected = acceptable[0] if not ok else got
    report.expected[expected] += 1
    report.predicted[got] += 1
    report.correct[got] += ok
    slots_ok = row.slots is None or all(result["slots"].get(k) == v for k, v in row.slots.items())
    if row.slots is not None:
        report.slots.add(ok and slots_ok)
    if not ok:
        report.confusions[(expected, got)] += 1
        miss = {"line": number, "text": row.text, "expected": acceptable, "got": got}
        report.misses.append({**miss, "confidence": result["confidence"]})
    elif not slots_ok:
        report.misses.append(
            {"line": number, "text": row.text, "expected_slots": row.slots, "got_slots": result["slots"]}
        )


def format_report(report: Report) -> str:
    """A human-readable summary, the figures last (they are what one looks for)."""
    data = report.as_dict()
    lines = ["per intent (precision / recall / support):"]
    for name, scores in data["per_intent"].items():
        lines.append(f"  {name:22} {_pct(scores['precision']):>7} {_pct(scores['recall']):>7} {scores['support']:>5}")
    if data["top_confusions"]:
        lines.append("top confusions (expected → got):")
        lines += [f"  {c['expected']} → {c['predicted']}: {c['count']}" for c in data["top_confusions"]]
    if data["misses"]:
        lines.append("misses:")
        for miss in data["misses"]:
            if "got" in miss:
                lines.append(
                    f"  line {miss['line']}: {miss['text']!r} expected {'/'.join(miss['expected'])}, got {miss['got']} ({miss['confidence']:.2f})"
                )
            else:
                lines.append(
                    f"  line {miss['line']}: {miss['text']!r} slots {miss['expected_slots']} got {miss['got_slots']}"
                )
    lines.append(f"lines: {data['total']}")
    lines.append(
        "in-scope accuracy: " + ", ".join(f"{lang} {_pct(rate)}" for lang, rate in data["in_scope_accuracy"].items())
    )
    lines.append(
        "out-of-scope rejected: "
        + ", ".join(f"{lang} {_pct(rate)}" for lang, rate in data["out_of_scope_rejection"].items())
    )
    lines.append(f"wrong answers (another topic's answer): {_pct(data['wrong_answer_rate'])}")
    lines.append(f"did you mean: {_pct(data['did_you_mean_rate'])}")
    lines.append(f"slot accuracy: {_pct(data['slot_accuracy'])} ({data['slot_lines']} lines)")
    lines.append(f"overall accuracy: {_pct(data['accuracy'])}")
    return "\n".join(lines)


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"

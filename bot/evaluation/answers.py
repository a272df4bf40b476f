"""How well natural answers to the bot's own follow-up questions are understood.

Each line (the format of ``shared/eval/answers-dev.jsonl``): ``ask``, a first message that
makes the bot ask for a detail; ``answer``, what the person replies; ``today``; ``lang``;
and ``expect``, one of ``{"financial_account": bool}``, ``{"role": "insured"|"agent"}``,
``{"received_date": "YYYY-MM-DD"}``, ``{"received_month": "YYYY-MM"}`` or
``{"unsure": true}``. An answer is *taken* when the bot answers with exactly that value
(the unsure answer: the general answer, no value, nothing asked again); *wrong* when it
answers with another value; otherwise (asked again, another topic) it is *missed*.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, model_validator

from bot.dialogue import Engine
from bot.messages import Turn

_SLOT_OF = {"financial_account": "financial_account", "role": "role", "received_date": "received_date"}
_SLOT_OF["received_month"] = "received_date"


class AnswerRow(BaseModel):
    """One labelled answer."""

    ask: str
    answer: str
    today: date
    lang: Literal["zh", "en"] = "zh"
    expect: dict[str, bool | str]

    @model_validator(mode="after")
    def _one_expectation(self) -> AnswerRow:
        if len(self.expect) != 1 or next(iter(self.expect)) not in (*_SLOT_OF, "unsure"):
            raise ValueError(
                "expect must be exactly one of financial_account, role, received_date, received_month, unsure"
            )
        return self


Verdict = Literal["taken", "wrong", "missed", "not_asked"]


@dataclass
class AnswersReport:
    """Tallies of ``faqbot eval`` on an answers file."""

    verdicts: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    by_language: dict[str, Counter[str]] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: AnswerRow, verdict: Verdict, seen: dict[str, Any], line: int) -> None:
        kind = next(iter(row.expect))
        self.verdicts[verdict] += 1
        self.by_kind.setdefault(kind, Counter())[verdict] += 1
        self.by_language.setdefault(row.lang, Counter())[verdict] += 1
        if verdict != "taken":
            self.misses.append({"line": line, "answer": row.answer, "expect": row.expect, "verdict": verdict, **seen})

    def as_dict(self) -> dict[str, Any]:
        total = sum(self.verdicts.values())

        def rates(counter: Counter[str]) -> dict[str, Any]:
            n = sum(counter.values())
            return {"lines": n, **{v: round(counter[v] / n, 4) if n else None for v in ("taken", "wrong", "missed")}}

        return {
            "total": total,
            **rates(self.verdicts),
            "not_asked": self.verdicts["not_asked"],
            "by_kind": {kind: rates(counter) for kind, counter in sorted(self.by_kind.items())},
            "by_language": {lang: rates(counter) for lang, counter in sorted(self.by_language.items())},
            "misses": self.misses,
        }


def judge(row: AnswerRow, asked: Turn, answered: Turn) -> tuple[Verdict, dict[str, Any]]:
    """Whether ``answered`` took the answer with the expected value."""
    kind, value = next(iter(row.expect.items()))
    seen = {"awaiting": answered.awaiting, "intent": answered.intent, "slots": answered.slots}
    slot = _SLOT_OF.get(kind, asked.awaiting)
    if asked.awaiting is None or (kind != "unsure" and asked.awaiting != slot):
        return "not_asked", {"asked": asked.awaiting}
    if answered.intent != asked.intent:
        return "missed", seen
    got = {name: answered.slots.get(name) for name in ("financial_account", "role", "received_date", "received_month")}
    if kind == "unsure":
        filled = [name for name, got_value in got.items() if got_value is not None]
        if answered.awaiting is None and not filled:
            return "taken", seen
        return ("wrong" if filled else "missed"), seen
    if answered.awaiting is not None:
        return "missed", seen
    if got.get(kind) == value and (kind != "received_month" or got["received_date"] is None):
        return "taken", seen
    return "wrong", seen


async def evaluate_answers(engine: Engine, clock: list[date], lines: list[str], path: Path) -> AnswersReport:
    """Replay every line (of ``path``): the ask, then the answer, on a fresh conversation."""
    report = AnswersReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = AnswerRow.model_validate_json(line)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise ValueError(f"{path}:{number}: not an answer line ({where}: {first['msg']})") from None
        clock[0] = row.today
        key = f"eval-answers:{number}"
        asked = await engine.handle(key, row.ask)
        answered = await engine.handle(key, row.answer)
        verdict, seen = judge(row, asked, answered)
        report.add(row, verdict, seen, number)
    return report


def format_answers_report(report: AnswersReport) -> str:
    """Misses first, the figures last."""
    data = report.as_dict()
    lines = []
    for miss in data["misses"]:
        details = {k: v for k, v in miss.items() if k not in ("line", "answer", "expect", "verdict")}
        lines.append(
            f"  line {miss['line']}: {miss['answer']!r} expected {miss['expect']} → {miss['verdict']} {details}"
        )
    if lines:
        lines.insert(0, "not taken:")
    for kind, rates in data["by_kind"].items():
        lines.append(
            f"  {kind:18} taken {_pct(rates['taken'])}  wrong {_pct(rates['wrong'])}  ({rates['lines']} lines)"
        )
    lines.append(f"answers: {data['total']} lines ({data['not_asked']} asks that did not ask)")
    lines.append("taken: " + ", ".join(f"{lang} {_pct(r['taken'])}" for lang, r in data["by_language"].items()))
    lines.append(f"taken with the right value: {_pct(data['taken'])}")
    lines.append(f"wrong value: {_pct(data['wrong'])}")
    return "\n".join(lines)


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"

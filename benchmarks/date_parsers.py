"""Our date reader against jionlp's time parser, on the Chinese dates of the labelled sets.

Issue 9 asked whether a field library reads the dates people give for "when did you get the
card" better than our own reader (``bot.understanding.dates``). This runs both on every
Chinese line of the project's sets that says a date (answers to the follow-up question and
first messages), and on the labelled lines that say none (a date found there is a false one):

* right: the day given, or for a month (or part of one) a span inside that month and not a
  single day (a day the person never gave would be stated as fact);
* wrong: another date, or a single day for a month;
* missed: no date.

jionlp is not a dependency of the bot; install it beside it to compare
(``pip install jionlp``: 300 MB with its dictionaries). Run:
``python benchmarks/date_parsers.py [--show-misses]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.understanding.dates import Received, parse_received
from bot.understanding.normalize import fold

ROOT = Path(__file__).resolve().parent.parent
SETS = ("answers.jsonl", "questions.jsonl", "heldout.jsonl", "blind.jsonl")
DATE_SLOTS = ("received_date", "received_month", "received_range")

Span = tuple[date, date]
Reader = Callable[[str, date], Span | None]


@dataclass(frozen=True)
class Case:
    text: str
    today: date
    day: date | None  # the day given
    month: str | None  # "YYYY-MM" when only the month (or part of it) was given


@dataclass
class Score:
    right: int = 0
    wrong: int = 0
    missed: int = 0
    false_dates: int = 0
    negatives: int = 0
    seconds: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def cases(folder: Path) -> Iterator[Case]:
    """Chinese lines of the labelled sets, with the date they say (or none)."""
    for name in SETS:
        path = folder / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("lang") != "zh":
                continue
            said = row.get("expect", row.get("slots"))
            if said is None or said.get("unsure"):
                continue  # details not labelled, or a vague "last year, I think" (neither right nor wrong)
            text = row.get("answer") or row["text"]
            today = date.fromisoformat(row.get("today", "2026-11-25"))
            day = said.get("received_date")
            month = said.get("received_month")
            if not day and not month and any(slot in said for slot in DATE_SLOTS):
                continue  # a bare range: neither a day nor a month to check against
            yield Case(text, today, date.fromisoformat(day) if day else None, month)


def ours(text: str, today: date) -> Span | None:
    found = parse_received(fold(text), today)
    return (found.start, found.end) if isinstance(found, Received) else None


def jionlp_reader() -> tuple[Reader, float]:
    """jionlp's ``extract_time`` (it finds time expressions in a sentence, then parses them),
    and how long importing it took."""
    started = time.perf_counter()
    import jionlp  # type: ignore[import-not-found]

    took = time.perf_counter() - started
    logging.getLogger().setLevel(logging.CRITICAL)  # it logs a traceback for every phrase it cannot parse

    def parse(text: str, base: date) -> Span | None:
        stamp = time.mktime(datetime(base.year, base.month, base.day, 12).timetuple())
        try:
            found = jionlp.ner.extract_time(text, time_base=stamp, with_parsing=True)
        except Exception:  # it raises on some inputs; that is a miss
            return None
        for item in found:
            detail = item.get("detail", {})
            if detail.get("type") in ("time_point", "time_span"):
                try:
                    start, end = (datetime.strptime(t[:10], "%Y-%m-%d").date() for t in detail["time"][:2])
                except ValueError:  # an open-ended span ("-inf", "inf"): no date of receipt
                    continue
                return start, end
        return None

    def read(text: str, today: date) -> Span | None:
        span = parse(text, today)
        if span is not None and span[0] > today:  # our rule, given to it too: a date without a year
            span = parse(text, today - timedelta(days=365))  # is the most recent past one (lunar ones too)
        return span

    return read, took


def score(read: Reader, all_cases: list[Case]) -> Score:
    result = Score()
    for case in all_cases:
        started = time.perf_counter()
        span = read(case.text, case.today)
        result.seconds.append(time.perf_counter() - started)
        if case.day is None and case.month is None:
            result.negatives += 1
            result.false_dates += span is not None
            if span is not None:
                result.misses.append(f"false {span[0]}..{span[1]}: {case.text}")
            continue
        if span is None:
            result.missed += 1
            result.misses.append(f"missed: {case.text}")
        elif _right(case, span):
            result.right += 1
        else:
            result.wrong += 1
            result.misses.append(f"wrong {span[0]}..{span[1]}: {case.text}")
    return result


def _right(case: Case, span: Span) -> bool:
    start, end = span
    if case.day is not None:
        return start == end == case.day
    in_month = f"{start:%Y-%m}" == case.month == f"{end:%Y-%m}"
    return in_month and start != end


def report(name: str, result: Score, imported: float, show: bool) -> None:
    dated = result.right + result.wrong + result.missed
    median_ms = statistics.median(result.seconds) * 1000
    print(
        f"{name:8} dated {dated}: right {result.right} ({result.right / dated:.1%}), wrong {result.wrong}, "
        f"missed {result.missed}; no date {result.negatives}: false dates {result.false_dates}; "
        f"import {imported:.2f} s, median {median_ms:.3f} ms per line"
    )
    if show:
        for line in result.misses:
            print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="list every wrong, missed or false date")
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data", help="folder of the labelled sets")
    args = parser.parse_args()
    all_cases = list(cases(args.data))
    ours(all_cases[0].text, all_cases[0].today)  # warm: the first call compiles the patterns
    report("ours", score(ours, all_cases), 0.0, args.show_misses)
    if importlib.util.find_spec("jionlp") is None:
        print("jionlp   not installed (pip install jionlp) - not compared")
        return
    read, imported = jionlp_reader()
    read(all_cases[0].text, all_cases[0].today)
    report("jionlp", score(read, all_cases), imported, args.show_misses)


if __name__ == "__main__":
    main()

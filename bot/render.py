"""Turning a response template and slot values into the text a person reads.

Dates are written as people read them — 2026年9月1日, 1 September 2026 — and a date known
only to the month or part of a month is a range, never a day the person did not give.
"""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from bot.knowledge import KnowledgeBase, Variant
from bot.knowledge.schema import LocalContacts
from bot.messages import Language
from bot.understanding.dates import Received

_EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_PARTS = {(1, 10): ("上旬", "early"), (11, 20): ("中旬", "mid-"), (21, None): ("下旬", "late")}
_LOCAL_LABELS = {
    "bureau": ("社保局", "Social security bureau"),
    "phone": ("电话", "Phone"),
    "address": ("地址", "Address"),
    "hours": ("办公时间", "Opening hours"),
    "hr_contact": ("单位人事联系人", "HR contact"),
}


def format_date(day: date, language: Language) -> str:
    """``2026年9月1日`` or ``1 September 2026``."""
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


def format_range(start: date, end: date, language: Language) -> str:
    """A range of days, each end a whole date (read aloud or checked on its own, neither
    borrows the other's month or year): ``2026年10月1日至2026年10月31日之间`` or
    ``a day between 1 October 2026 and 31 October 2026``."""
    if start == end:
        return format_date(start, language)
    if language == "zh":
        return f"{format_date(start, language)}至{format_date(end, language)}之间"
    return f"a day between {format_date(start, language)} and {format_date(end, language)}"


def describe_received(when: Received, language: Language) -> str:
    """How the person said it: a day, a month, part of a month, or a range (in English with
    its preposition: "on 3 March 2026", "in April 2026", "between 18 February and …")."""
    described = _described(when, language)
    if language == "en":
        if when.is_day:
            return f"on {described}"
        return described if described.startswith("between") else f"in {described}"
    return described


def _described(when: Received, language: Language) -> str:
    if when.is_day:
        return format_date(when.start, language)
    start, end = when.start, when.end
    month_end = (start + relativedelta(day=31)).day
    if (start.year, start.month) == (end.year, end.month):
        part = _PARTS.get((start.day, None if end.day == month_end else end.day))
        if start.day == 1 and end.day == month_end:
            return (
                f"{start.year}年{start.month}月" if language == "zh" else f"{_EN_MONTHS[start.month - 1]} {start.year}"
            )
        if part is not None:
            zh, en = part
            if language == "zh":
                return f"{start.year}年{start.month}月{zh}"
            return f"{en}{' ' if not en.endswith('-') else ''}{_EN_MONTHS[start.month - 1]} {start.year}"
    if language == "en":
        return f"between {format_date(start, language)} and {format_date(end, language)}"
    return format_range(start, end, language)


def deadline_variables(when: Received, today: date, knowledge: KnowledgeBase, language: Language) -> dict[str, object]:
    """The deadline answer's variables: both of the source's deadlines, as days or ranges, and their status.

    A deadline day itself has not passed. With a span, a deadline whose range contains
    today may or may not have passed.
    """
    system = knowledge.system
    half_first, half_last = when.start + relativedelta(months=6), when.end + relativedelta(months=6)
    day_first, day_last = when.start + timedelta(days=300), when.end + timedelta(days=300)
    half_status, day_status = _status(half_first, half_last, today), _status(day_first, day_last, today)
    intro = "deadline_received_day" if when.is_day else "deadline_received_range"
    received = describe_received(when, language)
    return {
        "received_intro": system[intro][language].format(received=received),
        "received": received,
        "half_year": format_range(half_first, half_last, language),
        "day300": format_range(day_first, day_last, language),
        "half_year_status": system[f"status_{half_status}"][language],
        "day300_status": system[f"status_{day_status}"][language],
        "deadline_status": _overall(half_status, day_status),
        "today": format_date(today, language),
    }


def _status(first: date, last: date, today: date) -> str:
    if last < today:
        return "passed"
    if first < today:
        return "uncertain"
    return "open"


def _overall(half_year: str, day300: str) -> str:
    if "uncertain" in (half_year, day300):
        return "uncertain"
    if half_year == "passed":
        return "both_passed" if day300 == "passed" else "half_year_passed"
    return "open"


def choose_variant(variants: list[Variant], values: dict[str, object]) -> Variant:
    """The first variant whose ``when`` conditions all hold (the last has none)."""
    return next(v for v in variants if all(values.get(name) == want for name, want in v.when.items()))


def local_block(local: LocalContacts | None, knowledge: KnowledgeBase, language: Language) -> str:
    """The operator's local contacts under their header, or ``""`` when there are none."""
    if local is None:
        return ""
    lines = []
    for name, (zh, en) in _LOCAL_LABELS.items():
        value = getattr(local, name)
        if value is None:
            continue
        text = value if isinstance(value, str) else getattr(value, language)
        lines.append(f"{zh if language == 'zh' else en}{'：' if language == 'zh' else ': '}{text}")
    if not lines:
        return ""
    return "\n".join([knowledge.system["local_header"][language], *lines])

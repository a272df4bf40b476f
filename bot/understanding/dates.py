"""Reading when someone received their card, as precisely as they said it and no more.

People say a day ("2026-03-01", "七月八号", "6.18", "the 8th of August", "大前天", "10 days
ago", "国庆节那天"), a month or part of one ("今年五月", "五月底", "mid-June", "上个月"), or
a stretch around a holiday ("春节后"). A day is read as that day; anything vaguer is a
:class:`Received` span from its first to its last possible day, so that an answer can
give the deadlines as ranges and never state a day the person did not give. A date
without a year is the most recent one not after today.

Chinese numerals are read with cn2an, lunar holidays (春节, 元宵, 端午, 中秋, 重阳, 除夕)
with lunardate's Chinese calendar; both are loaded only when a message needs them.
Month arithmetic uses python-dateutil, which clamps at month end.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from bot.understanding import date_words as words


@dataclass(frozen=True)
class Received:
    """When the card was received: one day (``start == end``) or a span of possible days."""

    start: date
    end: date

    @property
    def is_day(self) -> bool:
        return self.start == self.end

    @property
    def month(self) -> str | None:
        """``"YYYY-MM"`` when the span lies within one calendar month."""
        same = (self.start.year, self.start.month) == (self.end.year, self.end.month)
        return f"{self.start:%Y-%m}" if same and not self.is_day else None

    def encode(self) -> str:
        """``"2026-04-20"`` or ``"2026-04-01/2026-04-30"`` (ISO 8601 interval), as kept in state."""
        return self.start.isoformat() if self.is_day else f"{self.start.isoformat()}/{self.end.isoformat()}"

    @classmethod
    def decode(cls, value: str) -> Received:
        start, _, end = value.partition("/")
        return cls(date.fromisoformat(start), date.fromisoformat(end or start))


@dataclass(frozen=True)
class Implausible:
    """A date that cannot be when the card was received: in the future, or many years ago."""

    reason: str  # "date_in_future" | "date_too_old"


OLDEST_YEARS = 5
"""A receiving date further back than this is asked about rather than computed."""


def day(value: date) -> Received:
    return Received(value, value)


def month_span(year: int, month: int, first: int = 1, last: int | None = None) -> Received:
    end = calendar.monthrange(year, month)[1]
    return Received(date(year, month, first), date(year, month, min(last or end, end)))


def parse_received(text: str, today: date) -> Received | Implausible | None:
    """When ``text`` (case-folded, Simplified) says the card was received, or ``None``."""
    corrections = list(words.CORRECTION.finditer(text))
    if corrections:
        text = text[corrections[-1].end() :] or text
    found = None
    for part in _receipt_first(text):
        found = _holiday(part, today) or _lunar_day(part, today)  # before numerals become digits: 五一, 初三
        if found is None:
            found = _first_reading(words.arabic_numerals(part), today)
        if found is not None:
            break
    if found is None:
        return None
    if found.start > today:
        return Implausible("date_in_future")
    if found.end < today - relativedelta(years=OLDEST_YEARS):
        return Implausible("date_too_old")
    return Received(found.start, min(found.end, today))


_NO_SUCH_DAY = Received(date.max, date.max)
"""A day that no calendar has (30 February): the message names a day, so it is not read as
its month either."""


def _first_reading(text: str, today: date) -> Received | None:
    for reader in (_full_date, _month_day, _relative_day, _ago, _month_part, _relative_span, _day_only):
        found = reader(text, today)
        if found is _NO_SUCH_DAY:
            return None
        if found is not None:
            return found
    return None


_CLAUSE_MARKS = re.compile(r"[，。;；!！?？]|,(?!\s*\d{4})|\.\s")
"""Where a clause ends (not the comma of "January 2, 2015")."""


def _receipt_first(text: str) -> list[str]:
    """The clauses of ``text`` that speak of receiving the card first, then the whole text:
    in "今天是11月25号，我10月1日领的卡" the day received is the second date."""
    parts = _CLAUSE_MARKS.split(text)
    clauses = [part for part in parts if words.RECEIPT.search(part)]
    return [*clauses, text] if 0 < len(clauses) < len(parts) else [text]


def _day_only(text: str, today: date) -> Received | None:
    """ "5号" alone: the most recent fifth of a month."""
    match = words.DAY_ONLY.search(text)
    if match is None:
        return None
    wanted = int(match.group("day"))
    for back in range(3):
        then = today - relativedelta(months=back)
        found = _valid(then.year, then.month, wanted)
        if found is not None and found <= today:
            return day(found)
    return None


def _valid(year: int, month: int, day_: int) -> date | None:
    try:
        return date(year, month, day_)
    except ValueError:
        return None


def most_recent(month: int, day_: int, today: date) -> date | None:
    """The most recent ``month``/``day_`` not after today (29 February may be years back)."""
    for year in range(today.year, today.year - 9, -1):
        found = _valid(year, month, day_)
        if found is not None and found <= today:
            return found
    return None


def _full_date(text: str, today: date) -> Received | None:
    if match := words.ISO.search(text):
        found = _valid(*(int(part) for part in match.groups()))
        return day(found) if found else _NO_SUCH_DAY
    for pattern, month_first in ((words.MONTH_DAY_YEAR, True), (words.DAY_MONTH_YEAR, False)):
        if match := pattern.search(text):
            first, second, year = match.groups()
            month, day_ = (words.MONTHS[first], int(second)) if month_first else (words.MONTHS[second], int(first))
            found = _valid(int(year), month, day_) if year else most_recent(month, day_, today)
            return day(found) if found else _NO_SUCH_DAY
    return None


def _month_day(text: str, today: date) -> Received | None:
    for pattern in (words.CHINESE_MONTH_DAY, words.DOTTED_MONTH_DAY, words.SLASH_MONTH_DAY):
        if match := pattern.search(text):
            year_word, month, day_ = match.group("year"), int(match.group("month")), int(match.group("day"))
            if year_word:
                found = _valid(words.year_of(year_word, today), month, day_)
            else:
                found = most_recent(month, day_, today)
            return day(found) if found else _NO_SUCH_DAY
    if match := words.DAY_OF_THIS_MONTH.search(text):
        found = _valid(today.year, today.month, int(match.group("day") or match.group("en")))
        return day(found) if found else None
    if match := words.DAY_OF_LAST_MONTH.search(text):
        previous = today - relativedelta(months=1)
        found = _valid(previous.year, previous.month, int(match.group("day") or match.group("en")))
        return day(found) if found else None
    return None


def _holiday(text: str, today: date) -> Received | None:
    match = words.HOLIDAY.search(text)
    if match is None:
        return None
    year_word = match.group("year") or match.group("year_after")  # 去年中秋, "Mid-Autumn last year"
    when = words.holiday_date(match.group("name"), today, words.year_of(year_word, today) if year_word else None)
    if when is None:
        return None
    offset = words.holiday_offset(match)
    return Received(when + timedelta(days=offset[0]), when + timedelta(days=offset[1]))


def _lunar_day(text: str, today: date) -> Received | None:
    match = words.LUNAR_DAY.search(text)
    if match is None:
        return None
    year_word = match.group("year")
    when = words.lunar_date(
        *words.lunar_month_day(match), today, words.year_of(year_word, today) if year_word else None
    )
    return day(when) if when else None


def _relative_day(text: str, today: date) -> Received | None:
    if match := words.WEEKDAY.search(text):
        return day(words.weekday_date(match, today))
    if match := words.RELATIVE_DAY.search(text):
        phrase = match.group()
        if phrase not in words.TODAY or words.RECEIPT.search(text) or len(text) <= len(phrase) + 4:
            return day(today - timedelta(days=words.RELATIVE_DAYS[phrase]))
    return None


def _ago(text: str, today: date) -> Received | None:
    match = words.AGO_ZH.search(text) or words.AGO_EN.search(text)
    if match is None:
        return None
    amount = words.number(match.group("n"))
    unit = words.UNITS[match.group("unit").replace("个", "").replace("多", "")]
    if unit == "fortnights":
        amount, unit = amount * 2, "weeks"
    if unit in ("days", "weeks"):
        return day(today - timedelta(**{unit: int(amount)}))
    months = int(amount * 12) if unit == "years" else int(amount)
    if months == 0:  # "半个月前": about two weeks
        return Received(today - timedelta(days=20), today - timedelta(days=10))
    then = today - relativedelta(months=months)
    return month_span(then.year, then.month)  # "two months ago": that month, not a day


def _month_part(text: str, today: date) -> Received | None:
    match = words.MONTH_ZH.search(text) or words.MONTH_EN.search(text)
    if match is None:
        return None
    month = words.month_of(match)
    year_word = match.group("year")
    if match.groupdict().get("m5"):  # "next March": the coming one
        year = today.year if month > today.month else today.year + 1
    else:
        year = words.year_of(year_word, today) if year_word else _recent_year(month, today)
    first, last = words.PARTS.get(match.group("part") or "", (1, None))
    return month_span(year, month, first, last)


def _recent_year(month: int, today: date) -> int:
    return today.year if month <= today.month else today.year - 1


def _relative_span(text: str, today: date) -> Received | None:
    match = words.RELATIVE_SPAN.search(text)
    if match is None:
        return None
    unit = words.RELATIVE_SPANS[match.group("phrase")]
    first, last = words.PARTS.get(match.group("part") or match.group("pre") or "", (1, None))
    if unit in ("month", "month_before"):
        then = today - relativedelta(months=1 if unit == "month" else 2)
        return month_span(then.year, then.month, first, last)
    if unit in ("week", "week_before"):
        monday = today - timedelta(days=today.weekday() + (7 if unit == "week" else 14))
        return Received(monday, monday + timedelta(days=6))
    if unit in ("this_month", "next_month"):
        then = today + relativedelta(months=1 if unit == "next_month" else 0)
        return month_span(then.year, then.month, first, last)
    return Received(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))  # last year

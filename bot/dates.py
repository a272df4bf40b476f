"""Reading the date someone received their card, in the ways people write it.

Chinese dates are parsed here rather than by a general date library: ``3月1日`` is read
by some libraries as day 3 of January, and relative forms (``两个月前``, ``上个月``) are
not understood at all. Month arithmetic uses python-dateutil's ``relativedelta``, which
clamps at month end (31 August + 6 months = 28/29 February).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_CHINESE_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "半": 0.5,
}
_NUMBER = (
    r"(\d{1,3}|[一二两三四五六七八九十]{1,3}|半|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
)
_ENGLISH_NUMBERS = {
    w: i
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    )
} | {"a": 1, "an": 1}

_ISO = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_CHINESE_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?")
_SLASH_MONTH_DAY = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b")
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH})\.?(?:,?\s+(\d{{4}}))?\b")
_AGO_ZH = re.compile(rf"{_NUMBER}\s*个?\s*(天|日|周|星期|礼拜|月|年)\s*(?:以前|之前|前)")
_AGO_EN = re.compile(rf"\b{_NUMBER}\s+(day|week|month|year)s?\s+ago\b")
_RELATIVE = {
    "today": relativedelta(),
    "今天": relativedelta(),
    "今日": relativedelta(),
    "yesterday": relativedelta(days=-1),
    "昨天": relativedelta(days=-1),
    "day before yesterday": relativedelta(days=-2),
    "前天": relativedelta(days=-2),
    "last week": relativedelta(weeks=-1),
    "上周": relativedelta(weeks=-1),
    "上星期": relativedelta(weeks=-1),
    "上个星期": relativedelta(weeks=-1),
    "last month": relativedelta(months=-1),
    "上个月": relativedelta(months=-1),
    "上月": relativedelta(months=-1),
    "last year": relativedelta(years=-1),
    "去年": relativedelta(years=-1),
}
_RELATIVE_PHRASE = re.compile("|".join(sorted(map(re.escape, _RELATIVE), key=len, reverse=True)))
"""The first relative phrase in the text (longest alternative first: 'day before yesterday')."""
_TODAY = frozenset({"today", "今天", "今日"})
_RECEIPT = re.compile(r"领|拿到|收到|到手|寄到|received|got|arrived|picked up|collected")
"""'Today' is the day the card was received only next to such a verb ('今天刚领的'),
or as a whole answer; in '今天还能激活吗' it is just now."""
_UNITS = {
    "天": "days",
    "日": "days",
    "周": "weeks",
    "星期": "weeks",
    "礼拜": "weeks",
    "月": "months",
    "年": "years",
    "day": "days",
    "week": "weeks",
    "month": "months",
    "year": "years",
}


def _number(token: str) -> float:
    if token.isdigit():
        return int(token)
    if token in _ENGLISH_NUMBERS:
        return _ENGLISH_NUMBERS[token]
    if token == "半":
        return 0.5
    if "十" in token:  # 十 = 10, 十二 = 12, 二十 = 20
        tens, _, ones = token.partition("十")
        return _CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(ones, 0)
    return _CHINESE_DIGITS.get(token, 0)


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _most_recent(month: int, day: int, today: date) -> date | None:
    """A date written without a year means the most recent one not after today.

    29 February may lie up to eight years back; a date no year has (30 February) is ``None``.
    """
    for year in range(today.year, today.year - 9, -1):
        found = _valid(year, month, day)
        if found is not None and found <= today:
            return found
    return None


def _ago(amount: float, unit: str, today: date) -> date:
    if amount == 0.5 and unit == "years":
        return today - relativedelta(months=6)
    if amount != int(amount):
        raise ValueError("fractional amounts only for half a year")
    return today - relativedelta(**{unit: int(amount)})


def parse_date(text: str, today: date) -> date | None:
    """The first date ``text`` mentions, or ``None``. ``text`` should be case-folded."""
    if match := _ISO.search(text):
        return _valid(*(int(part) for part in match.groups()))
    for pattern, month_first in ((_MONTH_DAY_YEAR, True), (_DAY_MONTH_YEAR, False)):
        if match := pattern.search(text):
            first, second, year = match.groups()
            month, day = (_MONTHS[first], int(second)) if month_first else (_MONTHS[second], int(first))
            return _valid(int(year), month, day) if year else _most_recent(month, day, today)
    if match := _CHINESE_MONTH_DAY.search(text):
        return _most_recent(int(match.group(1)), int(match.group(2)), today)
    for pattern in (_AGO_ZH, _AGO_EN):
        if match := pattern.search(text):
            try:
                return _ago(_number(match.group(1)), _UNITS[match.group(2)], today)
            except ValueError:
                return None
    if relative := _RELATIVE_PHRASE.search(text):
        phrase = relative.group()
        if phrase not in _TODAY or _RECEIPT.search(text) or len(text) <= len(phrase) + 4:
            return today + _RELATIVE[phrase]
    if match := _SLASH_MONTH_DAY.search(text):
        return _most_recent(int(match.group(1)), int(match.group(2)), today)
    return None


def deadlines(received: date) -> tuple[date, date]:
    """Half a year (calendar months, clamped at month end) and 300 days after ``received``."""
    return received + relativedelta(months=6), received + timedelta(days=300)

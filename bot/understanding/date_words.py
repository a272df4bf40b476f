"""The words and patterns of dates in Chinese and English, for :mod:`bot.understanding.dates`."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache

_MONTH_NAMES = [
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec"),
]  # fmt: skip
MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_SAFE_MONTH = "|".join(sorted((m for m in MONTHS if m not in ("may", "mar")), key=len, reverse=True))
"""Month names that are not also common words ("may I", "mar"): these need no context."""
_ENGLISH_NUMBERS = {
    word: n
    for n, word in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
    )
} | {"a": 1, "an": 1, "a couple of": 2, "couple of": 2, "a fortnight": 2}
_CHINESE_NUMERALS = re.compile("[零〇一二三四五六七八九十廿卅]+")
_CHINESE_YEAR_WORDS = {"今年": 0, "去年": -1, "前年": -2, "明年": 1, "this year": 0, "last year": -1, "next year": 1}
_YEAR = r"今年|去年|前年|明年|\d{4}\s*年|\d{2}\s*年"
_ORDINAL = r"(?:st|nd|rd|th)?"

ISO = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(?:the\s+)?(\d{{1,2}}){_ORDINAL}(?:,?\s+(\d{{4}}))?\b")
DAY_MONTH_YEAR = re.compile(rf"\b(?:the\s+)?(\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?({_MONTH})\.?(?:,?\s+(\d{{4}}))?\b")
CHINESE_MONTH_DAY = re.compile(
    rf"(?:(?P<year>{_YEAR})\s*的?\s*)?(?<!\d)(?P<month>1[0-2]|0?[1-9])\s*月\s*(?P<day>3[01]|[12]\d|0?[1-9])(?!\d)\s*[日号]?"
)
DOTTED_MONTH_DAY = re.compile(
    r"(?<![\d.])(?P<year>(?!))?(?P<month>1[0-2]|0?[1-9])\.(?P<day>3[01]|[12]\d|0?[1-9])(?![\d.])"
)
SLASH_MONTH_DAY = re.compile(
    r"(?<![\d/])(?P<year>(?!))?(?P<month>1[0-2]|0?[1-9])/(?P<day>3[01]|[12]\d|0?[1-9])(?![\d/])"
)
DAY_OF_LAST_MONTH = re.compile(
    r"上个?月\s*(?:的)?\s*(?P<day>3[01]|[12]\d|0?[1-9])\s*[日号]"
    rf"|\bthe\s+(?P<en>\d{{1,2}}){_ORDINAL}\s+of\s+last\s+month"
)

_PART_WORDS = {
    "初": (1, 10), "上旬": (1, 10), "头": (1, 10), "月初": (1, 10), "early": (1, 10), "beginning of": (1, 10),
    "start of": (1, 10), "the beginning of": (1, 10), "the start of": (1, 10), "中旬": (11, 20), "中": (11, 20),
    "月中": (11, 20), "mid": (11, 20), "middle of": (11, 20), "the middle of": (11, 20), "下旬": (21, None),
    "底": (21, None), "末": (21, None), "月底": (21, None), "月末": (21, None), "late": (21, None),
    "end of": (21, None), "the end of": (21, None),
}  # fmt: skip
PARTS: dict[str, tuple[int, int | None]] = _PART_WORDS
_ZH_PART = "月初|月中|月底|月末|上旬|中旬|下旬|初|底|末|头|中"
_EN_PART = (
    "the beginning of|the start of|the middle of|the end of|beginning of|start of|middle of|end of|early|mid|late"
)
MONTH_ZH = re.compile(
    rf"(?:(?P<year>{_YEAR})\s*的?\s*)?(?<![\d个])(?P<month>1[0-2]|0?[1-9])\s*月\s*份?\s*(?:的)?\s*(?P<part>{_ZH_PART})?(?!\d)"
)
MONTH_EN = re.compile(
    rf"(?:\b(?P<part>{_EN_PART})[\s-]*(?:in\s+)?(?P<m1>{_MONTH})\b|\b(?P<m4>may|mar)(?=\s+(?:last|this) year|\s+\d{{4}})"
    rf"|\bnext\s+(?P<m5>{_MONTH})\b"
    rf"|\b(?:in|since|around|last|this|of|during)\s+(?P<m2>{_MONTH})\b|\b(?P<m3>{_SAFE_MONTH})\b)"
    r"(?:\s+(?:of\s+)?(?P<year>\d{4}|this year|last year|next year))?"
)

RELATIVE_DAYS = {"今天": 0, "今日": 0, "today": 0, "昨天": 1, "昨日": 1, "琴日": 1, "寻日": 1, "yesterday": 1,
                 "前天": 2, "前日": 2, "day before yesterday": 2, "the day before yesterday": 2, "大前天": 3,
                 "大前日": 3}  # fmt: skip
RELATIVE_DAY = re.compile("|".join(sorted(map(re.escape, RELATIVE_DAYS), key=len, reverse=True)))
TODAY = frozenset({"today", "今天", "今日"})
RECEIPT = re.compile(r"领|拿到|收到|到手|寄到|received|got|arrived|picked up|collected")
"""'Today' is the day the card was received only next to such a verb ('今天刚领的'),
or as a whole answer; in '今天还能激活吗' it is just now."""

RELATIVE_SPANS = {"上上个月": "month_before", "上上月": "month_before", "上上周": "week_before",
                  "上上星期": "week_before", "上上个星期": "week_before", "上上个礼拜": "week_before",
                  "上个月": "month", "上月": "month", "last month": "month", "上周": "week", "上星期": "week",
                  "上个星期": "week", "上礼拜": "week", "上个礼拜": "week", "last week": "week",
                  "这个月": "this_month", "本月": "this_month", "this month": "this_month", "下个月": "next_month",
                  "下月": "next_month", "next month": "next_month", "去年": "year",
                  "last year": "year"}  # fmt: skip
RELATIVE_SPAN = re.compile(
    rf"(?:(?P<pre>{_EN_PART})\s+)?(?P<phrase>{'|'.join(sorted(map(re.escape, RELATIVE_SPANS), key=len, reverse=True))})"
    rf"\s*(?P<part>{_ZH_PART})?"
)

UNITS = {"fortnight": "fortnights", "天": "days", "日": "days", "周": "weeks", "星期": "weeks", "礼拜": "weeks", "个月": "months",
         "个多月": "months", "月": "months", "年": "years", "day": "days", "week": "weeks", "month": "months",
         "year": "years"}  # fmt: skip
AGO_ZH = re.compile(
    r"(?P<n>\d+|半|两)\s*(?P<unit>天|日|周|个?星期|个?礼拜|个多月|个月|年)\s*(?:多)?\s*(?:以前|之前|前)"
)
AGO_EN = re.compile(
    r"\b(?P<n>\d+|a couple of|couple of|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"\s+(?P<unit>day|week|fortnight|month|year)s?\s+ago\b"
)
DAY_OF_THIS_MONTH = re.compile(
    rf"(?:这个月|本月|this month)[^0-9]{{0,12}}?(?P<day>3[01]|[12]\d|0?[1-9]){_ORDINAL}\s*(?:[日号]|\b)"
    rf"|\b(?:on )?the (?P<en>3[01]|[12]\d|0?[1-9]){_ORDINAL}\b[^.]{{0,12}}this month"
)
DAY_ONLY = re.compile(r"(?<![\d月./-])(?P<day>3[01]|[12]\d|0?[1-9])\s*[号日]")
"""A day of the month alone ("5号"): the most recent such day."""
CORRECTION = re.compile(r"no wait|sorry,? i mean|i mean|actually|不对|说错了|哦不|不是[^，,]{0,8}是")
"""A correction: the date after it is the one meant ("Oct 1st — no wait, Oct 2nd")."""
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "1": 0, "2": 1, "3": 2,
                "4": 3, "5": 4, "6": 5, "7": 6}  # fmt: skip
_WEEKDAYS_EN = {
    name: n for n, name in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
}
WEEKDAY = re.compile(
    r"(?P<zrel>上个?|这个?|本)?(?:周|星期|礼拜)(?P<zday>[一二三四五六日天1-7])"
    rf"|\b(?P<erel>last|this|on)?\s*(?P<eday>{'|'.join(_WEEKDAYS_EN)})\b(?P<eafter>\s+(?:of\s+)?last week)?"
)

_HOLIDAY_NAMES = {
    "元旦": ("fixed", 1, 1), "new year's day": ("fixed", 1, 1), "new years day": ("fixed", 1, 1),
    "五一": ("fixed", 5, 1), "劳动节": ("fixed", 5, 1), "labour day": ("fixed", 5, 1), "labor day": ("fixed", 5, 1),
    "may day": ("fixed", 5, 1), "国庆节": ("fixed", 10, 1), "国庆": ("fixed", 10, 1), "national day": ("fixed", 10, 1),
    "圣诞节": ("fixed", 12, 25), "圣诞": ("fixed", 12, 25), "christmas": ("fixed", 12, 25),
    "平安夜": ("fixed", 12, 24), "christmas eve": ("fixed", 12, 24), "儿童节": ("fixed", 6, 1),
    "六一": ("fixed", 6, 1), "children's day": ("fixed", 6, 1), "妇女节": ("fixed", 3, 8),
    "情人节": ("fixed", 2, 14), "valentine's day": ("fixed", 2, 14), "双十一": ("fixed", 11, 11),
    "春节": ("lunar", 1, 1), "大年初一": ("lunar", 1, 1), "过年": ("season", 1, 1), "chinese new year": ("lunar", 1, 1),
    "lunar new year": ("lunar", 1, 1), "spring festival": ("lunar", 1, 1), "除夕": ("eve", 1, 1),
    "元宵节": ("lunar", 1, 15), "元宵": ("lunar", 1, 15), "lantern festival": ("lunar", 1, 15),
    "端午节": ("lunar", 5, 5), "端午": ("lunar", 5, 5), "dragon boat festival": ("lunar", 5, 5),
    "中秋节": ("lunar", 8, 15), "中秋": ("lunar", 8, 15), "mid-autumn festival": ("lunar", 8, 15),
    "mid autumn festival": ("lunar", 8, 15), "mid-autumn": ("lunar", 8, 15), "mid autumn": ("lunar", 8, 15),
    "moon festival": ("lunar", 8, 15), "重阳节": ("lunar", 9, 9),
}  # fmt: skip
HOLIDAY_OFFSETS = {"": (0, 0), "那天": (0, 0), "当天": (0, 0), "on": (0, 0), "前后": (-7, 7), "左右": (-7, 7),
                   "期间": (0, 6), "假期": (0, 6), "around": (-7, 7), "during": (0, 6), "前": (-30, -1),
                   "之前": (-30, -1), "以前": (-30, -1), "before": (-30, -1), "后": (1, 30), "之后": (1, 30),
                   "以后": (1, 30), "after": (1, 30), "前一天": (-1, -1), "前1天": (-1, -1), "后一天": (1, 1),
                   "后1天": (1, 1), "第二天": (1, 1), "the day before": (-1, -1), "the day after": (1, 1)}  # fmt: skip
_HOLIDAY = "|".join(sorted(map(re.escape, _HOLIDAY_NAMES), key=len, reverse=True))
HOLIDAY = re.compile(
    rf"(?:(?P<pre>the day before|the day after|around|during|before|after|on)\s+(?:the\s+)?)?"
    rf"(?:(?P<year>{_YEAR})\s*的?\s*)?(?P<name>{_HOLIDAY})(?:\s+(?P<year_after>last year|this year))?"
    r"\s*(?P<post>前一天|前1天|后一天|后1天|第二天|前后|左右|那天|当天|期间|假期|之前|以前|之后|以后|前|后)?"
)


SEASON_SPAN = (-1, 6)
"""过年 is the holiday season, not a day: from the eve (除夕) to the seventh day (初七)."""


def holiday_offset(match: re.Match[str]) -> tuple[int, int]:
    """The span around the holiday the words give: the day itself, before, after, around."""
    offset = HOLIDAY_OFFSETS[match.group("pre") or match.group("post") or ""]
    if offset == (0, 0) and _HOLIDAY_NAMES[match.group("name")][0] == "season":
        return SEASON_SPAN
    return offset


_LUNAR_MONTHS = {"正": 1, "冬": 11, "腊": 12, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
                 "九": 9, "十": 10, "十一": 11, "十二": 12}  # fmt: skip
_LUNAR_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_LUNAR_DAY = "初[一二三四五六七八九十]|十[一二三四五六七八九]|二十[一二三四五六七八九]?|廿[一二三四五六七八九]|三十"
LUNAR_DAY = re.compile(
    rf"(?:(?P<year>{_YEAR})\s*的?\s*)?"
    rf"(?:(?:农历|阴历)(?P<m1>十[一二]|[正冬腊一二三四五六七八九十])月(?P<d1>{_LUNAR_DAY}|十)"
    rf"|(?P<m2>[正冬腊])月(?P<d2>{_LUNAR_DAY}|十)"
    r"|大年(?P<d3>初[一二三四五六七八九十])"
    rf"|(?P<m4>十[一二]|[一二三四五六七八九十])月(?P<d4>初[一二三四五六七八九十]|廿[一二三四五六七八九]))"
)
"""A day of the Chinese calendar: 正月初三, 大年初五, 腊月二十八, 农历八月十六, 三月初三 —
said so (农历), by a lunar month's name (正, 冬, 腊) or a lunar day's form (初, 廿); 八月十五
alone stays a day of the Gregorian calendar."""


def lunar_month_day(match: re.Match[str]) -> tuple[int, int]:
    """The (month, day) of the Chinese calendar a :data:`LUNAR_DAY` match names."""
    groups = match.groupdict()
    month_word = next((groups[g] for g in ("m1", "m2", "m4") if groups.get(g)), "正")
    day_word = next(groups[g] for g in ("d1", "d2", "d3", "d4") if groups.get(g))
    return _LUNAR_MONTHS[month_word], _lunar_day_number(day_word)


def _lunar_day_number(word: str) -> int:
    if word.startswith("初"):
        return _LUNAR_DIGITS[word[1:]]
    if word.startswith("廿"):
        return 20 + _LUNAR_DIGITS[word[1:]]
    tens, _, units = word.partition("十")
    return (_LUNAR_DIGITS[tens] if tens else 1) * 10 + (_LUNAR_DIGITS[units] if units else 0)


def lunar_date(month: int, day_: int, today: date, year: int | None = None) -> date | None:
    """``month``/``day_`` of the Chinese calendar in lunar ``year``, or the most recent one
    not after ``today``; 腊月三十 in a year whose 腊月 has 29 days is its last day (除夕, as
    people say it). ``None`` when there is no such day."""
    for candidate in (year,) if year is not None else (today.year, today.year - 1, today.year - 2):
        when = _lunar_day_of(candidate, month, day_)
        if when is not None and (year is not None or when <= today):
            return when
    return None


def _lunar_day_of(year: int, month: int, day_: int) -> date | None:
    try:
        return _lunar_to_solar(year, month, day_)
    except ValueError:
        if month == 12 and day_ == 30:
            return _lunar_day_of(year, 12, 29)
        return None


@cache
def _lunar_to_solar(year: int, month: int, day_: int) -> date:
    import lunardate

    solar: date = lunardate.LunarDate(year, month, day_).to_solar_date()
    return solar


def holiday_date(name: str, today: date, year: int | None) -> date | None:
    """The day of holiday ``name`` in ``year``, or its most recent one not after ``today``."""
    kind, month, day_ = _HOLIDAY_NAMES[name]
    for candidate in (year,) if year is not None else (today.year, today.year - 1):
        if kind == "fixed":
            when = date(candidate, month, day_)
        else:
            when = _lunar_to_solar(candidate, month, day_) - timedelta(days=1 if kind == "eve" else 0)
        if year is not None or when <= today:
            return when
    return None


def weekday_date(match: re.Match[str], today: date) -> date:
    """上周三 / last Wednesday: that weekday of the previous (Monday-based) week; 周三 alone: the most recent."""
    if match.group("zday"):
        weekday, relative = _WEEKDAYS_ZH[match.group("zday")], (match.group("zrel") or "")
        last = relative.startswith("上")
    else:
        weekday, relative = _WEEKDAYS_EN[match.group("eday")], (match.group("erel") or "")
        last = relative == "last" or bool(match.group("eafter"))  # "Monday last week"
    monday = today - timedelta(days=today.weekday())
    if last:
        return monday - timedelta(days=7) + timedelta(days=weekday)
    this_week = monday + timedelta(days=weekday)
    return this_week if this_week <= today else this_week - timedelta(days=7)


def year_of(word: str, today: date) -> int:
    """``2026年`` / ``26年`` / ``今年`` / ``last year`` → the year."""
    word = word.strip()
    if word in _CHINESE_YEAR_WORDS:
        return today.year + _CHINESE_YEAR_WORDS[word]
    number = int(word.rstrip("年").strip())
    return number + 2000 if number < 100 else number


def month_of(match: re.Match[str]) -> int:
    """The month a :data:`MONTH_ZH` / :data:`MONTH_EN` match names."""
    name = match.group("month") if "month" in match.groupdict() else None
    groups = match.groupdict()
    name = name or next(groups[g] for g in ("m1", "m2", "m3", "m4", "m5") if groups.get(g))
    return int(name) if name.isdigit() else MONTHS[name]


def number(token: str) -> float:
    """``"3"``, ``"两"``, ``"半"``, ``"three"``, ``"a couple of"`` → the number."""
    if token.isdigit():
        return int(token)
    return {"两": 2, "半": 0.5}.get(token) or _ENGLISH_NUMBERS.get(token, 0)


def arabic_numerals(text: str) -> str:
    """Chinese numerals in ``text`` as Arabic digits (七月八号 → 7月8号), with cn2an."""
    if not _CHINESE_NUMERALS.search(text):
        return text
    import warnings

    import cn2an

    with warnings.catch_warnings():  # cn2an warns about numerals it leaves as they are
        warnings.simplefilter("ignore")
        try:
            return str(cn2an.transform(text, "cn2an"))
        except (ValueError, KeyError, IndexError):  # cn2an rejects some odd mixtures; keep the text
            return text


_DIGITS = "一二三四五六七八九"


def _chinese_number(n: int) -> str:
    """1-31 in Chinese numerals (十一, 二十, 三十一)."""
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens - 1] + "十")
    return head + (_DIGITS[units - 1] if units else "")


def vocabulary() -> list[str]:
    """The Chinese this module reads, as phrases: what pinyin input is decoded into (see
    :mod:`bot.understanding.ime`), so that "shang ge yue" or "qi yue ershi hao" can be read."""
    numbers = [_chinese_number(n) for n in range(1, 32)]
    words = [*RELATIVE_DAYS, *RELATIVE_SPANS, *_CHINESE_YEAR_WORDS, *_PART_WORDS, *UNITS, *_HOLIDAY_NAMES]
    phrases = [w for w in words if w and not w.isascii()]
    # Days once each (a number of 1-31 before 号 or 日, in words or digits), not every day:
    # the decoder weighs how often a character comes, and 号 must not outweigh 好 ("hao de").
    phrases += [f"{n}月" for n in numbers[:12]] + [f"{n}{unit}" for n in ("十", "二十", "三十") for unit in "号日"]
    phrases += ["1号", "1日"] + [f"{n}月" for n in range(1, 13)]
    phrases += [f"{n}{unit}前" for n in numbers[:12] for unit in ("天", "周", "个月", "年")]
    phrases += [f"{prefix}{d}" for prefix in ("星期", "礼拜", "周") for d in "一二三四五六日天"]
    phrases += [f"初{n}" for n in numbers[:10]] + ["正月", "腊月", "冬月", "农历", "领的卡", "拿到的", "收到的"]
    return phrases

"""When the card was received, as precisely as people say it and no more.

A day is read as that day; a month, part of a month, a week or a holiday stretch is a
span from its first to its last possible day (never after today); a date without a year
is the most recent one not after today; a date in the future or many years back is
implausible. Today is 2026-11-25 (a Wednesday) unless a test says otherwise. Properties
on generated dates and texts: ``test_date_properties.py``.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.understanding.dates import OLDEST_YEARS, Implausible, Received
from tests.support import TODAY, day, span
from tests.support import read_date as read

# -- days --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", "2026-03-01"),
        ("2026/3/1", "2026-03-01"),
        ("2026.3.1", "2026-03-01"),
        ("２０２６－０３－０１", "2026-03-01"),  # full-width
        ("2026年3月1日", "2026-03-01"),
        ("2026年3月1號", "2026-03-01"),  # Traditional
        ("二〇二六年三月一日", "2026-03-01"),  # Chinese numerals
        ("26年3月1日", "2026-03-01"),
        ("去年3月1日", "2025-03-01"),
        ("March 1, 2026", "2026-03-01"),
        ("march 1 2026", "2026-03-01"),
        ("1st March 2025", "2025-03-01"),
        ("the 8th of August 2025", "2025-08-08"),
        ("我是2025年12月31日拿到的", "2025-12-31"),
        ("I got it on 2025-11-02, I think", "2025-11-02"),
    ],
)
def test_a_day_with_a_year(text: str, expected: str) -> None:
    assert read(text) == day(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("七月八号", "2026-07-08"),
        ("7月8日", "2026-07-08"),
        ("6.18", "2026-06-18"),  # month.day
        ("6/18", "2026-06-18"),
        ("Aug. 8", "2026-08-08"),
        ("the 8th of August", "2026-08-08"),
        ("March 3rd", "2026-03-03"),
        ("3 may", "2026-05-03"),
        ("11月25日", "2026-11-25"),  # today itself
        ("11月26日", "2025-11-26"),  # tomorrow's date means last year's
        ("12月31日", "2025-12-31"),
        ("Feb 29", "2024-02-29"),  # the most recent 29 February
        ("2月29日", "2024-02-29"),
    ],
)
def test_a_day_without_a_year_is_the_most_recent_one(text: str, expected: str) -> None:
    assert read(text) == day(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", "2026-11-25"),
        ("today", "2026-11-25"),
        ("今天刚领的", "2026-11-25"),
        ("昨天", "2026-11-24"),
        ("琴日", "2026-11-24"),  # Cantonese
        ("yesterday", "2026-11-24"),
        ("前天", "2026-11-23"),
        ("the day before yesterday", "2026-11-23"),
        ("大前天", "2026-11-22"),
        ("三天前", "2026-11-22"),
        ("10 days ago", "2026-11-15"),
        ("twelve days ago", "2026-11-13"),
        ("a couple of days ago", "2026-11-23"),
        ("两周前拿到的", "2026-11-11"),
        ("两个礼拜前", "2026-11-11"),
        ("1个星期前", "2026-11-18"),
        ("a week ago", "2026-11-18"),
        ("a fortnight ago", "2026-11-11"),
        ("上周三", "2026-11-18"),
        ("last wednesday", "2026-11-18"),
        ("周一", "2026-11-23"),  # the most recent Monday
        ("on monday", "2026-11-23"),
        ("周三", "2026-11-25"),  # today is a Wednesday
        ("星期日", "2026-11-22"),
        ("这个月3号", "2026-11-03"),
        ("本月15日", "2026-11-15"),
        ("this month on the 3rd", "2026-11-03"),
        ("上个月5号", "2026-10-05"),
        ("the 5th of last month", "2026-10-05"),
        ("国庆节那天领的", "2026-10-01"),
        ("元旦", "2026-01-01"),
        ("christmas eve", "2025-12-24"),  # this year's is still to come
    ],
)
def test_relative_days_and_fixed_holidays(text: str, expected: str) -> None:
    assert read(text) == day(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("春节", "2026-02-17"),
        ("spring festival", "2026-02-17"),
        ("除夕", "2026-02-16"),  # the eve of the lunar new year
        ("元宵节", "2026-03-03"),
        ("端午节", "2026-06-19"),
        ("dragon boat festival", "2026-06-19"),
        ("中秋节", "2026-09-25"),
        ("on Mid-Autumn Festival", "2026-09-25"),
        ("重阳节", "2026-10-18"),
        ("去年中秋", "2025-10-06"),
        ("2025年春节", "2025-01-29"),
    ],
)
def test_lunar_holidays_come_from_the_chinese_calendar(text: str, expected: str) -> None:
    assert read(text) == day(expected)


def test_a_holiday_still_to_come_this_year_is_last_years() -> None:
    assert read("春节", today=date(2026, 2, 1)) == day("2025-01-29")
    assert read("中秋", today=date(2026, 9, 24)) == day("2025-10-06")


@pytest.mark.parametrize(
    ("text", "expected"), [("五一那天领的", "2026-05-01"), ("六一", "2026-06-01"), ("大年初一", "2026-02-17")]
)
def test_holidays_written_with_numerals(text: str, expected: str) -> None:
    assert read(text) == day(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("正月初三领的卡", "2026-02-19"),
        ("大年初五", "2026-02-21"),
        ("腊月二十八拿到的", "2026-02-15"),  # the twelfth month of the lunar year 2025
        ("臘月廿八", "2026-02-15"),
        ("农历八月十六", "2026-09-26"),
        ("冬月初十", "2025-12-29"),
        ("三月初三", "2026-04-19"),  # a lunar day's form (初) makes the month lunar
        ("正月十五", "2026-03-03"),
    ],
)
def test_days_of_the_chinese_calendar(text: str, expected: str) -> None:
    assert read(text) == day(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2023年正月初三领的", "2023-01-24"), ("去年正月初三领的", "2025-01-31"), ("23年腊月二十八", "2024-02-07")],
)
def test_a_lunar_day_with_its_year(text: str, expected: str) -> None:
    assert read(text) == day(expected)


def test_the_thirtieth_of_a_short_twelfth_month_is_its_last_day() -> None:
    assert read("腊月三十领的", today=date(2026, 3, 10)) == day("2026-02-16")  # 除夕: 腊月 of 2025 had 29 days


def test_gregorian_unless_the_words_say_lunar() -> None:
    assert read("八月十五") == day("2026-08-15")
    assert read("初三领的卡") is None  # the third of which month? asked, not guessed


@pytest.mark.parametrize(
    ("text", "expected"),
    [("中秋节前一天领的", "2026-09-24"), ("春节第二天", "2026-02-18"), ("the day after national day", "2026-10-02")],
)
def test_the_day_before_or_after_a_holiday(text: str, expected: str) -> None:
    assert read(text) == day(expected)


@pytest.mark.parametrize(
    ("text", "expected"), [("the 10th of this month", "2026-11-10"), ("this month, on the 2nd", "2026-11-02")]
)
def test_a_day_of_this_month(text: str, expected: str) -> None:
    assert read(text) == day(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mid-Autumn last year", "2025-10-06"),
        ("Monday last week", "2026-11-16"),
        ("Chinese New Year this year", "2026-02-17"),
    ],
)
def test_the_year_or_week_said_after(text: str, expected: str) -> None:
    assert read(text) == day(expected)


def test_the_new_year_season_is_a_span_not_a_day() -> None:
    assert read("过年走亲戚那几天拿的卡") == span("2026-02-16", "2026-02-23")


# -- spans -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("今年五月", "2026-05-01", "2026-05-31"),
        ("今年五月份", "2026-05-01", "2026-05-31"),
        ("2025年5月", "2025-05-01", "2025-05-31"),
        ("25年5月", "2025-05-01", "2025-05-31"),
        ("十月", "2026-10-01", "2026-10-31"),
        ("12月", "2025-12-01", "2025-12-31"),  # December has not come yet this year
        ("in may", "2026-05-01", "2026-05-31"),
        ("march", "2026-03-01", "2026-03-31"),
        ("June 2025", "2025-06-01", "2025-06-30"),
        ("二月", "2026-02-01", "2026-02-28"),
    ],
)
def test_a_month_is_a_span(text: str, first: str, last: str) -> None:
    found = read(text)
    assert found == span(first, last)
    assert isinstance(found, Received) and not found.is_day and found.month == first[:7]


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("五月初", "2026-05-01", "2026-05-10"),
        ("5月上旬", "2026-05-01", "2026-05-10"),
        ("五月中旬", "2026-05-11", "2026-05-20"),
        ("5月下旬", "2026-05-21", "2026-05-31"),
        ("五月底吧", "2026-05-21", "2026-05-31"),
        ("二月底", "2026-02-21", "2026-02-28"),
        ("early August", "2026-08-01", "2026-08-10"),
        ("the beginning of June", "2026-06-01", "2026-06-10"),
        ("mid-June", "2026-06-11", "2026-06-20"),
        ("late may", "2026-05-21", "2026-05-31"),
        ("end of march", "2026-03-21", "2026-03-31"),
        ("上个月", "2026-10-01", "2026-10-31"),
        ("last month", "2026-10-01", "2026-10-31"),
        ("上个月底", "2026-10-21", "2026-10-31"),
        ("end of last month", "2026-10-21", "2026-10-31"),
        ("mid last month", "2026-10-11", "2026-10-20"),
        ("本月初", "2026-11-01", "2026-11-10"),
        ("early this month", "2026-11-01", "2026-11-10"),
        ("这个月", "2026-11-01", "2026-11-25"),  # never after today
        ("这个月底", "2026-11-21", "2026-11-25"),
        ("上周", "2026-11-16", "2026-11-22"),  # Monday to Sunday
        ("last week", "2026-11-16", "2026-11-22"),
        ("上个礼拜", "2026-11-16", "2026-11-22"),
        ("去年", "2025-01-01", "2025-12-31"),
        ("last year", "2025-01-01", "2025-12-31"),
    ],
)
def test_parts_of_months_weeks_and_years_are_spans(text: str, first: str, last: str) -> None:
    assert read(text) == span(first, last)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("两个月前", "2026-09-01", "2026-09-30"),  # that month, not a day
        ("two months ago", "2026-09-01", "2026-09-30"),
        ("a couple of months ago", "2026-09-01", "2026-09-30"),
        ("3个多月前", "2026-08-01", "2026-08-31"),
        ("半年前", "2026-05-01", "2026-05-31"),
        ("一年前", "2025-11-01", "2025-11-30"),
        ("a year ago", "2025-11-01", "2025-11-30"),
        ("半个月前", "2026-11-05", "2026-11-15"),  # about two weeks
    ],
)
def test_months_ago_are_spans(text: str, first: str, last: str) -> None:
    assert read(text) == span(first, last)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("国庆节前后", "2026-09-24", "2026-10-08"),
        ("around national day", "2026-09-24", "2026-10-08"),
        ("国庆期间", "2026-10-01", "2026-10-07"),
        ("during national day", "2026-10-01", "2026-10-07"),
        ("国庆之后", "2026-10-02", "2026-10-31"),
        ("春节后", "2026-02-18", "2026-03-19"),
        ("春节前", "2026-01-18", "2026-02-16"),
        ("before chinese new year", "2026-01-18", "2026-02-16"),
        ("中秋以前", "2026-08-26", "2026-09-24"),
        ("after christmas", "2025-12-26", "2026-01-24"),
    ],
)
def test_holiday_stretches_are_spans(text: str, first: str, last: str) -> None:
    assert read(text) == span(first, last)


@pytest.mark.parametrize(
    ("text", "first", "last"), [("五月中", "2026-05-11", "2026-05-20"), ("上个月中", "2026-10-11", "2026-10-20")]
)
def test_the_middle_of_a_month_said_shortly(text: str, first: str, last: str) -> None:
    assert read(text) == span(first, last)


def test_the_week_before_last() -> None:
    assert read("上上周") == span("2026-11-09", "2026-11-15")


# Every other word of bot/understanding/date_words.py, each once: (text, first day, last day).
EVERY_WORD = [
    ("今日", "2026-11-25", None), ("昨日", "2026-11-24", None), ("寻日", "2026-11-24", None),
    ("前日", "2026-11-23", None), ("大前日", "2026-11-22", None), ("3日前", "2026-11-22", None),
    ("上个周三", "2026-11-18", None), ("这周一", "2026-11-23", None), ("本周一", "2026-11-23", None),
    ("this monday", "2026-11-23", None), ("礼拜二", "2026-11-24", None), ("星期天", "2026-11-22", None),
    ("i mean march 3", "2026-03-03", None), ("march 1 actually march 2", "2026-03-02", None),
    ("new year's day", "2026-01-01", None), ("new years day", "2026-01-01", None), ("劳动节", "2026-05-01", None),
    ("labour day", "2026-05-01", None), ("labor day", "2026-05-01", None), ("may day", "2026-05-01", None),
    ("圣诞节", "2025-12-25", None), ("圣诞", "2025-12-25", None), ("christmas", "2025-12-25", None),
    ("平安夜", "2025-12-24", None), ("儿童节", "2026-06-01", None), ("children's day", "2026-06-01", None),
    ("妇女节", "2026-03-08", None), ("情人节", "2026-02-14", None), ("valentine's day", "2026-02-14", None),
    ("过年", "2026-02-16", "2026-02-23"), ("chinese new year", "2026-02-17", None), ("lunar new year", "2026-02-17", None),
    ("元宵", "2026-03-03", None), ("lantern festival", "2026-03-03", None), ("端午", "2026-06-19", None),
    ("mid autumn festival", "2026-09-25", None), ("moon festival", "2026-09-25", None), ("国庆当天", "2026-10-01", None),
    ("国庆左右", "2026-09-24", "2026-10-08"), ("国庆假期", "2026-10-01", "2026-10-07"),
    ("国庆之前", "2026-09-01", "2026-09-30"), ("国庆以后", "2026-10-02", "2026-10-31"),
    ("五月头", "2026-05-01", "2026-05-10"), ("5月月初", "2026-05-01", "2026-05-10"), ("5月月中", "2026-05-11", "2026-05-20"),
    ("五月末", "2026-05-21", "2026-05-31"), ("5月月底", "2026-05-21", "2026-05-31"), ("5月月末", "2026-05-21", "2026-05-31"),
    ("the start of June", "2026-06-01", "2026-06-10"), ("start of june", "2026-06-01", "2026-06-10"),
    ("the middle of June", "2026-06-11", "2026-06-20"), ("middle of june", "2026-06-11", "2026-06-20"),
    ("june last year", "2025-06-01", "2025-06-30"), ("in may last year", "2025-05-01", "2025-05-31"),
    ("march of 2025", "2025-03-01", "2025-03-31"), ("上月", "2026-10-01", "2026-10-31"),
    ("上星期", "2026-11-16", "2026-11-22"), ("上礼拜", "2026-11-16", "2026-11-22"), ("1年前", "2025-11-01", "2025-11-30"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "first", "last"), EVERY_WORD)
def test_every_date_word(text: str, first: str, last: str | None) -> None:
    assert read(text) == span(first, last or first)


def test_a_span_reaching_past_today_ends_today() -> None:
    assert read("五月底", today=date(2026, 5, 25)) == span("2026-05-21", "2026-05-25")
    assert read("春节后", today=date(2026, 2, 20)) == span("2026-02-18", "2026-02-20")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10月1日 不对 10月2日", day("2026-10-02")),
        ("10月1日，说错了，是10月2日", day("2026-10-02")),
        ("不是10月1日是10月2日", day("2026-10-02")),
        ("Oct 1st no wait Oct 2nd", day("2026-10-02")),
        ("March 3, sorry I mean March 4", day("2026-03-04")),
        ("五月，哦不，六月", span("2026-06-01", "2026-06-30")),
    ],
)
def test_a_correction_keeps_the_date_after_it(text: str, expected: Received) -> None:
    assert read(text) == expected


# -- implausible and absent ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-12-20", "明年三月", "今年12月", "明年春节", "December 1, 2026"])
def test_a_date_in_the_future_is_implausible(text: str) -> None:
    assert read(text) == Implausible("date_in_future")


@pytest.mark.parametrize("text", ["2019-01-01", "20 years ago", "2000天前", "2020年5月"])
def test_a_date_many_years_back_is_implausible(text: str) -> None:
    assert read(text) == Implausible("date_too_old")


def test_the_oldest_plausible_date() -> None:
    oldest = TODAY.replace(year=TODAY.year - OLDEST_YEARS)
    assert read(oldest.isoformat()) == Received(oldest, oldest)
    assert read((oldest - timedelta(days=1)).isoformat()) == Implausible("date_too_old")


NO_DATE = [
    "", "不确定", "not sure", "社保卡怎么激活", "I lost it", "第3条", "12333", "明天", "tomorrow", "2020年",
    "may I ask something",  # "may" needs context to be a month
    "今天还能激活吗",  # 'today' is now, not the day the card came
    "2月30日", "2026-02-30", "2026-13-01", "0月5日",  # no such day
]  # fmt: skip


@pytest.mark.parametrize("text", NO_DATE)
def test_text_without_a_receiving_date(text: str) -> None:
    assert read(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("去年的卡今天还能激活吗", span("2025-01-01", "2025-12-31")),
        ("昨天领的，今天能激活吗", day("2026-11-24")),
        ("我今天刚领的卡", day("2026-11-25")),
    ],
)
def test_today_is_the_receiving_day_only_when_it_is(text: str, expected: Received) -> None:
    assert read(text) == expected


def test_received_encodes_as_an_iso_day_or_interval() -> None:
    assert day("2026-04-20").encode() == "2026-04-20"
    assert span("2026-04-01", "2026-04-30").encode() == "2026-04-01/2026-04-30"
    for value in (day("2026-04-20"), span("2026-04-01", "2026-04-30"), span("2025-12-20", "2026-01-10")):
        assert Received.decode(value.encode()) == value
    assert span("2025-12-20", "2026-01-10").month is None
    assert day("2026-04-20").month is None

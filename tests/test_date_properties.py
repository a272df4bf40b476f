"""Properties of the date parser on generated dates and texts (hypothesis).

A written day is read, or judged implausible when it is in the future or many years back;
a day without a year never lies ahead; a month is the whole month up to today; no text
crashes the parser, and nothing it reads lies after today.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.understanding.dates import OLDEST_YEARS, Implausible, Received
from tests.support import read_date as read

PROPERTY = settings(max_examples=150, deadline=None)

_WITH_YEAR = [
    lambda d: f"我是{d.isoformat()}领的卡",
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"大概{d.year}.{d.month}.{d.day}吧",
    lambda d: f"我是{d.year}年{d.month}月{d.day}日领的卡",
    lambda d: f"I got it on {d.strftime('%B')} {d.day}, {d.year}.",
    lambda d: f"received {d.day} {d.strftime('%b')} {d.year}",
]


@PROPERTY
@given(
    st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    st.sampled_from(_WITH_YEAR),
)
def test_a_written_day_is_read_or_judged_implausible(written: date, today: date, style) -> None:  # type: ignore[no-untyped-def]
    found = read(style(written), today)
    if written > today:
        assert found == Implausible("date_in_future")
    elif written < today - relativedelta(years=OLDEST_YEARS):
        assert found == Implausible("date_too_old")
    else:
        assert found == Received(written, written)


@PROPERTY
@given(
    st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(1, 12),
    st.integers(1, 31),
    st.sampled_from(["{m}月{d}日", "{m}月{d}号", "{month} {d}", "{d} {month}", "{m}/{d}", "{m}.{d}"]),
)
def test_a_day_without_a_year_is_never_in_the_future(today: date, month: int, dd: int, pattern: str) -> None:
    text = pattern.format(m=month, d=dd, month=date(2000, month, 1).strftime("%B"))
    found = read(text, today)
    assert not isinstance(found, Implausible) or found.reason == "date_too_old"
    if isinstance(found, Received):
        assert found.end <= today and found.start.month == month
        if found.is_day:
            assert found.start.day == dd


@PROPERTY
@given(st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)), st.integers(1, 12))
def test_a_month_is_a_whole_month_up_to_today(today: date, month: int) -> None:
    found = read(f"{month}月", today)
    assert isinstance(found, Received)
    assert found.start.day == 1 and found.start.month == month and found.start <= today
    month_end = found.start.replace(day=calendar.monthrange(found.start.year, month)[1])
    assert found.end == min(month_end, today)
    assert today - found.start < timedelta(days=366)


@pytest.mark.filterwarnings("ignore::UserWarning:cn2an.transform")  # cn2an warns about odd numerals
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.lists(
            st.sampled_from(
                ["月", "日", "号", "年", "前", "后", "上个", "周", "半", "两", "十", "一", "三", "春节", "中秋",
                 "不对", "是", "ago", "days", "may", "last", "mid", "early", "of", "the", " ", "1", "12", "31",
                 "2026", "0", ".", "/", "-", "十一", "廿", "卅"]
            ),
            max_size=12,
        ).map("".join),
    ),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
)  # fmt: skip
def test_no_text_crashes_the_parser_and_nothing_lies_ahead(text: str, today: date) -> None:
    found = read(text, today)
    assert found is None or isinstance(found, Received | Implausible)
    if isinstance(found, Received):
        assert found.start <= found.end <= today
        assert found.start >= today - timedelta(days=366 * OLDEST_YEARS + 2)

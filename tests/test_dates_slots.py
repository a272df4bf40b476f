"""Dates people write and the slots read from messages: what changes an answer."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dates import deadlines, parse_date
from bot.normalize import fold
from bot.slots import extract, financial_account, received_date, role

TODAY = date(2026, 2, 10)


def read(text: str, today: date = TODAY) -> date | None:
    """What the deadline question makes of ``text`` (parse_date expects folded text)."""
    return parse_date(fold(text), today)


# -- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026.3.1", date(2026, 3, 1)),
        ("２０２６－０３－０１", date(2026, 3, 1)),  # full-width
        ("March 1, 2026", date(2026, 3, 1)),
        ("march 1 2026", date(2026, 3, 1)),
        ("1st March 2025", date(2025, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("2026年3月1號", date(2026, 3, 1)),
        ("我是2025年12月31日拿到的", date(2025, 12, 31)),
        ("I got it on 2025-11-02, I think", date(2025, 11, 2)),
    ],
)
def test_dates_with_a_year(text: str, expected: date) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # no year: the most recent such day not after today (2026-02-10)
        ("1 March", date(2025, 3, 1)),
        ("Mar 1", date(2025, 3, 1)),
        ("March 1st", date(2025, 3, 1)),
        ("3月1日", date(2025, 3, 1)),
        ("3月1号", date(2025, 3, 1)),
        ("2月1日", date(2026, 2, 1)),
        ("2月10日", date(2026, 2, 10)),  # today itself
        ("2月11日", date(2025, 2, 11)),  # tomorrow's date means last year's
        ("12月31日", date(2025, 12, 31)),
        ("Feb 29", date(2024, 2, 29)),  # the most recent 29 February
    ],
)
def test_dates_without_a_year_are_the_most_recent_past_one(text: str, expected: date) -> None:
    assert read(text) == expected


def test_without_a_year_this_years_date_once_it_has_passed() -> None:
    assert read("3月1日", today=date(2026, 11, 25)) == date(2026, 3, 1)
    assert read("1 March", today=date(2026, 3, 1)) == date(2026, 3, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterday", date(2026, 2, 9)),
        ("昨天", date(2026, 2, 9)),
        ("前天", date(2026, 2, 8)),
        ("today", TODAY),
        ("last month", date(2026, 1, 10)),
        ("上个月", date(2026, 1, 10)),
        ("上個月", date(2026, 1, 10)),  # Traditional
        ("两个月前", date(2025, 12, 10)),
        ("兩個月前", date(2025, 12, 10)),
        ("半年前", date(2025, 8, 10)),
        ("3 days ago", date(2026, 2, 7)),
        ("三天前", date(2026, 2, 7)),
        ("十二天前", date(2026, 1, 29)),
        ("a week ago", date(2026, 2, 3)),
        ("two months ago", date(2025, 12, 10)),
        ("last year", date(2025, 2, 10)),
    ],
)
def test_relative_dates(text: str, expected: date) -> None:
    assert read(text) == expected


def test_month_arithmetic_clamps_at_month_end() -> None:
    assert read("上个月", today=date(2026, 3, 31)) == date(2026, 2, 28)
    assert read("半年前", today=date(2026, 8, 31)) == date(2026, 2, 28)


@pytest.mark.parametrize(
    "text",
    [
        "2月30日",
        "2026-02-30",
        "2026年2月30日",
        "February 30",
        "30 Feb",
        "2026-13-01",
        "2026年13月5日",
        "0月5日",
        "2月29日 2025-02-29",
    ],
)
def test_impossible_dates_are_none(text: str) -> None:
    assert read(text) is None


@pytest.mark.parametrize("text", ["", "不确定", "not sure", "社保卡怎么激活", "I lost it", "第3条", "12333"])
def test_text_without_a_date_is_none(text: str) -> None:
    assert read(text) is None


def test_29_february_without_a_year_in_a_year_after_a_leap_year() -> None:
    assert read("2月29日", today=date(2029, 1, 5)) == date(2028, 2, 29)
    assert read("2月30日", today=date(2029, 1, 5)) is None


@pytest.mark.parametrize(
    ("received", "half_year", "day300"),
    [
        (date(2026, 3, 3), date(2026, 9, 3), date(2026, 12, 28)),
        (date(2026, 8, 31), date(2027, 2, 28), date(2027, 6, 27)),  # clamped at month end
        (date(2027, 8, 31), date(2028, 2, 29), date(2028, 6, 26)),  # leap year
        (date(2026, 3, 31), date(2026, 9, 30), date(2027, 1, 25)),
        (date(2025, 12, 31), date(2026, 6, 30), date(2026, 10, 27)),
    ],
)
def test_deadlines(received: date, half_year: date, day300: date) -> None:
    assert deadlines(received) == (half_year, day300)


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_deadlines_properties(received: date) -> None:
    half_year, day300 = deadlines(received)
    assert day300 - received == timedelta(days=300)
    assert 181 <= (half_year - received).days <= 184
    assert half_year.day == min(received.day, half_year.day)  # same day of month, or the month's last
    assert (half_year.year * 12 + half_year.month) - (received.year * 12 + received.month) == 6


# -- received_date: a date slot never lies in the future ---------------------------------

_FORMATS = [  # how the date is written, and a sentence around it in the same language
    lambda d: f"我是{d.isoformat()}领的卡",
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"大概{d.year}.{d.month}.{d.day}吧",
    lambda d: f"我是{d.year}年{d.month}月{d.day}日领的卡",
    lambda d: f"I got it on {d.strftime('%B %-d, %Y')}.",
    lambda d: f"received {d.strftime('%-d %b %Y')}",
]


@settings(max_examples=150, deadline=None)
@given(
    st.dates(min_value=date(2001, 1, 1), max_value=date(2060, 12, 31)),
    st.dates(min_value=date(2001, 1, 1), max_value=date(2060, 12, 31)),
    st.sampled_from(_FORMATS),
)
def test_received_date_with_a_year_is_read_unless_in_the_future(written: date, today: date, style) -> None:  # type: ignore[no-untyped-def]
    result = extract("date", style(written), today)
    assert result == (written.isoformat() if written <= today else None)


@settings(max_examples=150, deadline=None)
@given(
    st.dates(min_value=date(2001, 1, 1), max_value=date(2060, 12, 31)),
    st.integers(1, 12),
    st.integers(1, 31),
    st.sampled_from(["{m}月{d}日", "{m}月{d}号", "{month} {d}", "{d} {month}", "{m}/{d}"]),
)
def test_received_date_without_a_year_is_never_in_the_future(today: date, month: int, day: int, pattern: str) -> None:
    text = pattern.format(m=month, d=day, month=date(2000, month, 1).strftime("%B"))
    result = extract("date", text, today)
    if result is not None:
        found = date.fromisoformat(result)
        assert found <= today
        assert (found.month, found.day) == (month, day)
        assert today - found < timedelta(days=366 * 8 + 2)


@pytest.mark.parametrize("text", ["明天", "tomorrow", "2026-12-01", "next month"])
def test_received_date_refuses_the_future(text: str) -> None:
    assert received_date(fold(text), date(2026, 11, 25)) is None


def test_received_date_is_iso() -> None:
    assert extract("date", "３月１日。", date(2026, 11, 25)) == "2026-03-01"
    assert extract("date", "two months ago", date(2026, 11, 25)) == "2026-09-25"


# -- financial_account -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I don't need the bank functions", False),
        ("I don’t need the bank functions", False),
        ("I do not need the financial account", False),
        ("I will never use the banking features", False),
        ("I only use it for medical insurance", False),
        ("just for seeing the doctor", False),
        ("不需要金融功能", False),
        ("我不想开通银行账户", False),
        ("只用医保看病", False),
        ("只是看病买药用", False),
        ("不用银行功能，只看病", False),
        ("No", False),
        ("nope", False),
        ("不需要", False),
        ("不用", False),
        ("我要用金融功能", True),
        ("我需要银行功能", True),
        ("我想存钱取钱", True),
        ("I need the financial account", True),
        ("I do need the banking functions", True),
        ("I want to use it to deposit money", True),
        ("Yes", True),
        ("yes!", True),
        ("需要", True),
        ("需要。", True),
        ("要", True),
        ("随便", None),
        ("maybe", None),
        ("不确定", None),
        ("社保卡在哪激活", None),
        ("where can I activate my card", None),
    ],
)
def test_financial_account(text: str, expected: bool | None) -> None:
    assert extract("financial", text, TODAY) is expected


def test_financial_account_negation_is_clause_local() -> None:
    # The denial belongs to another clause: "no, ... I need the bank functions".
    assert financial_account("没问题，我要用银行功能") is True
    assert financial_account("i am not sure about the rest, i need the financial account") is True


# -- role --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想替我妈激活", "agent"),
        ("我帮我爸激活社保卡", "agent"),
        ("我妈的社保卡我能去激活吗", "agent"),
        ("我替别人激活", "agent"),
        ("帮老人激活要带什么", "agent"),
        ("can I activate my father's card", "agent"),
        ("can I activate my father’s card", "agent"),
        ("I want to activate the card for my grandmother", "agent"),
        ("can I activate it for her", "agent"),
        ("能让家人帮我激活吗", "insured"),
        ("我老婆能帮我激活吗", "insured"),
        ("请别人替我激活", "insured"),
        ("本人去不了，可以委托吗", "insured"),
        ("can my wife activate my card", "insured"),
        ("can my son activate my card for me", "insured"),
        ("someone else activates it on my behalf", "insured"),
        ("我自己", "insured"),
        ("me", "insured"),
        ("别人", "agent"),
        ("someone else", "agent"),
        ("社保卡在哪激活", None),
        ("你好", None),
        ("maybe", None),
    ],
)
def test_role(text: str, expected: str | None) -> None:
    assert extract("role", text, TODAY) == expected


def test_role_function_on_folded_text() -> None:
    assert role("我想替我妈激活") == "agent"
    assert role("能让家人帮我激活吗") == "insured"


@pytest.mark.parametrize("slot_type", ["financial", "role", "date"])
@pytest.mark.parametrize("text", ["", " ", "。", "😀", "1", "\x00"])
def test_extractors_say_nothing_about_nothing(slot_type: str, text: str) -> None:
    assert extract(slot_type, text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("去年的卡今天还能激活吗", date(2025, 11, 25)),  # the first relative phrase, not 'today'
        ("今天还能激活吗", None),  # 'today' is now, not the day the card came
        ("我今天刚领的卡", date(2026, 11, 25)),
        ("昨天领的，今天能激活吗", date(2026, 11, 24)),
        ("today", date(2026, 11, 25)),
    ],
)
def test_relative_words_read_as_the_receipt_day_only_when_they_are(text: str, expected: date | None) -> None:
    assert parse_date(text, date(2026, 11, 25)) == expected


def test_a_deadline_day_itself_has_not_passed() -> None:
    from bot.knowledge import load_knowledge
    from bot.render import variables
    from bot.settings import PROJECT_ROOT

    knowledge = load_knowledge(PROJECT_ROOT)
    on_the_day = variables(knowledge, "deadline", {"received_date": "2026-05-25"}, date(2026, 11, 25))
    assert on_the_day["half_year_date"] == "2026-11-25" and on_the_day["deadline_status"] == "open"
    day_after = variables(knowledge, "deadline", {"received_date": "2026-05-24"}, date(2026, 11, 25))
    assert day_after["deadline_status"] == "half_year_passed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("卡里的银行功能用不上，在哪激活", False),  # the denial comes after the cue
        ("金融功能不需要", False),
        ("金融功能要用", True),
    ],
)
def test_financial_denial_after_the_cue(text: str, expected: bool) -> None:
    assert financial_account(text) is expected


def test_acting_for_him_or_her_is_the_agent_role() -> None:
    assert role("我拿他的卡去帮他激活行不行") == "agent"
    assert role("能帮她激活吗") == "agent"

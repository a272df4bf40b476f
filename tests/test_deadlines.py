"""The source's two deadlines (half a year, 300 days) computed from when the card was received.

Dates are written as people read them; a receiving date known only to a span gives each
deadline as a range, never a day the person did not give. A deadline day itself has not
passed; a deadline whose range contains today may have passed ("uncertain").
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render
from bot.knowledge import DEADLINE_STATUSES, KnowledgeBase
from bot.messages import Language
from bot.understanding.dates import Received
from tests.support import LANGUAGES, TODAY, day, span


def variables(kb: KnowledgeBase, when: Received, language: Language = "zh", today: date = TODAY) -> dict[str, object]:
    return render.deadline_variables(when, today, kb, language)


# -- writing dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [("2026-09-01", "2026年9月1日", "1 September 2026"), ("2027-02-28", "2027年2月28日", "28 February 2027")],
)
def test_format_date(value: str, zh: str, en: str) -> None:
    assert render.format_date(date.fromisoformat(value), "zh") == zh
    assert render.format_date(date.fromisoformat(value), "en") == en


@pytest.mark.parametrize(
    ("first", "last", "zh", "en"),
    [
        ("2026-10-01", "2026-10-01", "2026年10月1日", "1 October 2026"),
        (
            "2026-10-01",
            "2026-10-31",
            "2026年10月1日至2026年10月31日之间",
            "a day between 1 October 2026 and 31 October 2026",
        ),
        (
            "2027-05-28",
            "2027-06-06",
            "2027年5月28日至2027年6月6日之间",
            "a day between 28 May 2027 and 6 June 2027",
        ),
        (
            "2025-12-20",
            "2026-01-10",
            "2025年12月20日至2026年1月10日之间",  # the year is repeated when it changes
            "a day between 20 December 2025 and 10 January 2026",
        ),
    ],
)
def test_format_range(first: str, last: str, zh: str, en: str) -> None:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    assert render.format_range(start, end, "zh") == zh
    assert render.format_range(start, end, "en") == en


@pytest.mark.parametrize(
    ("when", "zh", "en"),
    [
        (day("2026-03-03"), "2026年3月3日", "on 3 March 2026"),
        (span("2026-05-01", "2026-05-31"), "2026年5月", "in May 2026"),
        (span("2026-02-01", "2026-02-28"), "2026年2月", "in February 2026"),
        (span("2026-08-01", "2026-08-10"), "2026年8月上旬", "in early August 2026"),
        (span("2026-06-11", "2026-06-20"), "2026年6月中旬", "in mid-June 2026"),
        (span("2026-05-21", "2026-05-31"), "2026年5月下旬", "in late May 2026"),
        (span("2026-02-21", "2026-02-28"), "2026年2月下旬", "in late February 2026"),
        (
            span("2026-11-01", "2026-11-25"),
            "2026年11月1日至2026年11月25日之间",
            "between 1 November 2026 and 25 November 2026",
        ),
        (
            span("2026-09-24", "2026-10-08"),
            "2026年9月24日至2026年10月8日之间",
            "between 24 September 2026 and 8 October 2026",
        ),
    ],
)
def test_describe_received_says_no_more_than_was_said(when: Received, zh: str, en: str) -> None:
    assert render.describe_received(when, "zh") == zh
    assert render.describe_received(when, "en") == en


# -- the deadlines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "half_year", "day300"),
    [
        ("2026-03-03", "2026年9月3日", "2026年12月28日"),
        ("2026-08-31", "2027年2月28日", "2027年6月27日"),  # half a year clamps at month end
        ("2027-08-31", "2028年2月29日", "2028年6月26日"),  # in a leap year
        ("2026-03-31", "2026年9月30日", "2027年1月25日"),
        ("2025-12-31", "2026年6月30日", "2026年10月27日"),
    ],
)
def test_deadline_days(kb: KnowledgeBase, received: str, half_year: str, day300: str) -> None:
    values = variables(kb, day(received), today=date(2025, 12, 31))
    assert (values["half_year"], values["day300"]) == (half_year, day300)


@pytest.mark.parametrize(
    ("received", "status", "half", "d300"),
    [
        ("2026-10-01", "open", "status_open", "status_open"),
        ("2026-05-25", "open", "status_open", "status_open"),  # half a year ends today: not passed
        ("2026-05-24", "half_year_passed", "status_passed", "status_open"),
        ("2026-03-03", "half_year_passed", "status_passed", "status_open"),
        ("2026-01-29", "half_year_passed", "status_passed", "status_open"),  # day 300 is today
        ("2026-01-28", "both_passed", "status_passed", "status_passed"),
        ("2025-12-01", "both_passed", "status_passed", "status_passed"),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_deadline_day_itself_has_not_passed(
    kb: KnowledgeBase, language: Language, received: str, status: str, half: str, d300: str
) -> None:
    values = variables(kb, day(received), language)
    assert values["deadline_status"] == status
    assert values["half_year_status"] == kb.system[half][language]
    assert values["day300_status"] == kb.system[d300][language]


@pytest.mark.parametrize(
    ("when", "status", "half_year", "day300"),
    [
        # May: half a year ends between 1 and 30 November, today is 25 November
        (
            span("2026-05-01", "2026-05-31"),
            "uncertain",
            "2026年11月1日至2026年11月30日之间",
            "2027年2月25日至2027年3月27日之间",
        ),
        (
            span("2026-08-01", "2026-08-10"),
            "open",
            "2027年2月1日至2027年2月10日之间",
            "2027年5月28日至2027年6月6日之间",
        ),
        (
            span("2025-12-20", "2026-01-10"),
            "both_passed",
            "2026年6月20日至2026年7月10日之间",
            "2026年10月16日至2026年11月6日之间",
        ),
        (
            span("2026-05-25", "2026-05-31"),
            "open",
            "2026年11月25日至2026年11月30日之间",
            "2027年3月21日至2027年3月27日之间",
        ),
        (
            span("2026-01-20", "2026-01-31"),
            "uncertain",
            "2026年7月20日至2026年7月31日之间",
            "2026年11月16日至2026年11月27日之间",
        ),
        (
            span("2026-05-01", "2026-05-24"),
            "half_year_passed",
            "2026年11月1日至2026年11月24日之间",
            "2027年2月25日至2027年3月20日之间",
        ),
    ],
)
def test_a_span_gives_ranges_and_may_leave_the_status_open(
    kb: KnowledgeBase, when: Received, status: str, half_year: str, day300: str
) -> None:
    values = variables(kb, when)
    assert (values["deadline_status"], values["half_year"], values["day300"]) == (status, half_year, day300)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_introduction_tells_a_day_from_a_span(kb: KnowledgeBase, language: Language) -> None:
    on_a_day = variables(kb, day("2026-03-03"), language)
    in_a_month = variables(kb, span("2026-05-01", "2026-05-31"), language)
    assert on_a_day["received_intro"] == kb.system["deadline_received_day"][language].format(
        received=render.describe_received(day("2026-03-03"), language)
    )
    assert in_a_month["received_intro"] == kb.system["deadline_received_range"][language].format(
        received=render.describe_received(span("2026-05-01", "2026-05-31"), language)
    )
    assert on_a_day["today"] == render.format_date(TODAY, language)


@settings(max_examples=150, deadline=None)
@given(
    st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    st.integers(0, 40),
    st.dates(min_value=date(2015, 1, 1), max_value=date(2037, 12, 31)),
)
def test_deadline_properties(kb: KnowledgeBase, start: date, length: int, today: date) -> None:
    when = Received(start, start + timedelta(days=length))
    values = variables(kb, when, "en", today)
    half_first, half_last = start + relativedelta(months=6), when.end + relativedelta(months=6)
    assert 181 <= (half_first - start).days <= 184
    assert half_first.day == min(start.day, half_first.day)  # the same day of the month, or its last
    assert values["day300"] == render.format_range(start + timedelta(days=300), when.end + timedelta(days=300), "en")
    assert values["half_year"] == render.format_range(half_first, half_last, "en")
    status = values["deadline_status"]
    assert status in DEADLINE_STATUSES
    if when.is_day:
        assert status != "uncertain"
    if half_first >= today:
        assert status == "open"
    if when.end + timedelta(days=300) < today:
        assert status == "both_passed"


# -- choosing the answer text --------------------------------------------------------------------


def test_choose_variant_takes_the_first_whose_conditions_hold(kb: KnowledgeBase) -> None:
    variants = kb.responses["where_to_activate"].answers["zh"]
    assert render.choose_variant(variants, {"financial_account": False}).when == {"financial_account": False}
    assert render.choose_variant(variants, {"financial_account": True}).when == {"financial_account": True}
    assert render.choose_variant(variants, {}).when == {}
    deadline = kb.responses["deadline"].answers["en"]
    for status in DEADLINE_STATUSES:
        assert render.choose_variant(deadline, {"deadline_status": status}).when == {"deadline_status": status}


def test_local_block_without_contacts_is_empty(kb: KnowledgeBase) -> None:
    assert render.local_block(None, kb, "zh") == ""

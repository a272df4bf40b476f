"""Pinyin input written back in characters, so that details typed in pinyin are read.

The decoder learns from the knowledge base's Chinese and the date reader's vocabulary;
these check what a person typing pinyin says — dates, who acts for whom, yes or no — and
that messages in characters or in English are left as they are.
"""

from __future__ import annotations

import pytest

from bot.knowledge import KnowledgeBase
from bot.understanding.reading import AnswerReading, Reader
from tests.support import TODAY


@pytest.mark.parametrize(
    ("typed", "chinese"),
    [
        ("qiyue ershi hao", "七月二十号"),
        ("qi yue shi hao", "七月十号"),
        ("shang ge yue", "上个月"),
        ("wu yue di", "五月底"),
        ("qunian shiyue", "去年十月"),
        ("liang ge yue qian", "两个月前"),
        ("ti wo ma jihuo", "替我妈激活"),
        ("buyong", "不用"),
        ("bu zhidao", "不知道"),
        ("xuyao", "需要"),
        ("shebaoka zai nali jihuo", "社保卡在哪里激活"),
        ("shang ge yue 15 hao", "上个月15号"),  # after a number, hao is 号 (not 好)
        ("wangle", "忘了"),
        ("shebaoka zai nar jihuo", "社保卡在哪儿激活"),  # erhua: nar is na + er
    ],
)
def test_pinyin_is_read_as_the_chinese_it_stands_for(reader: Reader, typed: str, chinese: str) -> None:
    assert reader.message(typed).folded == chinese


@pytest.mark.parametrize("text", ["no idea", "yes", "社保卡在哪激活", "我妈的卡 shebaoka", "7 yue 8 hao", "me"])
def test_other_messages_keep_their_own_text(reader: Reader, text: str) -> None:
    assert reader.message(text).folded == reader.matcher.fold(text).strip()


@pytest.mark.parametrize(
    ("intent", "slot", "typed", "value"),
    [
        ("deadline", "received_date", "qiyue ershi hao", "2026-07-20"),
        ("deadline", "received_date", "shang ge yue", "2026-10-01/2026-10-31"),
        ("deadline", "received_date", "shang ge yue 15 hao", "2026-10-15"),
        ("where_to_activate", "financial_account", "buyong", False),
        ("entrust", "role", "ti wo ma jihuo", "agent"),
    ],
)
def test_a_follow_up_answered_in_pinyin(
    reader: Reader, kb: KnowledgeBase, intent: str, slot: str, typed: str, value: object
) -> None:
    reading = reader.read_answer(reader.message(typed), kb.slot(intent, slot), TODAY)
    assert reading == AnswerReading("value", value)


def test_details_of_a_question_typed_in_pinyin(reader: Reader) -> None:
    message = reader.message("wo de shebaoka shi shang ge yue lingde, jihuo qixian shi duojiu")
    assert reader.details(message.folded, TODAY) == {"received_date": "2026-10-01/2026-10-31"}


@pytest.mark.parametrize(
    ("typed", "chinese"),
    [("wo 2024-10-01 shou dao de", "我2024-10-01收到的"), ("3.1 na dao de", "3.1拿到的")],
)
def test_numbers_and_punctuation_stay_as_written(reader: Reader, typed: str, chinese: str) -> None:
    assert reader.message(typed).folded == chinese


@pytest.mark.parametrize("text", ["wo 10yue31hao lingde ka", "shangge yue15hao lingde"])
def test_digits_inside_pinyin_words_are_not_decoded(reader: Reader, text: str) -> None:
    """A tone number ("yue4") cannot be told from a date's digits ("yue31hao"): left as typed."""
    assert reader.message(text).folded == reader.matcher.fold(text).strip()


@pytest.mark.parametrize("text", ["your name?", "what's your name", "sir"])
def test_english_words_ending_in_r_are_not_erhua(reader: Reader, text: str) -> None:
    assert reader.message(text).normalized.language == "en"

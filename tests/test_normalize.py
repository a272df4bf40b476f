"""Normalisation: the many ways of typing one question fold into one canonical text.

Full-width forms, case, Traditional characters, punctuation and emoji must not change
what a message means; pinyin makes homophone typos from input methods coincide.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.normalize import MAX_CHARS, detect_language, fold, normalize, pinyin


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits → ASCII
        ("ＳＯＣＩＡＬ　ＳＥＣＵＲＩＴＹ", "social security"),  # ideographic space → space
        ("ActIVATE My CARD", "activate my card"),
        ("Straße", "strasse"),  # case *folding*, not just lower()
        ("社保卡怎麼啟用", "社保卡怎么启用"),  # Traditional → Simplified
        ("醫保卡在哪裡激活", "医保卡在哪里激活"),
        ("社保卡怎么启用", "社保卡怎么启用"),  # Simplified stays as it is
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("社保卡，在哪？！👍🏻", "社保卡 在哪"),
        ("社保卡怎麼啟用？？😀😀", "社保卡怎么启用"),
        ("ＨＥＬＬＯ　Ｗｏｒｌｄ！！", "hello world"),
        ("  where...   do I\tactivate\n it?? ", "where do i activate it"),
        ("社保卡\x00\x07激活", "社保卡 激活"),  # control characters are dropped
        ("社保卡\u200b激活", "社保卡 激活"),  # so is a zero-width space
        ("«activate» — “card” ★", "activate card"),
        ("😀🎉👍", ""),
    ],
)
def test_normalize_drops_punctuation_emoji_and_control_characters(raw: str, text: str) -> None:
    assert normalize(raw).text == text


def test_traditional_and_simplified_normalize_alike() -> None:
    assert normalize("社保卡怎麼啟用？").text == normalize("社保卡怎么启用").text == "社保卡怎么启用"


def test_han_runs_and_words() -> None:
    mixed = normalize("我的 Social-Security card 在哪激活？")
    assert mixed.han_runs == ["我的", "在哪激活"]
    assert mixed.words == ["social", "security", "card"]


@pytest.mark.parametrize("apostrophe", ["'", "\u2019"])
def test_apostrophes_are_kept_inside_words_and_removed_from_words(apostrophe: str) -> None:
    text = normalize(f"I don{apostrophe}t need my mother{apostrophe}s card")
    assert "don't" in text.text
    assert text.words == ["i", "dont", "need", "my", "mother", "card"]


def test_long_messages_are_cut() -> None:
    assert len(normalize("a" * 100_000).text) <= MAX_CHARS
    assert len(fold("社" * 100_000)) <= MAX_CHARS


@pytest.mark.parametrize(
    ("raw", "language"),
    [
        ("社保卡在哪里激活", "zh"),
        ("社保卡怎麼啟用", "zh"),
        ("where do I activate my card", "en"),
        ("ＷＨＥＲＥ ＣＡＮ Ｉ ＡＣＴＩＶＡＴＥ", "en"),
        ("我的social security card在哪激活", "zh"),  # Han characters outweigh three words
        ("my card is a 社保卡, where do I activate it", "en"),
        ("1", None),
        ("２", None),
        ("😀", None),
        ("", None),
        ("   ", None),
        ("?!。，", None),
    ],
)
def test_language_detection(raw: str, language: str | None) -> None:
    assert normalize(raw).language == language


def test_detect_language_on_cleaned_text() -> None:
    assert detect_language("社保卡") == "zh"
    assert detect_language("card") == "en"
    assert detect_language("") is None


@pytest.mark.parametrize(
    ("typo", "right"),
    [
        ("社宝卡", "社保卡"),
        ("设保卡", "社保卡"),
        ("机活", "激活"),
        ("鸡活", "激活"),
        ("医宝卡", "医保卡"),
    ],
)
def test_pinyin_makes_homophones_equal(typo: str, right: str) -> None:
    assert pinyin(typo) == pinyin(right)


def test_pinyin_is_toneless_and_tells_different_words_apart() -> None:
    assert pinyin("社保卡") == ("she", "bao", "ka")
    assert pinyin("社保卡") != pinyin("信用卡")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_normalize_is_idempotent_and_clean(raw: str) -> None:
    once = normalize(raw)
    assert normalize(once.text).text == once.text
    assert once.text == once.text.strip()
    assert "  " not in once.text
    assert once.text == once.text.casefold()
    assert once.language in ("zh", "en", None)


def test_a_clitic_is_not_read_as_a_word() -> None:
    """ "I'd" once became "id" and pulled questions towards the ID-card documents answer."""
    assert normalize("I'd like to activate my grandfather's card").words[:1] == ["i"]
    assert "grandfather" in normalize("my grandfather's card").words

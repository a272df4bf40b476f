"""Normalisation, the pinyin table and the writer's script: one canonical form for many ways of typing.

Full-width forms, case, Traditional characters, dialect words, particles, punctuation and
emoji must not change what a message means; pinyin (typed whole or mixed into Chinese) and
homophone typos become the syllables of the characters they stand for. Replies go back in
the script the person writes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge import KnowledgeBase
from bot.script import script_of, to_script
from bot.understanding.compiled import Compiled
from bot.understanding.normalize import MAX_CHARS, Normalizer, fold
from bot.understanding.pinyin import PinyinTable, toneless


@pytest.fixture(scope="module")
def normalize(compiled_kb: tuple[KnowledgeBase, Compiled]) -> Normalizer:
    return compiled_kb[1].featurizer.normalize


@pytest.fixture(scope="module")
def table(normalize: Normalizer) -> PinyinTable:
    return normalize.pinyin


# -- fold: NFKC, case folding, Traditional → Simplified -----------------------------------------


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ＡＢＣ１２３", "abc123"),  # full-width letters and digits → ASCII
        ("ＳＯＣＩＡＬ　ＳＥＣＵＲＩＴＹ", "social security"),  # ideographic space → space
        ("ActIVATE My CARD", "activate my card"),
        ("Straße", "strasse"),  # case *folding*, not lower()
        ("I\u2019m", "i'm"),  # typographic apostrophe
        ("社保卡怎麼啟用", "社保卡怎么启用"),  # Traditional → Simplified
        ("醫保卡在哪裡激活", "医保卡在哪里激活"),
        ("社保卡怎么启用", "社保卡怎么启用"),  # Simplified stays as it is
        ("社保卡，在哪？", "社保卡,在哪?"),  # full-width punctuation folds, but is kept
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize("text", ["\ud800社保卡", "社保卡\udfff激活", "\udc00" * 50])
def test_lone_surrogates_never_break_folding_or_normalising(normalize: Normalizer, text: str) -> None:
    assert "\ufffd" in fold(text)
    normalized = normalize(text)
    assert not any("\ud800" <= char <= "\udfff" for char in normalized.text)
    if "社保卡" in text:
        assert normalized.runs[0][:3] == ("she", "bao", "ka")


def test_long_input_is_bounded(normalize: Normalizer) -> None:
    assert len(fold("社" * 100_000)) == MAX_CHARS
    assert len(normalize("a" * 100_000).text) <= MAX_CHARS
    long = normalize("社保卡在哪激活" * 10_000)
    assert sum(len(run) for run in long.runs) <= MAX_CHARS
    assert len(long.han) <= MAX_CHARS


# -- the normaliser ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("社保卡，在哪？！👍🏻", "社保卡 在哪"),
        ("社保卡怎麼啟用？？😀😀", "社保卡怎么启用"),
        ("ＨＥＬＬＯ　Ｗｏｒｌｄ！！", "hello world"),
        ("  where...   do I\tactivate\n it?? ", "where do i activate it"),
        ("社保卡\x00\x07激活", "社保卡 激活"),  # control characters
        ("社保卡\u200b激活", "社保卡 激活"),  # a zero-width space
        ("«activate» — “card” ★", "activate card"),
        ("😀🎉👍", ""),
    ],
)
def test_punctuation_emoji_and_control_characters_are_dropped(normalize: Normalizer, raw: str, text: str) -> None:
    assert normalize(raw).text == text


@pytest.mark.parametrize(
    ("dialect", "mandarin"),
    [
        ("社保卡喺邊度可以開通", "社保卡在哪里可以开通"),  # Cantonese, Traditional
        ("社保卡喺边度可以开通", "社保卡在哪里可以开通"),  # Cantonese, Simplified
        ("俺的卡咋激活", "我的卡怎么激活"),  # Northern
        ("使唔使帶身份證", "需不需要带身份证"),
    ],
)
def test_dialect_words_read_as_mandarin(normalize: Normalizer, dialect: str, mandarin: str) -> None:
    said, meant = normalize(dialect), normalize(mandarin)
    assert said.text == meant.text
    assert said.runs == meant.runs


@pytest.mark.parametrize(
    ("with_particle", "without"),
    [("社保卡在哪激活呀", "社保卡在哪激活"), ("要的呀", "要"), ("好滴", "好"), ("需要啊", "需要"), ("行吧", "行")],
)
def test_sentence_final_particles_are_dropped(normalize: Normalizer, with_particle: str, without: str) -> None:
    a, b = normalize(with_particle), normalize(without)
    assert a.han == b.han
    assert a.runs == b.runs


@pytest.mark.parametrize("alone", ["了", "的", "呢", "啊啊"])
def test_a_particle_alone_is_kept(normalize: Normalizer, alone: str) -> None:
    assert normalize(alone).han == alone


@pytest.mark.parametrize(
    ("typed", "chinese"),
    [
        ("shebaoka zai nali jihuo", "社保卡在哪里激活"),  # whole pinyin
        ("shebaoka zai na li jihuo", "社保卡在哪里激活"),
        ("she4bao3ka3 jihuo", "社保卡激活"),  # tone digits
        ("社保卡 jihuo yao dai shenme", "社保卡激活要带什么"),  # mixed into Chinese
        ("社保卡 zai nali jihuo", "社保卡在哪里激活"),
    ],
)
def test_pinyin_input_reads_as_the_characters(normalize: Normalizer, typed: str, chinese: str) -> None:
    assert normalize(typed).runs == normalize(chinese).runs
    assert normalize(typed).language == "zh"
    assert normalize(typed).words == ()


@pytest.mark.parametrize("english", ["make sure", "where do I activate my card", "I need a hand", "long"])
def test_english_words_that_split_into_syllables_stay_english(normalize: Normalizer, english: str) -> None:
    normalized = normalize(english)
    assert normalized.runs == ()
    assert normalized.language == "en"
    assert len(normalized.words) == len(english.split())


@pytest.mark.parametrize(("word", "pinyin"), [("yao", True), ("bu yao le", True), ("xinan", False)])
def test_lone_syllables_count_only_when_nothing_else_is_english(normalize: Normalizer, word: str, pinyin: bool) -> None:
    assert bool(normalize(word).runs) is pinyin


@pytest.mark.parametrize(
    ("typo", "right"),
    [("社宝卡", "社保卡"), ("设保卡", "社保卡"), ("机活", "激活"), ("鸡活", "激活"), ("医宝卡", "医保卡")],
)
def test_homophone_typos_have_the_same_syllables(normalize: Normalizer, typo: str, right: str) -> None:
    assert normalize(typo).runs == normalize(right).runs


def test_runs_words_and_language_of_a_mixed_message(normalize: Normalizer) -> None:
    mixed = normalize("我的 Social-Security card 在哪激活？")
    assert mixed.words == ("social", "security", "card")
    assert mixed.runs[-1] == ("zai", "na", "ji", "huo")
    assert "在哪激活" in mixed.han


@pytest.mark.parametrize("apostrophe", ["'", "\u2019"])
def test_clitics_and_possessives_are_not_words(normalize: Normalizer, apostrophe: str) -> None:
    """ "I'd" once became "id" and pulled questions towards the ID-card documents answer."""
    words = normalize(f"I{apostrophe}d like to activate my grandfather{apostrophe}s card").words
    assert words[0] == "i" and "id" not in words
    assert "grandfather" in words
    assert "dont" in normalize(f"I don{apostrophe}t need it").words


@pytest.mark.parametrize(
    ("raw", "language"),
    [
        ("社保卡在哪里激活", "zh"),
        ("社保卡怎麼啟用", "zh"),
        ("shebaoka zai nali jihuo", "zh"),
        ("where do I activate my card", "en"),
        ("ＷＨＥＲＥ ＣＡＮ Ｉ ＡＣＴＩＶＡＴＥ", "en"),
        ("社保卡在哪里激活 ok", "zh"),  # syllables outweigh one word
        ("my card is a 社保卡, where do I activate it", "en"),
        ("1", None),
        ("２", None),
        ("😀", None),
        ("", None),
        ("   ", None),
        ("?!。，", None),
    ],
)
def test_language(normalize: Normalizer, raw: str, language: str | None) -> None:
    assert normalize(raw).language == language


@settings(max_examples=120, deadline=None)
@given(st.text(max_size=300))
def test_normalising_anything_gives_clean_bounded_text(normalize: Normalizer, raw: str) -> None:
    once = normalize(raw)
    assert once.text == once.text.strip() and "  " not in once.text
    assert once.text == once.text.casefold()
    assert len(once.text) <= MAX_CHARS
    assert once.language in ("zh", "en", None)
    assert all(run for run in once.runs)
    assert normalize(once.text).words == once.words


# -- the pinyin table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("han", "syllables"),
    [
        ("银行", ("yin", "hang")),  # a phrase reading, not yin xing
        ("银行卡", ("yin", "hang", "ka")),
        ("行", ("xing",)),  # the character alone: its first reading
        ("社保卡", ("she", "bao", "ka")),
    ],
)
def test_syllables(table: PinyinTable, han: str, syllables: tuple[str, ...]) -> None:
    assert table.syllables(han) == syllables


def test_a_long_run_is_read_whole_without_the_cache(table: PinyinTable) -> None:
    assert table.syllables("社保卡" * 20) == ("she", "bao", "ka") * 20


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("shebaoka", ("she", "bao", "ka")),
        ("xian", ("xian",)),  # one syllable, not xi an
        ("jihuo", ("ji", "huo")),
        ("zhuangu", ("zhuan", "gu")),  # zhuang leaves "u": backtrack
        ("she4bao3", ("she", "bao")),  # tone digits dropped
    ],
)
def test_segment(table: PinyinTable, word: str, syllables: tuple[str, ...]) -> None:
    assert table.segment(word) == syllables


@pytest.mark.parametrize("word", ["hello", "qqq", "a" * 30, "shebaoka" * 4])
def test_segment_refuses_what_is_not_pinyin(table: PinyinTable, word: str) -> None:
    assert table.segment(word) is None


@pytest.mark.parametrize(("reading", "plain"), [("háng", "hang"), ("shè", "she"), ("lü", "lv"), ("NÜ", "nv")])
def test_toneless(reading: str, plain: str) -> None:
    assert toneless(reading) == plain


@pytest.mark.parametrize("reading", ["lǜ", "nǚ", "lǘ", "lǖ"])
def test_toneless_writes_u_umlaut_as_v(reading: str) -> None:
    assert toneless(reading)[-1] == "v"


def test_the_table_is_built_from_the_knowledge_base_phrases() -> None:
    small = PinyinTable.build(["银行"])
    assert small.phrases == {"银行": ("yin", "hang")}
    assert small.syllables("行") == ("xing",)
    assert {"yin", "hang", "xing", "she"} <= small.syllable_set


# -- script: detected per conversation, replies converted --------------------------------------


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("社保卡在哪里激活", "hans"),
        ("社保卡在哪裡啟用", "tw"),  # 裡 is Taiwan's form
        ("醫保卡要帶什麼證件", "hant"),
        ("啟用醫保卡", "tw"),  # 啟 is Taiwan's form
        ("社保卡喺邊度開通", "hk"),  # written Cantonese
        ("點樣啟用", "hk"),
    ],
)
def test_script_of_a_message(text: str, script: str) -> None:
    assert script_of(text) == script


@pytest.mark.parametrize("current", ["hans", "hant", "hk", "tw"])
@pytest.mark.parametrize("neutral", ["社保卡", "1", "abc", "😀", ""])
def test_a_message_that_does_not_tell_keeps_the_script(current: str, neutral: str) -> None:
    assert script_of(neutral, current) == current  # type: ignore[arg-type]


def test_a_simplified_message_switches_a_traditional_conversation_back() -> None:
    assert script_of("社保卡在哪里激活", "tw") == "hans"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("hans", "银行网点和药店，身份证"),
        ("hant", "銀行網點和藥店，身份證"),
        ("hk", "銀行網點和藥店，身份證"),
        ("tw", "銀行網點和藥店，身份證"),
    ],
)
def test_to_script(script: str, expected: str) -> None:
    assert to_script("银行网点和药店，身份证", script) == expected  # type: ignore[arg-type]


def test_to_script_uses_the_regional_standard_forms() -> None:
    assert "裡" in to_script("在哪里", "tw") and "裏" in to_script("在哪里", "hk")
    assert to_script("Where to activate", "tw") == "Where to activate"

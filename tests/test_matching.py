"""Intent matching on the real knowledge base, with phrasings written for these tests.

Only clear-cut questions are asserted here: the examples and the matcher's constants are
still being tuned, and the dev set (``faqbot eval``) measures the grey zone. The
phrasings below are deliberately not lines of ``shared/eval/dev.jsonl`` or
``tests/data/heldout.jsonl``.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogue import Engine
from bot.knowledge import OUT_OF_SCOPE
from bot.matcher import Matcher
from bot.runtime import build_engine
from bot.settings import Settings

TODAY = date(2026, 11, 25)

CLEAR = {
    "where_to_activate": [
        "新领的社保卡应该到哪儿去激活",
        "社保卡能在附近的定点药店激活吗",
        "Where should I go to get my new social security card activated?",
        "Is a designated pharmacy able to activate the card?",
    ],
    "activation_required": [
        "社保卡拿到手以后还要激活吗",
        "不激活的社保卡能直接用吗",
        "Is it necessary to activate the social security card before using it?",
        "Do I really need to activate my new card?",
    ],
    "how_to_activate": [
        "新社保卡应该怎么激活",
        "社保卡激活有哪些方法",
        "How can I activate my social security card?",
        "Can I activate my social security card online?",
    ],
    "documents_needed": [
        "去激活社保卡要准备哪些材料",
        "激活社保卡要不要带身份证",
        "What documents should I bring to activate my card?",
        "Do I need to bring my ID card for activation?",
    ],
    "deadline": [
        "社保卡领了以后要在多长时间内激活",
        "社保卡的激活期限到底有多长",
        "What is the deadline to activate my social security card?",
        "How many days do I have to activate the card after receiving it?",
    ],
    "not_activated": [
        "社保卡一直不激活会有什么后果",
        "社保卡过期没激活怎么办",
        "What happens if I never activate my social security card?",
        "I forgot to activate my card in time, what now?",
    ],
    "entrust": [
        "可以委托家人帮我激活社保卡吗",
        "我能帮我爸激活社保卡吗",
        "Can a relative activate my social security card on my behalf?",
        "Can I activate the card for my elderly mother?",
    ],
    "accounts": [
        "社保卡上面有哪几种账户",
        "社保卡里的金融账户有什么用",
        "What are the two accounts on a social security card?",
        "What is the financial account of the card for?",
    ],
    "contact": [
        "社保卡激活出问题了应该联系谁",
        "社保卡的咨询电话是多少",
        "Who do I contact if I have trouble activating my card?",
        "What number can I call about my social security card?",
    ],
    "legal_basis": [
        "关于社保卡的规定有什么法律依据",
        "What is the legal basis for this?",
        "Which law are these rules based on?",
    ],
    "greeting": ["你好啊", "Hi, good evening"],
    "help": ["你能帮我做些什么呢", "What kind of things can you help me with?"],
    "thanks": ["太感谢你了", "Thanks so much for your help"],
}

# (clean, variant): the variant must land where the clean text lands.
VARIANTS = [
    # Traditional characters
    ("社保卡在哪里启用", "社保卡在哪裡啟用"),
    ("新社保卡应该怎么激活", "新社保卡應該怎麼激活"),
    ("社保卡激活需要带什么证件", "社保卡激活需要帶什麼證件"),
    ("社保卡一直不激活会有什么后果", "社保卡一直不激活會有什麼後果"),
    # homophone typos of a pinyin input method
    ("新社保卡应该怎么激活", "新社宝卡应该怎么激活"),
    ("新社保卡应该怎么激活", "新社保卡应该怎么机活"),
    ("社保卡激活需要带什么证件", "设保卡激活需要带什么证件"),
    ("社保卡一直不激活会有什么后果", "社保卡一直不鸡活会有什么后果"),
    # English typos
    ("How can I activate my social security card?", "How can I actvate my social secuirty card?"),
    ("What documents should I bring to activate my card?", "What documnets should I brnig to activate my card?"),
    (
        "What happens if I never activate my social security card?",
        "What happends if I nevr activate my socail security card?",
    ),
    ("Who do I contact if I have trouble activating my card?", "Who do I contcat if I have truble activating my card?"),
    ("Can my daughter activate my card for me", "Can my daugther activate my card for me"),
    # full-width, shouting, punctuation and emoji
    (
        "How can I activate my social security card?",
        "ＨＯＷ ＣＡＮ Ｉ ＡＣＴＩＶＡＴＥ ＭＹ ＳＯＣＩＡＬ ＳＥＣＵＲＩＴＹ ＣＡＲＤ？",
    ),
    ("新社保卡应该怎么激活", "新社保卡应该怎么激活？？？😀😀"),
]

OUT_OF_SCOPE_QUESTIONS = [
    "How do I activate a new SIM card?",
    "怎么激活手机SIM卡",
    "How do I activate my credit card?",
    "我的信用卡怎么开卡",
    "我的银行信用卡在哪激活",
    "How can I activate Windows 11?",
    "Windows系统怎么激活",
    "怎么激活office",
    "How do I activate my Spotify account",
    "激活电话卡要带什么",
    "What is the deadline for filing my tax return?",
    "When is the income tax deadline this year?",
    "报税的截止日期是什么时候",
    "个人所得税什么时候截止申报",
    "Can I pick up a passport for my son?",
    "Can my wife collect my passport for me?",
    "能帮别人代领护照吗",
    "我想替我妈领护照",
    "今天会下雨吗",
    "Recommend a good restaurant nearby",
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(Settings(), today=lambda: TODAY)


@pytest.fixture(scope="module")
def matcher(engine: Engine) -> Matcher:
    return engine.matcher


@pytest.mark.parametrize(("intent", "text"), [(intent, text) for intent, texts in CLEAR.items() for text in texts])
def test_clear_questions_map_to_their_intent(matcher: Matcher, intent: str, text: str) -> None:
    match = matcher.match(text)
    assert match.intent == intent, f"{text!r}: got {match.intent} ({match.confidence}); ranking {match.ranking[:3]}"


def test_help_phrased_with_gan_is_help_not_thanks(matcher: Matcher) -> None:
    """帮我 once pulled this towards 感谢帮助 (thanks)."""
    assert matcher.match("你都可以帮我干些什么").intent == "help"


def test_every_answerable_intent_is_covered_in_both_languages(engine: Engine) -> None:
    """The table above must keep up with the knowledge base (a new intent needs tests)."""
    answerable = {name for name in engine.knowledge.intents if name != OUT_OF_SCOPE}
    assert set(CLEAR) == answerable
    for intent, texts in CLEAR.items():
        languages = {"zh" if any("\u4e00" <= char <= "\u9fff" for char in text) else "en" for text in texts}
        assert languages == {"zh", "en"}, intent


@pytest.mark.parametrize(("clean", "variant"), VARIANTS)
def test_variants_map_like_the_clean_text(matcher: Matcher, clean: str, variant: str) -> None:
    expected = matcher.match(clean).intent
    assert expected is not None, f"the clean text {clean!r} itself is not understood"
    assert matcher.match(variant).intent == expected


@pytest.mark.parametrize(
    "text",
    [
        *OUT_OF_SCOPE_QUESTIONS,
        "个人所得税申报的截止时间是什么时候",
    ],
)
def test_out_of_scope_questions_sharing_domain_words_fall_back(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.intent is None, f"{text!r} matched {match.intent} ({match.confidence})"


@pytest.mark.parametrize("text", ["I think so", "let me think about it"])
def test_think_is_not_thanks(matcher: Matcher, text: str) -> None:
    assert matcher.match(text).intent != "thanks"


@pytest.mark.parametrize(
    "text",
    [text for texts in CLEAR.values() for text in texts] + OUT_OF_SCOPE_QUESTIONS + ["", "1", "😀", "社保卡", "card"],
)
def test_confidence_is_a_probability_and_ranking_is_sorted(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert 0.0 <= match.confidence <= 1.0
    scores = [score for _, score in match.ranking]
    assert scores == sorted(scores, reverse=True)
    assert OUT_OF_SCOPE not in dict(match.ranking)
    if match.intent is not None:
        assert match.ranking[0][0] == match.intent


def test_a_confident_match_is_more_confident_than_a_rejected_one(matcher: Matcher) -> None:
    good = matcher.match("How can I activate my social security card?")
    bad = matcher.match("How do I activate a new SIM card?")
    assert good.intent is not None and bad.intent is None
    assert good.confidence > bad.confidence


@pytest.mark.parametrize(
    ("text", "language"),
    [("新社保卡应该怎么激活", "zh"), ("How can I activate my card?", "en"), ("1", None)],
)
def test_match_reports_the_language(matcher: Matcher, text: str, language: str | None) -> None:
    assert matcher.match(text).language == language


@pytest.mark.parametrize(
    ("text", "intent", "slots"),
    [
        ("我用不到金融功能，新卡去哪里激活", "where_to_activate", {"financial_account": False}),
        (
            "Where do I activate it if I don't need the bank functions?",
            "where_to_activate",
            {"financial_account": False},
        ),
        ("我能帮我爸激活社保卡吗", "entrust", {"role": "agent"}),
        ("Can my daughter activate my card for me", "entrust", {"role": "insured"}),
        ("新社保卡应该怎么激活", "how_to_activate", {}),
    ],
)
def test_classify_reads_slots_from_the_question(
    engine: Engine, text: str, intent: str, slots: dict[str, object]
) -> None:
    result = engine.classify(text)
    assert result["intent"] == intent
    assert result["slots"] == slots


def test_classify_of_nothing_in_particular(engine: Engine) -> None:
    result = engine.classify("😀")
    assert result["intent"] is None
    assert result["slots"] == {}
    assert result["language"] in ("zh", "en")


@pytest.mark.parametrize(
    "text",
    [
        "社保卡丢了怎么补办",  # another social-insurance matter, though it names 社保卡
        "I lost my social security card, how do I get a replacement?",
        "养老金每个月能领多少",
        "how do I activate my gym membership",  # "activate my <unknown thing>"
        "please enable the karaoke mode",
    ],
)
def test_other_matters_and_unknown_things_fall_back(matcher: Matcher, text: str) -> None:
    assert matcher.match(text).intent is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what law is this based on", "legal_basis"),  # anchored by its own concept
        ("do the rules differ from region to region", "contact"),
        ("I'm lost", "help"),  # "lost" alone is not a lost card
    ],
)
def test_anchors_and_activation_keep_questions_in_scope(matcher: Matcher, text: str, intent: str) -> None:
    assert matcher.match(text).intent == intent


def test_another_matter_that_speaks_of_activation_stays_in_scope(matcher: Matcher) -> None:
    assert matcher.match("社保卡丢了，还没激活，怎么办").intent is not None


def test_a_rival_is_only_a_close_and_weak_runner_up() -> None:
    from bot.matcher import Match

    close = Match("where_to_activate", 0.40, "zh", (("where_to_activate", 0.40), ("how_to_activate", 0.38)))
    assert close.rival == "how_to_activate"
    assert (
        Match("where_to_activate", 0.40, "zh", (("where_to_activate", 0.40), ("how_to_activate", 0.30))).rival is None
    )
    assert (
        Match("where_to_activate", 0.70, "zh", (("where_to_activate", 0.70), ("how_to_activate", 0.69))).rival is None
    )
    assert Match(None, 0.1, "zh", (("where_to_activate", 0.1), ("how_to_activate", 0.1))).rival is None

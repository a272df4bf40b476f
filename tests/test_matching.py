"""What a message means: the matcher's decision, the topics of a whole message, ``classify``.

Only clear-cut phrasings are asserted (written for these tests, not lines of the labelled
sets in ``tests/data``); ``test_eval_sets.py`` measures the grey zone. The decision rules
themselves are checked on a model with fixed probabilities.
"""

from __future__ import annotations

import pytest

from bot.dialogue import Engine
from bot.knowledge import KnowledgeBase
from bot.understanding.compiled import Compiled
from bot.understanding.matcher import ANSWER_THRESHOLD, Matcher
from bot.understanding.reading import MAX_TOPICS, Reader
from tests.support import TODAY, fixed_matcher

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
        "do the rules differ from region to region",
    ],
    "legal_basis": ["关于社保卡的规定有什么法律依据", "What is the legal basis for this?", "what law is this based on"],
    "greeting": ["你好啊", "Hi, good evening"],
    "help": ["你都可以帮我干些什么", "What kind of things can you help me with?", "I'm lost"],
    "thanks": ["太感谢你了", "Thanks so much for your help"],
    "human": ["我要转人工", "can I talk to a real person please"],
}

# (clean, variant): the variant must land where the clean text lands.
VARIANTS = [
    ("社保卡在哪里启用", "社保卡在哪裡啟用"),  # Traditional characters
    ("社保卡激活需要带什么证件", "社保卡激活需要帶什麼證件"),
    ("新社保卡应该怎么激活", "新社宝卡应该怎么机活"),  # homophone typos of pinyin input
    ("社保卡激活需要带什么证件", "设保卡激活需要带什么证件"),
    ("社保卡在哪里激活", "shebaoka zai nali jihuo"),  # pinyin typed whole
    ("社保卡激活要带什么", "社保卡 jihuo yao dai shenme"),  # and mixed in
    ("社保卡在哪里可以开通", "社保卡喺邊度可以開通㗎"),  # Cantonese
    ("How can I activate my social security card?", "How can I actvate my social secuirty card?"),  # English typos
    ("What documents should I bring to activate my card?", "What documnets should I brnig to activate my card?"),
    ("Who do I contact if I have trouble activating my card?", "Who do I contcat if I have truble activating my card?"),
    (
        "How can I activate my social security card?",
        "ＨＯＷ ＣＡＮ Ｉ ＡＣＴＩＶＡＴＥ ＭＹ ＳＯＣＩＡＬ ＳＥＣＵＲＩＴＹ ＣＡＲＤ？",
    ),
    ("新社保卡应该怎么激活", "新社保卡应该怎么激活？？？😀😀"),
]

DECLINED = {
    "out_of_scope": [
        "How do I activate a new SIM card?",
        "怎么激活手机SIM卡",
        "我的信用卡怎么开卡",
        "How can I activate Windows 11?",
        "What is the deadline for filing my tax return?",
        "个人所得税什么时候截止申报",
        "Can my wife collect my passport for me?",
        "能帮别人代领护照吗",
        "今天会下雨吗",
    ],
    "not_covered": [
        "社保卡丢了怎么补办",
        "I lost my social security card, how do I get a replacement?",
        "激活社保卡要收费吗",
        "社保卡密码忘了怎么办",
    ],
    "chitchat": ["are you a robot", "哈哈哈", "再见", "你好笨", "ok"],
}


@pytest.fixture(scope="module")
def matcher(compiled_kb: tuple[KnowledgeBase, Compiled]) -> Matcher:
    return Matcher(*compiled_kb)


@pytest.mark.parametrize(("intent", "text"), [(intent, text) for intent, texts in CLEAR.items() for text in texts])
def test_clear_questions_are_answered_with_their_intent(matcher: Matcher, intent: str, text: str) -> None:
    match = matcher.match(text)
    assert match.intent == intent, f"{text!r}: {match.intent} ({match.confidence}); {match.ranking[:3]}"
    assert match.confidence >= ANSWER_THRESHOLD and match.rival is None


def test_every_answerable_intent_is_covered_in_both_languages(kb: KnowledgeBase) -> None:
    """The table above must keep up with the knowledge base (a new intent needs tests)."""
    assert set(CLEAR) == {name for name, spec in kb.intents.items() if spec.kind in ("domain", "social")}
    for intent, texts in CLEAR.items():
        languages = {"zh" if any("\u4e00" <= char <= "\u9fff" for char in text) else "en" for text in texts}
        assert languages == {"zh", "en"}, intent


@pytest.mark.parametrize(("clean", "variant"), VARIANTS)
def test_variants_mean_what_the_clean_text_means(matcher: Matcher, clean: str, variant: str) -> None:
    expected = matcher.match(clean).intent
    assert expected is not None and matcher.kind(expected) == "domain", clean
    assert matcher.match(variant).intent == expected


@pytest.mark.parametrize(("kind", "text"), [(kind, text) for kind, texts in DECLINED.items() for text in texts])
def test_what_is_not_answered_is_declined_by_its_kind(
    matcher: Matcher, kb: KnowledgeBase, kind: str, text: str
) -> None:
    match = matcher.match(text)
    assert match.intent is not None and matcher.kind(match.intent) == kind, (text, match.intent, match.confidence)
    assert kb.reported(match.intent) is None


@pytest.mark.parametrize("text", ["", "😀", "👍🏻", "？！。"])
def test_nothing_to_match(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert (match.intent, match.confidence, match.language, match.ranking) == (None, 0.0, None, ())


@pytest.mark.parametrize(
    "text", [text for texts in CLEAR.values() for text in texts] + [t for ts in DECLINED.values() for t in ts] + ["1"]
)
def test_confidence_is_a_probability_and_the_ranking_holds_answerable_intents(
    matcher: Matcher, kb: KnowledgeBase, text: str
) -> None:
    match = matcher.match(text)
    assert 0.0 <= match.confidence <= 1.0
    scores = [score for _, score in match.ranking]
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1.0 + 1e-9
    assert all(kb.intents[name].kind in ("domain", "social") for name, _ in match.ranking)


def test_reported_names(kb: KnowledgeBase) -> None:
    assert kb.reported("human") == "contact"  # a request for a person reports as contact
    assert kb.reported("greeting") == "greeting"
    assert kb.reported("where_to_activate") == "where_to_activate"
    for name in ("not_covered", "out_of_scope", "bot_identity", None):
        assert kb.reported(name) is None


# -- the decision rules, on fixed probabilities -----------------------------------------------


@pytest.mark.parametrize(
    ("probabilities", "intent", "rival"),
    [
        ({"where_to_activate": 0.5, "how_to_activate": 0.4, "out_of_scope": 0.1}, "where_to_activate", None),
        ({"where_to_activate": 0.40, "how_to_activate": 0.35, "out_of_scope": 0.25}, "where_to_activate", "how_to_activate"),
        ({"where_to_activate": 0.40, "how_to_activate": 0.15, "not_covered": 0.45}, "not_covered", None),
        ({"where_to_activate": 0.40, "how_to_activate": 0.15, "out_of_scope": 0.3, "not_covered": 0.15}, "out_of_scope", None),
        ({"where_to_activate": 0.35, "thanks": 0.35, "out_of_scope": 0.3}, "out_of_scope", None),  # no rival but a topic
        ({"out_of_scope": 0.5, "where_to_activate": 0.49}, "out_of_scope", None),
        ({"greeting": 0.9, "out_of_scope": 0.1}, "greeting", None),
    ],
)  # fmt: skip
def test_the_decision(
    compiled_kb: tuple[KnowledgeBase, Compiled], probabilities: dict[str, float], intent: str, rival: str | None
) -> None:
    match = fixed_matcher(compiled_kb, **probabilities).match("社保卡")
    assert (match.intent, match.rival) == (intent, rival)
    assert match.confidence == round(max(probabilities.values()), 4)


# -- whole messages: topics, details, ellipsis ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("社保卡在哪激活", ("where_to_activate",)),
        ("你好呀，请问社保卡激活要带什么东西", ("documents_needed",)),  # a greeting does not hide the question
        ("thanks! also, is activation mandatory?", ("activation_required",)),
        ("社保卡激活要带什么？能不能让家人代办？", ("documents_needed", "entrust")),
        ("what do I need to bring, and is there a deadline?", ("documents_needed", "deadline")),
        ("你好", ("greeting",)),
        ("谢谢", ("thanks",)),
        ("how do I activate a new SIM card?", ()),
        ("purple", ()),
    ],
)
def test_the_topics_of_a_message(reader: Reader, text: str, topics: tuple[str, ...]) -> None:
    assert reader.read(reader.message(text), TODAY).topics == topics


def test_at_most_three_topics_from_one_message(reader: Reader) -> None:
    topics = reader.read(reader.message("社保卡在哪激活？要带什么？期限多久？能代办吗？"), TODAY).topics
    assert len(topics) == MAX_TOPICS == 3
    assert topics[:2] == ("where_to_activate", "documents_needed")


def test_a_second_question_after_haiyou(reader: Reader) -> None:
    topics = reader.read(reader.message("社保卡怎么激活，还有法律依据是什么"), TODAY).topics
    assert set(topics) == {"how_to_activate", "legal_basis"}


def test_thanks_then_a_cantonese_question(reader: Reader) -> None:
    assert "how_to_activate" in reader.read(reader.message("多謝，咁點樣激活"), TODAY).topics


@pytest.mark.parametrize(
    ("text", "elliptical"),
    [
        ("那银行呢", True),
        ("what about the hospital then", True),
        ("and at a drugstore?", True),
        ("社保卡在哪激活", False),
        ("你好", False),  # small talk is never read against the last topic
        ("谢谢", False),
        ("I got my card last month and I would like to know where I can activate it", False),  # long: says it all
    ],
)
def test_elliptical_follow_ups(reader: Reader, text: str, elliptical: bool) -> None:
    assert reader.read(reader.message(text), TODAY).elliptical is elliptical


# -- classify: the contract of ``faqbot classify`` -------------------------------------------


CLASSIFY_KEYS = {"text", "intent", "confidence", "language", "slots", "did_you_mean"}


@pytest.mark.parametrize(
    ("text", "intent", "language", "slots"),
    [
        ("我用不到金融功能，新卡去哪里激活", "where_to_activate", "zh", {"financial_account": False}),
        ("Where do I activate it if I don't need the bank functions?", "where_to_activate", "en", {"financial_account": False}),
        ("我能帮我爸激活社保卡吗", "entrust", "zh", {"role": "agent"}),
        ("I got my card two months ago, what is the deadline?", "deadline", "en",
         {"received_month": "2026-09", "received_range": "2026-09-01/2026-09-30", "role": "insured"}),
        ("我是2026年3月3日领的卡，最晚什么时候要激活", "deadline", "zh", {"received_date": "2026-03-03"}),
        ("新社保卡应该怎么激活", "how_to_activate", "zh", {}),
        ("我要转人工", "contact", "zh", {}),
        ("激活社保卡要收费吗", None, "zh", {}),
        ("How do I activate a new SIM card?", None, "en", {}),
        ("😀", None, "zh", {}),
    ],
)  # fmt: skip
def test_classify(engine: Engine, text: str, intent: str | None, language: str, slots: dict[str, object]) -> None:
    result = engine.classify(text)
    assert set(result) == CLASSIFY_KEYS
    assert result["text"] == text
    assert (result["intent"], result["language"], result["slots"]) == (intent, language, slots)
    assert isinstance(result["confidence"], float) and 0.0 <= result["confidence"] <= 1.0
    assert result["did_you_mean"] is None


def test_classify_reports_did_you_mean(compiled_kb: tuple[KnowledgeBase, Compiled], make_engine) -> None:  # type: ignore[no-untyped-def]
    tie = fixed_matcher(compiled_kb, how_to_activate=0.40, where_to_activate=0.38, out_of_scope=0.22)
    engine = make_engine()
    engine.reader.matcher = tie
    result = engine.classify("社保卡激活")
    assert result["did_you_mean"] == ["how_to_activate", "where_to_activate"]
    assert result["intent"] == "how_to_activate"

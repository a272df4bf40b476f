"""The details that change an answer, read from first messages and from answers to follow-ups.

``financial_account`` and ``RolePatterns.role`` read folded text; ``Reader.read_answer``
weighs them with the answers classifier: a value, "unsure", an aside (a question about the
follow-up itself), an implausible date, a new question, or nothing understood.
"""

from __future__ import annotations

import pytest

from bot.knowledge import KnowledgeBase, SlotSpec
from bot.understanding.normalize import fold
from bot.understanding.reading import AnswerReading, Reader
from bot.understanding.slots import RolePatterns, financial_account
from tests.support import TODAY


def financial(text: str) -> bool | None:
    return financial_account(fold(text).strip())


@pytest.fixture(scope="module")
def roles(kb: KnowledgeBase) -> RolePatterns:
    people = kb.lexicon["person"]
    return RolePatterns.build(people["zh"], people["en"])


@pytest.fixture(scope="module")
def slots(kb: KnowledgeBase) -> dict[str, SlotSpec]:
    return {
        "financial": kb.slot("where_to_activate", "financial_account"),
        "role": kb.slot("entrust", "role"),
        "date": kb.slot("deadline", "received_date"),
    }


def answer(reader: Reader, slots: dict[str, SlotSpec], kind: str, text: str) -> AnswerReading:
    return reader.read_answer(reader.message(text), slots[kind], TODAY)


# -- financial_account -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # yes and no, with particles, hedges and reasons
        ("需要", True),
        ("要", True),
        ("要的呀，工资要打进去", True),
        ("是的，需要", True),
        ("Yes", True),
        ("yes!", True),
        ("yeah I do", True),
        ("yes I will, my wages go on it", True),
        ("不需要", False),
        ("不用了，谢谢", False),
        ("不用", False),
        ("没必要", False),
        ("No", False),
        ("nope", False),
        ("no thanks", False),
        ("no, my salary goes to another bank", False),  # the no decides, not the reason
        ("应该用不着吧，我就看看病", False),
        ("probably not, I just see the doctor", False),
        # the bank functions named, denied or not
        ("我要用金融功能", True),
        ("我需要银行功能", True),
        ("我想存钱取钱", True),
        ("养老金要打到这张卡上", True),
        ("I need the financial account", True),
        ("I do need the banking functions", True),
        ("I want to use it to deposit money", True),
        ("不需要金融功能", False),
        ("我不想开通银行账户", False),
        ("卡里的银行功能用不上", False),  # the denial after the cue
        ("金融功能不需要", False),
        ("金融功能要用", True),
        ("没问题，我要用银行功能", True),  # the denial is in another clause
        ("I don't need the bank functions", False),
        ("I don\u2019t need the bank functions", False),
        ("I will never use the banking features", False),
        # medical use only
        ("只用医保看病", False),
        ("只是看病买药用", False),
        ("I only use it for medical insurance", False),
        ("just for seeing the doctor", False),
        # nothing said
        ("随便", None),
        ("不确定", None),
        ("社保卡在哪激活", None),
        ("where can I activate my card", None),
        ("", None),
        ("😀", None),
    ],
)
def test_financial_account(text: str, expected: bool | None) -> None:
    assert financial(text) is expected


@pytest.mark.parametrize("text", ["需不需要银行功能", "要不要开通金融账户", "有没有银行功能"])
def test_asking_whether_is_neither_yes_nor_no(text: str) -> None:
    assert financial(text) is None


@pytest.mark.parametrize("text", ["I don't know", "i don't remember", "不知道", "don't know 🤷", "dont know"])
def test_not_knowing_is_not_no(text: str) -> None:
    assert financial(text) is None


def test_not_understanding_is_not_no() -> None:
    assert financial("I don't understand") is None


@pytest.mark.parametrize("text", ["I do not need the financial account", "i do not need it"])
def test_i_do_not_is_not_yes(text: str) -> None:
    assert financial(text) is False


# -- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # acting for someone else
        ("我想替我妈激活", "agent"),
        ("我帮我爸激活社保卡", "agent"),
        ("我妈的社保卡我能去激活吗", "agent"),
        ("我是帮我奶奶弄的", "agent"),
        ("我替别人激活", "agent"),
        ("我拿他的卡去帮他激活行不行", "agent"),
        ("能帮她激活吗", "agent"),
        ("can I activate my father's card", "agent"),
        ("can I activate my father\u2019s card", "agent"),
        ("it's my dad's card", "agent"),
        ("I want to activate the card for my grandmother", "agent"),
        ("I'll go for my wife", "agent"),  # the same words as the next but one, the other way round
        ("拿着我爸身份证去给他激活行吗", "agent"),
        ("她的社保卡我去激活要带啥", "agent"),
        ("被代办人的身份证要原件吗", "agent"),
        ("activating on behalf of my mother, what do I bring", "agent"),
        ("we're HR, can we activate cards for the new hires", "agent"),
        ("我替家里老人激活", "agent"),
        ("家里老人让我去办", "agent"),  # someone asks me: I act for them
        ("my mum asked me to do it for her", "agent"),
        ("other person card, my brother", "agent"),
        ("代别人激活社保卡需要委托书吗", "agent"),
        ("我可以幫屋企老人家去激活社保卡嗎", "agent"),  # Cantonese 屋企: at home
        ("My mother can't walk well, can I activate her card for her?", "agent"),  # can't is not "can"
        ("i wanna activate my grandpa social card", "agent"),
        ("给我妈激活社保卡要带啥", "agent"),
        # someone acting for the writer
        ("卡是我的，我腿脚不方便去不了", "insured"),
        ("能让家人帮我激活吗", "insured"),
        ("我老婆能帮我激活吗", "insured"),
        ("请别人替我激活", "insured"),
        ("本人去不了，可以委托吗", "insured"),
        ("my wife will go for me", "insured"),
        ("can my wife activate my card", "insured"),
        ("can my son activate my card for me", "insured"),
        ("I'll send my son", "insured"),
        ("someone else activates it on my behalf", "insured"),
        ("社保卡可唔可以搵人代我去激活", "insured"),
        ("本人無法親自到場，可以委託他人辦理嗎", "insured"),
        ("我工地上走不开 能叫老乡帮我激活吗", "insured"),
        ("can my wife activate my social security card", "insured"),
        # not said
        ("社保卡在哪激活", None),
        ("社保卡可以代办激活吗", None),
        ("能委托别人激活社保卡吗", None),  # whether one may, not who will: asked
        ("其他的卡能代激活吗", None),  # 其他 is not 他
        ("can someone else go to the bank to activate", None),  # whether one may: asked
        ("我没空 给我老公去激活行不行", "insured"),  # 给 + person + 去: let him go, not for him
        ("可唔可以代人激活社保卡", None),
        ("你好", None),
        ("maybe", None),
    ],
)
def test_role(roles: RolePatterns, text: str, expected: str | None) -> None:
    assert roles.role(fold(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [("me", "insured"), ("我", "insured"), ("我老婆去", "insured")])
def test_weaker_cues_count_only_in_an_answer(roles: RolePatterns, text: str, expected: str) -> None:
    assert roles.role(fold(text)) is None
    assert roles.role(fold(text), answering=True) == expected


# -- answers to follow-up questions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("financial", "要的呀", True),
        ("financial", "需要。", True),
        ("financial", "估计得要", True),
        ("financial", "可能要吧", True),
        ("financial", "不用了，谢谢", False),
        ("financial", "probably not, I just see the doctor", False),
        ("financial", "yao", True),  # pinyin
        ("financial", "要吧 我想绑微信付钱", True),  # a particle after the yes
        ("financial", "肯定要啊，发工资用", True),
        ("financial", "唔使，我淨係睇醫生", False),  # Cantonese, read through the dialect words
        ("financial", "要㗎", True),
        ("financial", "不用，不知道为啥要问这个", False),  # a no first: the doubt after it is about the question
        ("role", "卡是我的，我腿脚不方便去不了", "insured"),
        ("role", "我自己", "insured"),
        ("role", "mine", "insured"),
        ("role", "I'll send my son", "insured"),
        ("role", "我是帮我奶奶弄的", "agent"),
        ("role", "it's my dad's card", "agent"),
        ("role", "for my mother", "agent"),
        ("date", "七月八号", "2026-07-08"),
        ("date", "6.18", "2026-06-18"),
        ("date", "今天", "2026-11-25"),
        ("date", "今年五月份", "2026-05-01/2026-05-31"),
        ("date", "early August", "2026-08-01/2026-08-10"),
        ("date", "10 days ago", "2026-11-15"),
    ],
)
def test_an_answer_with_a_value(
    reader: Reader, slots: dict[str, SlotSpec], kind: str, text: str, value: object
) -> None:
    assert answer(reader, slots, kind, text) == AnswerReading("value", value)


@pytest.mark.parametrize("kind", ["financial", "role", "date"])
@pytest.mark.parametrize("text", ["不确定", "不知道", "not sure", "Not sure"])
def test_unsure(reader: Reader, slots: dict[str, SlotSpec], kind: str, text: str) -> None:
    assert answer(reader, slots, kind, text) == AnswerReading("unsure")


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("date", "想不起来了"),
        ("date", "I can't recall"),
        ("financial", "maybe"),
        ("financial", "不知道要不要"),  # its 不要 is part of not knowing, not a no
        ("financial", "no idea honestly"),
    ],
)
def test_unsure_in_other_words(reader: Reader, slots: dict[str, SlotSpec], kind: str, text: str) -> None:
    assert answer(reader, slots, kind, text).outcome == "unsure"


def test_an_acknowledgement_before_a_question_about_it_is_an_aside(reader: Reader, slots: dict[str, SlotSpec]) -> None:
    assert answer(reader, slots, "financial", "好的，金融账户是什么意思？") == AnswerReading("aside")


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("financial", "什么是金融账户？"),  # names the bank functions, but asks about them: not a yes
        ("financial", "what is the financial account?"),
        ("financial", "what's a financial account"),
        ("role", "什么是授权委托书"),
        ("role", "what is a power of attorney?"),
        ("date", "什么是领卡日期"),
        ("date", "does the day I picked it up count?"),
    ],
)
def test_a_question_about_the_follow_up_is_an_aside(
    reader: Reader, slots: dict[str, SlotSpec], kind: str, text: str
) -> None:
    assert answer(reader, slots, kind, text) == AnswerReading("aside")


@pytest.mark.parametrize(
    ("text", "notice"),
    [("明年三月", "date_in_future"), ("2026-12-20", "date_in_future"), ("2019-01-01", "date_too_old")],
)
def test_an_implausible_date(reader: Reader, slots: dict[str, SlotSpec], text: str, notice: str) -> None:
    assert answer(reader, slots, "date", text) == AnswerReading("implausible", notice=notice)


@pytest.mark.parametrize("kind", ["financial", "role", "date"])
@pytest.mark.parametrize("text", ["社保卡在哪激活", "激活要带哪些证件", "can I activate at a pharmacy"])
def test_a_new_question_instead_of_an_answer(reader: Reader, slots: dict[str, SlotSpec], kind: str, text: str) -> None:
    assert answer(reader, slots, kind, text) == AnswerReading("question")


@pytest.mark.parametrize("kind", ["financial", "role", "date"])
@pytest.mark.parametrize("text", ["purple", "👍", ""])
def test_nothing_understood(reader: Reader, slots: dict[str, SlotSpec], kind: str, text: str) -> None:
    assert answer(reader, slots, kind, text).outcome == "none"


@pytest.mark.parametrize("text", ["谢谢", "thanks", "thank you", "好的谢谢"])
def test_thanks_is_not_an_answer(reader: Reader, slots: dict[str, SlotSpec], text: str) -> None:
    assert answer(reader, slots, "financial", text).outcome != "value"


# -- details in a first message ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("我用不到金融功能，新卡去哪里激活", {"financial_account": False}),
        ("Where do I activate it if I don't need the bank functions?", {"financial_account": False}),
        ("我能帮我爸激活社保卡吗", {"role": "agent"}),
        ("Can my daughter activate my card for me", {"role": "insured"}),
        ("我上个月领的卡，在哪激活", {"received_date": "2026-10-01/2026-10-31"}),
        (
            "I got my card on 2026-09-01 and only need it for the doctor, where do I activate it?",
            {"financial_account": False, "received_date": "2026-09-01", "role": "insured"},  # my card
        ),
        ("我前年3月领的卡，能让我儿子帮我去激活吗", {"received_date": "2024-03-01/2024-03-31", "role": "insured"}),
        ("新社保卡应该怎么激活", {}),
        ("今天还能激活吗", {}),
        ("明年三月领卡", {}),  # an implausible date is no detail
    ],
)
def test_details_of_a_first_message(reader: Reader, text: str, details: dict[str, object]) -> None:
    assert reader.details(fold(text).strip(), TODAY) == details

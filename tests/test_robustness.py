"""No message can crash the engine: whatever arrives, a turn with a reply comes back.

Property tests (hypothesis) throw random Unicode, mixed scripts, digits, control
characters and very long texts at ``Engine.handle`` and ``Engine.classify``, including
while a follow-up question is pending; explicit cases pin down the classics.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dialogue import Engine
from bot.messages import Turn
from bot.runtime import build_engine
from bot.settings import Settings
from bot.state import MemoryStore

TODAY = date(2026, 11, 25)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    "社保卡",
    "社宝卡",
    "激活",
    "機活",
    "在哪",
    "带什么",
    "期限",
    "委托",
    "我妈",
    "不需要",
    "需要",
    "金融",
    "where",
    "activate",
    "card",
    "my mother's",
    "don’t",
    "deadline",
    "bank",
    "yes",
    "no",
    "1",
    "2",
    "0",
    "3月1日",
    "2026-03-03",
    "2月30日",
    "半年前",
    "/cancel",
    "/start",
    "/help",
    "取消",
    "算了",
    "😀",
    "👍🏻",
    "\x00",
    "\x1b[31m",
    "\u200b",
    "\u202e",
    "\ufeff",
    "\r\n",
    "\t",
    " ",
    "！",
    "？",
    "…",
    "ＡＢＣ",
    "١٢٣",
    "Ω",
    "ß",
    "İ",
    "ﬁ",
    "{",
    "}",
    "{name}",
    "%s",
    "\\",
    "'",
    '"',
    "<b>",
    "&amp;",
]

texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=120),
    st.text(alphabet=st.characters(whitelist_categories=("Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "So")), max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=15).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=15).map(" ".join),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(Settings(), MemoryStore(), today=lambda: TODAY)


def check_turn(turn: Turn) -> None:
    assert turn.replies, "every message gets a reply"
    assert turn.language in ("zh", "en")
    for reply in turn.replies:
        assert isinstance(reply.text, str) and reply.text.strip()
        assert all(isinstance(choice, str) and choice for choice in reply.choices)
        assert (reply.prompt_id is not None) or not reply.choices
    if turn.awaiting is not None:
        assert turn.replies[-1].choices and turn.replies[-1].prompt_id


def check_classification(result: dict[str, object], text: str) -> None:
    assert set(result) == {"text", "intent", "confidence", "language", "slots"}
    assert result["text"] == text
    assert isinstance(result["confidence"], float | int) and 0.0 <= result["confidence"] <= 1.0
    assert result["language"] in ("zh", "en")
    assert isinstance(result["slots"], dict)


@PROPERTY
@given(st.lists(texts, min_size=1, max_size=4), st.sampled_from([None, "zh", "en"]))
def test_no_conversation_crashes_the_engine(engine: Engine, messages: list[str], hint: str | None) -> None:
    async def converse() -> None:
        engine.store = MemoryStore()
        for text in messages:
            check_turn(await engine.handle("fuzz", text, language=hint))  # type: ignore[arg-type]

    asyncio.run(converse())


@PROPERTY
@given(texts)
def test_no_text_crashes_classify(engine: Engine, text: str) -> None:
    check_classification(engine.classify(text), text)


@PROPERTY
@given(
    st.sampled_from(["社保卡在哪激活", "How many days do I have to activate the card?", "社保卡可以代办激活吗"]), texts
)
def test_no_answer_to_a_follow_up_crashes_the_engine(engine: Engine, question: str, answer: str) -> None:
    async def converse() -> None:
        engine.store = MemoryStore()
        asked = await engine.handle("fuzz", question)
        check_turn(asked)
        check_turn(await engine.handle("fuzz", answer))
        if asked.replies[-1].prompt_id:
            turn = await engine.choose("fuzz", asked.replies[-1].prompt_id, 0)
            if turn is not None:
                check_turn(turn)

    asyncio.run(converse())


EXPLICIT = [
    "",
    " ",
    "\n\n\n",
    "\x00",
    "\x00" * 1000,
    "\u200b\u200b",
    "\ufeff社保卡在哪激活",
    "😀" * 500,
    "社保卡在哪激活" * 15_000,  # ~100 kB
    "where do I activate my card " * 4000,
    "x" * 100_000,
    "9" * 100_000,  # past Python's int-from-string limit if not cut
    "1 " * 50_000,
    "社保卡\u202eevitca",
    "社保卡 where 在哪 activate ١٢٣ ＡＢＣ",
    "{0} {name} {} %s %(x)s",
    "<script>alert(1)</script>",
    "/start@faqbot_bot extra words",
    "/cancel /cancel",
    "2026-02-30",
    "9999-99-99",
    "99999999999999999999月99999999999999日",
    "0年0月0日",
    "-1",
    "1.5",
    "１２",
]


@pytest.mark.parametrize("text", EXPLICIT, ids=range(len(EXPLICIT)))
async def test_explicit_hard_cases(engine: Engine, text: str) -> None:
    engine.store = MemoryStore()
    check_turn(await engine.handle("hard", text))
    check_classification(engine.classify(text), text)
    # and as the answer to each kind of follow-up question
    for question in ("社保卡在哪激活", "How many days do I have to activate the card?", "社保卡可以代办激活吗"):
        await engine.handle("hard", question)
        check_turn(await engine.handle("hard", text))


async def test_concurrent_conversations_do_not_mix(engine: Engine) -> None:
    engine.store = MemoryStore()
    questions = {
        f"user{i}": ("社保卡在哪激活" if i % 2 else "How many days do I have to activate the card?") for i in range(20)
    }
    turns = await asyncio.gather(*(engine.handle(key, text) for key, text in questions.items()))
    for (_key, text), turn in zip(questions.items(), turns, strict=False):
        assert turn.language == ("zh" if "社保卡" in text else "en")
    answers = await asyncio.gather(*(engine.handle(key, "1") for key in questions))
    for (_key, text), turn in zip(questions.items(), answers, strict=False):
        assert turn.intent == ("where_to_activate" if "社保卡" in text else "deadline")
        assert turn.awaiting is None

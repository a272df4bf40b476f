"""No message can crash the engine: whatever arrives, a turn with a reply comes back.

Property tests (hypothesis) throw random Unicode, mixed scripts, digits, control
characters, lone surrogates and long texts at ``Engine.handle`` and ``Engine.classify``,
including while a follow-up question is pending; explicit cases pin down the classics.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dialogue import Engine
from bot.knowledge import KnowledgeBase
from bot.messages import Command, Turn
from bot.state import MemoryStore
from bot.understanding.compiled import Compiled
from tests.support import TODAY

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UNFILLED = re.compile(r"\{[a-z_0-9]*\}")
"""A template placeholder left in a reply."""
QUESTIONS = ["社保卡在哪激活", "How many days do I have to activate the card?", "社保卡可以代办激活吗"]

FRAGMENTS = [
    "社保卡", "社宝卡", "激活", "機活", "在哪", "带什么", "期限", "委托", "我妈", "不需要", "需要", "金融", "还有",
    "where", "activate", "card", "my mother's", "don’t", "deadline", "bank", "yes", "no", "and also", "shebaoka",
    "1", "2", "0", "3月1日", "2026-03-03", "2月30日", "半年前", "五一", "春节后", "不对", "/cancel", "取消", "算了",
    "😀", "👍🏻", "\x00", "\x1b[31m", "\u200b", "\u202e", "\ufeff", "\ud800", "\r\n", "\t", " ", "！", "？", "，",
    "…", "ＡＢＣ", "١٢٣", "Ω", "ß", "İ", "ﬁ", "{", "}", "{name}", "%s", "\\", "'", '"', "<b>", "&amp;",
]  # fmt: skip

texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=120),
    st.text(alphabet=st.characters(whitelist_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Mn", "So")), max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=15).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=15).map(" ".join),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


@pytest.fixture(scope="module")
def engine(compiled_kb: tuple[KnowledgeBase, Compiled]) -> Engine:
    """One engine for the module (hypothesis reruns a test many times); each run empties its store."""
    knowledge, compiled = compiled_kb
    return Engine(knowledge, MemoryStore(), compiled=compiled, today=lambda: TODAY)


def check_turn(turn: Turn) -> None:
    assert turn.replies, "every message gets a reply"
    assert turn.language in ("zh", "en") and turn.script in ("hans", "hant", "hk", "tw")
    for reply in turn.replies:
        assert isinstance(reply.text, str) and reply.text.strip()
        assert not UNFILLED.search(reply.text), reply.text
        assert all(isinstance(choice, str) and choice for choice in reply.choices)
        assert (reply.prompt_id is not None) or not reply.choices
    if turn.awaiting is not None:
        assert turn.replies[-1].choices and turn.replies[-1].prompt_id


def check_classification(result: dict[str, object], text: str) -> None:
    assert set(result) == {"text", "intent", "confidence", "language", "slots", "did_you_mean"}
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
            check_turn(await engine.handle("fuzz", text, hint=hint))  # type: ignore[arg-type]

    asyncio.run(converse())


@PROPERTY
@given(texts)
def test_no_text_crashes_classify(engine: Engine, text: str) -> None:
    check_classification(engine.classify(text), text)


@PROPERTY
@given(st.sampled_from(QUESTIONS), texts, st.integers(0, 2))
def test_no_answer_to_a_follow_up_crashes_the_engine(engine: Engine, question: str, answer: str, index: int) -> None:
    async def converse() -> None:
        engine.store = MemoryStore()
        asked = await engine.handle("fuzz", question)
        check_turn(asked)
        check_turn(await engine.handle("fuzz", answer))
        turn = await engine.choose("fuzz", asked.replies[-1].prompt_id or "", index)
        if turn is not None:
            check_turn(turn)

    asyncio.run(converse())


EXPLICIT = [
    "",
    " ",
    "\n\n\n",
    "\x00" * 1000,
    "\u200b\u200b",
    "\ufeff社保卡在哪激活",
    "\ud800社保卡在哪激活\udfff",
    "😀" * 500,
    "社保卡在哪激活" * 15_000,  # ~100 kB
    "where do I activate my card " * 4000,
    "x" * 100_000,
    "9" * 100_000,  # past Python's int-from-string limit if not cut
    "1 " * 50_000,
    "shebaoka" * 1000,
    "社保卡\u202eevitca",
    "社保卡 where 在哪 activate ١٢٣ ＡＢＣ",
    "{0} {name} {} %s %(x)s",
    "<script>alert(1)</script>",
    "/start@faqbot_bot extra words",
    "2026-02-30",
    "9999-99-99",
    "99999999999999999999月99999999999999日",
    "二十二十二十天前",
    "0年0月0日",
    "-1",
    "1.5",
    "１２",
]


@pytest.mark.filterwarnings("ignore::UserWarning:cn2an.transform")
@pytest.mark.parametrize("text", EXPLICIT, ids=range(len(EXPLICIT)))
async def test_explicit_hard_cases(engine: Engine, text: str) -> None:
    engine.store = MemoryStore()
    check_turn(await engine.handle("hard", text))
    check_classification(engine.classify(text), text)
    for question in QUESTIONS:  # and as the answer to each kind of follow-up question
        await engine.handle("hard", question)
        check_turn(await engine.handle("hard", text))


@pytest.mark.parametrize("command", list(Command))
async def test_commands_at_any_point(engine: Engine, command: Command) -> None:
    engine.store = MemoryStore()
    check_turn(await engine.handle("cmd", command))
    await engine.handle("cmd", QUESTIONS[0])
    check_turn(await engine.handle("cmd", command))


async def test_concurrent_conversations_do_not_mix(engine: Engine) -> None:
    engine.store = MemoryStore()
    questions = {f"user{i}": QUESTIONS[i % 2] for i in range(20)}
    turns = await asyncio.gather(*(engine.handle(key, text) for key, text in questions.items()))
    for text, turn in zip(questions.values(), turns, strict=True):
        assert turn.language == ("zh" if "社保卡" in text else "en")
    answers = await asyncio.gather(*(engine.handle(key, "1") for key in questions))
    for text, turn in zip(questions.values(), answers, strict=True):
        assert (turn.intent, turn.awaiting) == ("where_to_activate" if "社保卡" in text else "deadline", None)

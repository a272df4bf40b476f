"""Follow-up questions, end to end in both languages: asked, answered, re-asked, dropped.

Answer wording lives in YAML that others edit, so replies are compared with the knowledge
base (the variant a slot value selects, the prompt's hint and ``about``, the footer), not
with copied prose. Today is 2026-11-25 (``tests.support.TODAY``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot import render
from bot.dialogue import MAX_REASKS, Engine
from bot.knowledge import KnowledgeBase, Prompt
from bot.messages import Command, Language, Turn
from bot.understanding.dates import Received
from tests.support import LANGUAGES, TODAY, is_chinese

KEY = "test:1"

ASK = {  # a question that needs a detail, per language, and the detail's slot
    "where_to_activate": ({"zh": "新领的社保卡应该到哪儿去激活", "en": "Where should I go to get my new card activated?"}, "financial_account"),
    "entrust": ({"zh": "社保卡可以代办激活吗", "en": "Can activation be done by proxy?"}, "role"),
    "deadline": ({"zh": "社保卡领了以后要在多长时间内激活", "en": "How many days do I have to activate the card?"}, "received_date"),
}  # fmt: skip
FOLLOW_UPS = [(intent, language) for intent in ASK for language in LANGUAGES]
DOCUMENTS = {"zh": "去激活社保卡要准备哪些材料", "en": "What documents should I bring to activate my card?"}
NONSENSE = {"zh": "紫色香蕉", "en": "purple banana"}
UNSURE = {"zh": "不确定", "en": "not sure"}


def prompt(kb: KnowledgeBase, intent: str, language: Language) -> Prompt:
    return kb.responses[intent].prompts[ASK[intent][1]][language]


def answer(kb: KnowledgeBase, intent: str, language: Language, **when: object) -> str:
    """The reply to ``intent`` with the variant whose ``when`` is exactly ``when`` (the footer under it)."""
    variant = next(v for v in kb.responses[intent].answers[language] if v.when == when)
    return f"{variant.text}\n\n{kb.system['legal_footer'][language]}"


def deadline_answer(kb: KnowledgeBase, language: Language, received: str) -> str:
    values = render.deadline_variables(Received.decode(received), TODAY, kb, language)
    variant = render.choose_variant(kb.responses["deadline"].answers[language], values)
    return f"{variant.text.format_map(values)}\n\n{kb.system['legal_footer'][language]}"


def assert_answered(turn: Turn, intent: str, text: str) -> None:
    """One final answer: no question left, no choices."""
    assert (turn.intent, turn.awaiting) == (intent, None)
    assert [(reply.text, reply.choices, reply.prompt_id) for reply in turn.replies] == [(text, (), None)]


def assert_asked(turn: Turn, kb: KnowledgeBase, intent: str, language: Language, text: str | None = None) -> str:
    """The follow-up of ``intent`` asked (with ``text`` shown, default the question); its prompt id."""
    question = prompt(kb, intent, language)
    assert (turn.intent, turn.awaiting, turn.language) == (intent, ASK[intent][1], language)
    [reply] = turn.replies
    assert reply.text == (text or question.text)
    assert reply.choices == tuple(question.choices) and reply.prompt_id
    return reply.prompt_id


# -- asked when a detail is missing, not when it is given ------------------------------------


@pytest.mark.parametrize(
    ("language", "text"), [("zh", "社保卡能在药店激活吗"), ("en", "can I get it activated at the hospital?")]
)
async def test_naming_a_place_gets_the_question_with_what_it_turns_on(
    engine: Engine, kb: KnowledgeBase, language: Language, text: str
) -> None:
    """Pharmacy or bank depends on the bank functions: the reply says so, then asks."""
    question = prompt(kb, "where_to_activate", language)
    turn = await engine.handle(KEY, text)
    assert_asked(turn, kb, "where_to_activate", language, f"{question.about}\n\n{question.text}")


@pytest.mark.parametrize(("intent", "language"), FOLLOW_UPS)
async def test_a_follow_up_is_asked_when_the_detail_is_missing(
    engine: Engine, kb: KnowledgeBase, intent: str, language: Language
) -> None:
    turn = await engine.handle(KEY, ASK[intent][0][language])
    assert_asked(turn, kb, intent, language)
    assert kb.system["legal_footer"][language] not in turn.replies[0].text
    state = await engine.store.get(KEY)
    assert state is not None and state.pending is not None
    assert (state.pending.kind, state.pending.intent, state.pending.slot) == ("slot", intent, ASK[intent][1])


@pytest.mark.parametrize(
    ("language", "text", "intent", "when"),
    [
        ("zh", "我用不到金融功能，新卡去哪里激活", "where_to_activate", {"financial_account": False}),
        ("en", "Where do I activate it if I don't need the bank functions?", "where_to_activate", {"financial_account": False}),
        ("zh", "我要用工资卡的功能，社保卡去哪激活", "where_to_activate", {"financial_account": True}),
        ("zh", "我能帮我爸激活社保卡吗", "entrust", {"role": "agent"}),
        ("en", "Can my daughter activate my card for me", "entrust", {"role": "insured"}),
    ],
)  # fmt: skip
async def test_no_follow_up_when_the_first_message_gives_the_detail(
    engine: Engine, kb: KnowledgeBase, language: Language, text: str, intent: str, when: dict[str, object]
) -> None:
    turn = await engine.handle(KEY, text)
    assert_answered(turn, intent, answer(kb, intent, language, **when))
    assert turn.slots == when


@pytest.mark.parametrize(
    ("language", "text"),
    [("zh", "我是2026年3月3日领的卡，最晚什么时候要激活"), ("en", "I received my card on 2026-03-03, when is the activation deadline?")],
)  # fmt: skip
async def test_a_date_in_the_deadline_question_is_not_asked_for(
    engine: Engine, kb: KnowledgeBase, language: Language, text: str
) -> None:
    turn = await engine.handle(KEY, text)
    assert_answered(turn, "deadline", deadline_answer(kb, language, "2026-03-03"))
    assert turn.slots["received_date"] == "2026-03-03"


# -- answered by choice: label, number, button -------------------------------------------------


@pytest.mark.parametrize(("intent", "language"), FOLLOW_UPS)
async def test_each_choice_by_label_number_and_button(
    make_engine: Callable[..., Engine], kb: KnowledgeBase, intent: str, language: Language
) -> None:
    slot = kb.slot(intent, ASK[intent][1])
    for index, value in enumerate(slot.values):
        expected = answer(kb, intent, language) if value is None else answer(kb, intent, language, **{slot.name: value})
        for how in ("label", "number", "button"):
            engine = make_engine()
            asked = await engine.handle(KEY, ASK[intent][0][language])
            if how == "button":
                turn = await engine.choose(KEY, asked.replies[0].prompt_id or "", index)
                assert turn is not None
            else:
                typed = asked.replies[0].choices[index] if how == "label" else f" {index + 1}。"
                turn = await engine.handle(KEY, typed)
            assert_answered(turn, intent, expected)
            assert turn.language == language, how


async def test_choose_refuses_stale_and_foreign_prompts(engine: Engine, kb: KnowledgeBase) -> None:
    asked = await engine.handle("alice", ASK["where_to_activate"][0]["en"])
    prompt_id = asked.replies[0].prompt_id or ""
    assert await engine.choose("alice", "not-a-prompt", 0) is None
    assert await engine.choose("alice", prompt_id, 2) is None  # out of range
    assert await engine.choose("alice", prompt_id, -1) is None
    assert await engine.choose("bob", prompt_id, 0) is None  # another conversation's question
    bob = await engine.handle("bob", "1")
    assert bob.awaiting is None and bob.intent != "where_to_activate"
    state = await engine.store.get("alice")
    assert state is not None and state.pending is not None and state.pending.prompt_id == prompt_id  # untouched
    done = await engine.choose("alice", prompt_id, 1)
    assert done is not None
    assert_answered(done, "where_to_activate", answer(kb, "where_to_activate", "en", financial_account=False))
    assert await engine.choose("alice", prompt_id, 0) is None  # already answered


@pytest.mark.parametrize("how", ["new question", "cancel", "other follow-up"])
async def test_a_replaced_question_is_stale(engine: Engine, how: str) -> None:
    asked = await engine.handle(KEY, ASK["where_to_activate"][0]["zh"])
    replacing = {"new question": DOCUMENTS["zh"], "cancel": "取消", "other follow-up": ASK["deadline"][0]["zh"]}
    await engine.handle(KEY, replacing[how])
    assert await engine.choose(KEY, asked.replies[0].prompt_id or "", 0) is None


async def test_an_expired_conversation_forgets_its_question(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(idle_seconds=60)

    async def age(key: str, seconds: float) -> None:
        state = await engine.store.get(key)
        assert state is not None
        state.updated_at = time.time() - seconds
        await engine.store.put(key, state)

    await engine.handle("fresh", ASK["where_to_activate"][0]["zh"])
    await age("fresh", 30)
    assert (await engine.handle("fresh", "2")).slots == {"financial_account": False}
    asked = await engine.handle("stale", ASK["where_to_activate"][0]["zh"])
    await age("stale", 61)
    assert await engine.choose("stale", asked.replies[0].prompt_id or "", 0) is None
    turn = await engine.handle("stale", "2")
    assert turn.intent != "where_to_activate" and turn.awaiting is None


# -- answered in the person's own words --------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "language", "reply", "when"),
    [
        ("where_to_activate", "zh", "要的呀，工资要打进去", {"financial_account": True}),
        ("where_to_activate", "zh", "应该用不着吧，我就看看病", {"financial_account": False}),
        ("where_to_activate", "en", "probably not, I just see the doctor", {"financial_account": False}),
        ("where_to_activate", "en", "yes I will, my wages go on it", {"financial_account": True}),
        ("entrust", "zh", "卡是我的，我腿脚不方便去不了", {"role": "insured"}),
        ("entrust", "zh", "我是帮我奶奶弄的", {"role": "agent"}),
        ("entrust", "en", "I'll send my son", {"role": "insured"}),
        ("entrust", "en", "it's my dad's card", {"role": "agent"}),
    ],
)
async def test_a_value_in_free_text(
    engine: Engine, kb: KnowledgeBase, intent: str, language: Language, reply: str, when: dict[str, object]
) -> None:
    await engine.handle(KEY, ASK[intent][0][language])
    turn = await engine.handle(KEY, reply)
    assert_answered(turn, intent, answer(kb, intent, language, **when))
    assert turn.slots == when


@pytest.mark.parametrize(
    ("language", "reply", "received"),
    [
        ("zh", "七月八号", "2026-07-08"),
        ("zh", "今年五月份", "2026-05-01/2026-05-31"),
        ("zh", "国庆节那天领的", "2026-10-01"),
        ("en", "early August", "2026-08-01/2026-08-10"),
        ("en", "10 days ago", "2026-11-15"),
        ("en", "2026-03-03", "2026-03-03"),
    ],
)
async def test_a_date_in_free_text(
    engine: Engine, kb: KnowledgeBase, language: Language, reply: str, received: str
) -> None:
    await engine.handle(KEY, ASK["deadline"][0][language])
    turn = await engine.handle(KEY, reply)
    assert_answered(turn, "deadline", deadline_answer(kb, language, received))
    when = Received.decode(received)
    reported = (
        {"received_date": received} if when.is_day else {"received_month": when.month, "received_range": received}
    )
    assert turn.slots == reported


@pytest.mark.parametrize(
    ("intent", "language", "reply"),
    [
        *((intent, language, UNSURE[language]) for intent, language in FOLLOW_UPS),
        ("where_to_activate", "en", "I don't know"),
        ("deadline", "zh", "想不起来了"),
        ("deadline", "en", "I can't recall"),
    ],
)
async def test_not_knowing_gets_the_general_answer_at_once(
    engine: Engine, kb: KnowledgeBase, intent: str, language: Language, reply: str
) -> None:
    await engine.handle(KEY, ASK[intent][0][language])
    turn = await engine.handle(KEY, reply)
    assert_answered(turn, intent, answer(kb, intent, language))
    assert turn.slots == {}


@pytest.mark.parametrize(("language", "reply"), [("zh", "谢谢"), ("en", "thanks")])
async def test_thanks_is_not_an_answer_to_the_follow_up(engine: Engine, language: Language, reply: str) -> None:
    await engine.handle(KEY, ASK["where_to_activate"][0][language])
    turn = await engine.handle(KEY, reply)
    assert turn.intent == "thanks" and "financial_account" not in turn.slots


@pytest.mark.parametrize(("intent", "language"), FOLLOW_UPS)
async def test_re_asked_twice_with_the_hint_then_the_general_answer(
    engine: Engine, kb: KnowledgeBase, intent: str, language: Language
) -> None:
    prompt_id = assert_asked(await engine.handle(KEY, ASK[intent][0][language]), kb, intent, language)
    for _ in range(MAX_REASKS):
        turn = await engine.handle(KEY, NONSENSE[language])
        assert assert_asked(turn, kb, intent, language, prompt(kb, intent, language).hint) == prompt_id
    turn = await engine.handle(KEY, NONSENSE[language])
    assert_answered(turn, intent, answer(kb, intent, language))
    state = await engine.store.get(KEY)
    assert state is not None and state.pending is None


async def test_an_answer_after_a_re_ask_still_counts(engine: Engine, kb: KnowledgeBase) -> None:
    await engine.handle(KEY, ASK["where_to_activate"][0]["zh"])
    await engine.handle(KEY, NONSENSE["zh"])
    turn = await engine.handle(KEY, "2")
    assert_answered(turn, "where_to_activate", answer(kb, "where_to_activate", "zh", financial_account=False))


@pytest.mark.parametrize(
    ("intent", "language", "aside", "reply", "when"),
    [
        ("where_to_activate", "zh", "什么是金融账户？", "不需要", {"financial_account": False}),
        ("where_to_activate", "en", "what does financial account mean?", "yes", {"financial_account": True}),
        ("entrust", "zh", "什么是授权委托书", "我替我妈", {"role": "agent"}),
        ("entrust", "en", "what is a power of attorney?", "I'll send my son", {"role": "insured"}),
    ],
)
async def test_an_aside_is_answered_and_the_question_kept(
    engine: Engine, kb: KnowledgeBase, intent: str, language: Language, aside: str, reply: str, when: dict[str, object]
) -> None:
    question = prompt(kb, intent, language)
    prompt_id = assert_asked(await engine.handle(KEY, ASK[intent][0][language]), kb, intent, language)
    for _ in range(MAX_REASKS + 1):  # asides are not re-asks: they never run out
        turn = await engine.handle(KEY, aside)
        assert assert_asked(turn, kb, intent, language, f"{question.about}\n\n{question.text}") == prompt_id
    turn = await engine.handle(KEY, reply)
    assert_answered(turn, intent, answer(kb, intent, language, **when))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("reply", "notice"), [("2026-12-20", "date_in_future"), ("2019-01-01", "date_too_old")])
async def test_an_implausible_date_is_explained_and_asked_again(
    engine: Engine, kb: KnowledgeBase, language: Language, reply: str, notice: str
) -> None:
    question = prompt(kb, "deadline", language)
    await engine.handle(KEY, ASK["deadline"][0][language])
    for _ in range(MAX_REASKS + 1):  # not counted as re-asks
        turn = await engine.handle(KEY, reply)
        assert_asked(turn, kb, "deadline", language, f"{kb.system[notice][language]}\n\n{question.text}")
    turn = await engine.handle(KEY, "2026-03-03")
    assert_answered(turn, "deadline", deadline_answer(kb, language, "2026-03-03"))


# -- a new question, cancelling ------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_new_question_replaces_the_follow_up(engine: Engine, language: Language) -> None:
    await engine.handle(KEY, ASK["where_to_activate"][0][language])
    turn = await engine.handle(KEY, DOCUMENTS[language])
    assert (turn.intent, turn.awaiting) == ("documents_needed", None)
    assert turn.replies[0].text.endswith(engine.knowledge.system["legal_footer"][language])
    after = await engine.handle(KEY, "1")  # not an answer to the dropped question
    assert "financial_account" not in after.slots and after.awaiting is None


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_new_question_with_its_own_follow_up(engine: Engine, kb: KnowledgeBase, language: Language) -> None:
    await engine.handle(KEY, ASK["where_to_activate"][0][language])
    assert_asked(await engine.handle(KEY, ASK["deadline"][0][language]), kb, "deadline", language)
    turn = await engine.handle(KEY, UNSURE[language])
    assert_answered(turn, "deadline", answer(kb, "deadline", language))


CANCELS: list[tuple[str | Command, Language | None]] = [
    (Command.CANCEL, None),  # in the conversation's language
    ("cancel", "en"),
    ("Cancel", "en"),
    ("never mind", "en"),
    ("取消", "zh"),
    ("算了", "zh"),
    (" 算了 ", "zh"),
]


@pytest.mark.parametrize(("word", "said_in"), CANCELS)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_cancel_drops_the_follow_up(
    engine: Engine, word: str | Command, said_in: Language | None, language: Language
) -> None:
    await engine.handle(KEY, ASK["where_to_activate"][0][language])
    turn = await engine.handle(KEY, word)
    reply_language = said_in or language
    assert (turn.intent, turn.awaiting, turn.language) == (None, None, reply_language)
    assert [reply.text for reply in turn.replies] == [engine.notice("cancelled", reply_language)]
    state = await engine.store.get(KEY)
    assert state is not None and state.pending is None
    after = await engine.handle(KEY, "1")
    assert "financial_account" not in after.slots and after.awaiting is None


@pytest.mark.parametrize("language", LANGUAGES)
async def test_cancel_with_nothing_pending(engine: Engine, language: Language) -> None:
    turn = await engine.handle(KEY, Command.CANCEL, hint=language)
    assert [reply.text for reply in turn.replies] == [engine.notice("nothing_to_cancel", language)]
    assert turn.intent is None


async def test_a_re_ask_in_the_other_language_accepts_its_own_choices(engine: Engine, kb: KnowledgeBase) -> None:
    prompt_id = assert_asked(await engine.handle(KEY, "激活期限"), kb, "deadline", "zh")
    hint = await engine.handle(KEY, NONSENSE["en"])
    assert assert_asked(hint, kb, "deadline", "en", prompt(kb, "deadline", "en").hint) == prompt_id
    done = await engine.handle(KEY, hint.replies[0].choices[0])  # "Not sure"
    assert_answered(done, "deadline", answer(kb, "deadline", "en"))


async def test_slot_values_do_not_leak_into_the_next_conversation(engine: Engine, kb: KnowledgeBase) -> None:
    await engine.handle("first", "我用不到金融功能，新卡去哪里激活")
    assert_asked(await engine.handle("second", ASK["where_to_activate"][0]["zh"]), kb, "where_to_activate", "zh")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_language_neutral_answer_keeps_the_language(engine: Engine, language: Language) -> None:
    await engine.handle(KEY, ASK["entrust"][0][language])
    turn = await engine.handle(KEY, "2")
    assert turn.language == language and is_chinese(turn.replies[0].text) == (language == "zh")

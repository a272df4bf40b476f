"""Whole conversations: several topics, context, declines, notes, local contacts, language, state.

Replies are compared with the knowledge base's own texts (the YAML others edit), composed
the way the bot documents it: answer, deadline note, local contacts, legal footer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import render
from bot.dialogue import Engine
from bot.dialogue.flow import CONTEXT_SECONDS
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.messages import Command, Language, Locale, Turn
from bot.state import StateStore, open_store
from bot.understanding.compiled import Compiled
from bot.understanding.dates import Received
from tests.support import LANGUAGES, TODAY, fixed_matcher, is_chinese, text_of, topic_labels

KEY = "test:1"


def general(kb: KnowledgeBase, intent: str, language: Language, **when: object) -> str:
    """The template of ``intent``'s variant whose ``when`` is exactly ``when``."""
    return next(v.text for v in kb.responses[intent].answers[language] if v.when == when)


def footer(kb: KnowledgeBase, language: Language) -> str:
    return kb.system["legal_footer"][language]


def texts(turn: Turn) -> list[str]:
    return [reply.text for reply in turn.replies]


def deadline_note(kb: KnowledgeBase, language: Language, received: str) -> str:
    values = render.deadline_variables(Received.decode(received), TODAY, kb, language)
    return kb.system[f"deadline_note_{values['deadline_status']}"][language].format_map(values)


# -- several topics in one message -------------------------------------------------------------


async def test_two_topics_are_answered_in_turn(engine: Engine, kb: KnowledgeBase) -> None:
    turn = await engine.handle(KEY, "社保卡激活要带什么？能不能让家人代办？")
    assert turn.awaiting is None
    assert texts(turn) == [
        f"{general(kb, 'documents_needed', 'zh')}\n\n{footer(kb, 'zh')}",
        f"{general(kb, 'entrust', 'zh', role='insured')}\n\n{footer(kb, 'zh')}",  # 让家人代办: for me
    ]


@pytest.mark.parametrize(
    ("language", "text", "answer", "reply"),
    [
        ("zh", "社保卡在哪激活？要带什么？", "需要", {"financial_account": True}),
        ("en", "what do I need to bring, and is there a deadline?", "2026-03-03", {"received_date": "2026-03-03"}),
    ],
)
async def test_what_can_be_answered_comes_first_then_the_follow_up(
    engine: Engine, kb: KnowledgeBase, language: Language, text: str, answer: str, reply: dict[str, object]
) -> None:
    turn = await engine.handle(KEY, text)
    [documents, question] = turn.replies
    assert documents.text == f"{general(kb, 'documents_needed', language)}\n\n{footer(kb, language)}"
    [(slot, _)] = reply.items()
    asked = "where_to_activate" if slot == "financial_account" else "deadline"
    assert question.text == kb.responses[asked].prompts[slot][language].text
    assert turn.awaiting == slot
    done = await engine.handle(KEY, answer)
    assert (done.intent, done.awaiting, done.slots) == (asked, None, reply)


async def test_queued_topics_are_asked_one_after_the_other(engine: Engine, kb: KnowledgeBase) -> None:
    first = await engine.handle(KEY, "社保卡在哪激活？激活期限是多久？")
    assert (first.intent, first.awaiting) == ("where_to_activate", "financial_account")
    state = await engine.store.get(KEY)
    assert state is not None and state.queue == ["deadline"]
    second = await engine.handle(KEY, "需要")
    assert texts(second) == [
        f"{general(kb, 'where_to_activate', 'zh', financial_account=True)}\n\n{footer(kb, 'zh')}",
        kb.responses["deadline"].prompts["received_date"]["zh"].text,
    ]
    assert second.awaiting == "received_date"
    third = await engine.handle(KEY, "不确定")
    assert (third.intent, third.awaiting) == ("deadline", None)
    assert texts(third) == [f"{general(kb, 'deadline', 'zh')}\n\n{footer(kb, 'zh')}"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [("你好呀，请问社保卡激活要带什么东西", "documents_needed"), ("thanks! also, is activation mandatory?", "activation_required")],
)  # fmt: skip
async def test_a_greeting_or_thanks_does_not_hide_the_question(engine: Engine, text: str, intent: str) -> None:
    turn = await engine.handle(KEY, text)
    assert turn.intent == intent
    assert len(turn.replies) == 1 and turn.replies[0].choices == ()


# -- context: a short follow-up is read against the topic just answered ---------------------------


async def test_an_elliptical_follow_up_within_the_context_time(engine: Engine, kb: KnowledgeBase) -> None:
    await engine.handle(KEY, "I don't need banking, can a pharmacy activate my card?")
    turn = await engine.handle(KEY, "what about the hospital then")
    assert (turn.intent, turn.awaiting, turn.slots) == ("where_to_activate", None, {"financial_account": False})
    assert texts(turn) == [f"{general(kb, 'where_to_activate', 'en', financial_account=False)}\n\n{footer(kb, 'en')}"]


async def test_no_context_after_the_context_time(engine: Engine) -> None:
    await engine.handle(KEY, "I don't need banking, can a pharmacy activate my card?")
    state = await engine.store.get(KEY)
    assert state is not None and state.context is not None and state.context.intent == "where_to_activate"
    state.context.at = time.time() - CONTEXT_SECONDS - 1
    await engine.store.put(KEY, state)
    turn = await engine.handle(KEY, "what about the hospital then")
    assert turn.intent is None and "financial_account" not in turn.slots


async def test_a_question_about_a_detail_just_used_is_explained(engine: Engine, kb: KnowledgeBase) -> None:
    await engine.handle(KEY, "社保卡可以代办激活吗")
    await engine.handle(KEY, "我替我妈")
    turn = await engine.handle(KEY, "授权委托书是什么意思")
    assert (turn.intent, turn.awaiting) == ("entrust", None)
    assert texts(turn) == [kb.responses["entrust"].prompts["role"]["zh"].about]


@pytest.mark.parametrize("text", ["👍", "？"])
async def test_a_thumbs_up_after_an_answer_is_acknowledged(engine: Engine, kb: KnowledgeBase, text: str) -> None:
    await engine.handle(KEY, "社保卡怎么激活")
    turn = await engine.handle(KEY, text)
    assert turn.intent is None
    assert texts(turn) == [general(kb, "acknowledgement", "zh")]


# -- declined honestly -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"), [("激活社保卡要收费吗", "zh"), ("does it cost anything to get the card activated?", "en")]
)
async def test_not_covered(engine: Engine, kb: KnowledgeBase, text: str, language: Language) -> None:
    turn = await engine.handle(KEY, text)
    assert (turn.intent, turn.awaiting) == (None, None)
    assert [(r.text, r.choices) for r in turn.replies] == [(general(kb, "not_covered", language), ())]


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [("are you a robot?", "bot_identity", "en"), ("哈哈哈", "laughter", "zh"), ("好的拜拜", "goodbye", "zh"), ("👍", "acknowledgement", "zh")],
)  # fmt: skip
async def test_small_talk_gets_one_short_line(
    engine: Engine, kb: KnowledgeBase, text: str, intent: str, language: Language
) -> None:
    turn = await engine.handle(KEY, text)
    assert turn.intent is None
    assert [(r.text, r.choices) for r in turn.replies] == [(general(kb, intent, language), ())]
    assert footer(kb, language) not in text_of(turn)


@pytest.mark.parametrize(("text", "language"), [("我要转人工", "zh"), ("can I talk to a real person please", "en")])
async def test_a_request_for_a_person(engine: Engine, kb: KnowledgeBase, text: str, language: Language) -> None:
    turn = await engine.handle(KEY, text)
    assert turn.intent == "contact"  # reported as the contact topic
    assert texts(turn) == [general(kb, "human", language)]


@pytest.mark.parametrize(
    ("text", "language"), [("How do I activate a new SIM card?", "en"), ("我的信用卡怎么开卡", "zh")]
)
async def test_the_fallback_offers_the_topics(engine: Engine, kb: KnowledgeBase, text: str, language: Language) -> None:
    turn = await engine.handle(KEY, text)
    assert (turn.intent, turn.awaiting) == (None, None)
    [reply] = turn.replies
    assert (reply.text, reply.choices) == (engine.notice("fallback", language), topic_labels(kb, language))
    chosen = await engine.handle(KEY, str(kb.topics.index("deadline") + 1))
    assert (chosen.intent, chosen.awaiting) == ("deadline", "received_date")


@pytest.mark.parametrize(
    ("message", "intent", "language"),
    [(Command.START, "greeting", "en"), (Command.HELP, "help", "zh"), ("你好", "greeting", "zh"), ("hi there", "greeting", "en")],
)  # fmt: skip
async def test_greeting_and_help_offer_the_topics(
    engine: Engine, kb: KnowledgeBase, message: str | Command, intent: str, language: Language
) -> None:
    turn = await engine.handle(KEY, message, hint=language)
    assert (turn.intent, turn.language) == (intent, language)
    [reply] = turn.replies
    assert reply.text.startswith(general(kb, intent, language))
    assert reply.choices == topic_labels(kb, language) and reply.prompt_id
    picked = await engine.choose(KEY, reply.prompt_id or "", kb.topics.index("where_to_activate"))
    assert picked is not None and (picked.intent, picked.awaiting) == ("where_to_activate", "financial_account")


async def test_did_you_mean_asks_and_the_choice_keeps_the_details(
    make_engine: Callable[..., Engine], compiled_kb: tuple[KnowledgeBase, Compiled], kb: KnowledgeBase
) -> None:
    engine = make_engine()
    real = engine.reader.matcher
    engine.reader.matcher = fixed_matcher(compiled_kb, how_to_activate=0.40, where_to_activate=0.38, out_of_scope=0.22)
    asked = await engine.handle(KEY, "我不需要金融功能，社保卡激活")
    [reply] = asked.replies
    labels = kb.responses
    assert reply.text == engine.notice("disambiguation", "zh")
    assert reply.choices == (labels["how_to_activate"].label["zh"], labels["where_to_activate"].label["zh"])
    engine.reader.matcher = real
    chosen = await engine.choose(KEY, reply.prompt_id or "", 1)
    assert chosen is not None
    assert (chosen.intent, chosen.awaiting, chosen.slots) == ("where_to_activate", None, {"financial_account": False})


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_topic_ends_with_the_footer_once(engine: Engine, kb: KnowledgeBase, language: Language) -> None:
    """…unless its intent says ``footer: false`` (the legal basis, which quotes the law itself)."""
    for index, topic in enumerate(kb.topics):
        key = f"topic:{topic}"
        menu = await engine.handle(key, Command.START, hint=language)
        turn = await engine.choose(key, menu.replies[-1].prompt_id or "", index)
        assert turn is not None and turn.intent == topic
        while turn.awaiting is not None:  # take the first choice of every follow-up
            turn = await engine.handle(key, "1")
        expected = 1 if kb.intents[topic].footer else 0
        assert turn.replies[-1].text.endswith(footer(kb, language)) == bool(expected), topic
        assert text_of(turn).count(footer(kb, language)) == expected, topic
        assert is_chinese(text_of(turn)) == (language == "zh")


# -- the deadline note in other answers --------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "intent", "when", "received"),
    [
        ("en", "I got my card on 2026-09-01 and only need it for the doctor, where do I activate it?",
         "where_to_activate", {"financial_account": False}, "2026-09-01"),
        ("zh", "我前年3月领的卡一直没激活，现在能让我儿子帮我去激活吗", "entrust", {"role": "insured"},
         "2024-03-01/2024-03-31"),
        ("zh", "我上个月领的卡，在哪激活？不需要银行功能", "where_to_activate", {"financial_account": False},
         "2026-10-01/2026-10-31"),
    ],
)  # fmt: skip
async def test_a_date_given_with_another_question_adds_the_deadline_note(
    engine: Engine, kb: KnowledgeBase, language: Language, text: str, intent: str, when: dict, received: str
) -> None:
    turn = await engine.handle(KEY, text)
    assert (turn.intent, turn.awaiting) == (intent, None)
    note = deadline_note(kb, language, received)
    assert texts(turn) == [f"{general(kb, intent, language, **when)}\n\n{note}\n\n{footer(kb, language)}"]
    assert turn.slots == {**when, **engine.flow.answers.reported_details({"received_date": received})}


# -- local contacts (responses/local.yaml) -------------------------------------------------------

LOCAL = """\
local:
  bureau: {zh: 示例市社保局, en: Example City Social Security Bureau}
  phone: "0571-12345678"
  hours: {zh: 工作日 9:00-17:00, en: "Weekdays 9:00-17:00"}
"""


@pytest.fixture
def local_engine(kb_dir: Path, make_engine: Callable[..., Engine]) -> Engine:
    (kb_dir / "responses" / "local.yaml").write_text(LOCAL, encoding="utf-8")
    return make_engine(knowledge=load_knowledge(kb_dir))


@pytest.mark.parametrize(
    ("text", "intent", "language", "lines"),
    [
        ("激活社保卡要收费吗", "not_covered", "zh", ["社保局：示例市社保局", "电话：0571-12345678", "办公时间：工作日 9:00-17:00"]),
        ("can I talk to a real person please", "human", "en",
         ["Social security bureau: Example City Social Security Bureau", "Phone: 0571-12345678", "Opening hours: Weekdays 9:00-17:00"]),
    ],
)  # fmt: skip
async def test_local_contacts_under_the_answers_that_need_them(
    local_engine: Engine, kb: KnowledgeBase, text: str, intent: str, language: Language, lines: list[str]
) -> None:
    turn = await local_engine.handle(KEY, text)
    local = "\n".join([kb.system["local_header"][language], *lines])
    assert texts(turn) == [f"{general(kb, intent, language)}\n\n{local}"]


async def test_no_local_contacts_elsewhere_or_without_the_file(
    local_engine: Engine, engine: Engine, kb: KnowledgeBase
) -> None:
    where = await local_engine.handle(KEY, "我用不到金融功能，新卡去哪里激活")
    assert "0571-12345678" not in text_of(where)
    plain = await engine.handle(KEY, "激活社保卡要收费吗")
    assert kb.system["local_header"]["zh"] not in text_of(plain)


# -- language and script, kept in the conversation ------------------------------------------------


async def test_traditional_writers_read_traditional_all_along(engine: Engine, kb: KnowledgeBase) -> None:
    asked = await engine.handle(KEY, "社保卡可以代辦啟用嗎")
    assert (asked.intent, asked.awaiting, asked.script) == ("entrust", "role", "tw")
    assert asked.replies[0].choices == ("請別人替我激活", "我替別人激活")
    assert "請" in asked.replies[0].text and "请" not in asked.replies[0].text
    done = await engine.handle(KEY, "1")  # tells nothing about the script: it is kept
    assert (done.script, done.slots) == ("tw", {"role": "insured"})
    assert "委託" in done.replies[0].text and "委托" not in done.replies[0].text
    assert await engine.locale(KEY) == Locale("zh", "tw")
    assert engine.notice("cancelled", Locale("zh", "tw")) == "好的，已取消。還有其他問題嗎？"


async def test_cantonese_writers_read_hong_kong_forms(engine: Engine) -> None:
    turn = await engine.handle(KEY, "社保卡喺邊度可以開通㗎")
    assert (turn.intent, turn.script) == ("where_to_activate", "hk")
    assert "銀行" in turn.replies[0].text and "银行" not in turn.replies[0].text


async def test_the_language_follows_the_writer_and_the_hint_fills_in(engine: Engine) -> None:
    assert (await engine.handle(KEY, "😀", hint="en")).language == "en"
    assert (await engine.handle(KEY, "1")).language == "en"  # neutral: kept
    assert (await engine.handle(KEY, "社保卡怎么激活")).language == "zh"
    assert (await engine.handle(KEY, "2", hint="en")).language == "zh"  # the conversation wins over the hint
    assert await engine.locale(KEY, "en") == Locale("zh", "hans")
    assert await engine.locale("nobody", "en") == Locale("en", "hans")


# -- the state round trip ------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    return str(request.getfixturevalue("redis_url"))


async def test_queue_and_context_survive_the_store(make_engine: Callable[..., Engine], store_url: str) -> None:
    store: StateStore = await open_store(store_url)
    try:
        engine = make_engine(store=store)
        await engine.handle(KEY, "社保卡在哪激活？激活期限是多久？")
        state = await store.get(KEY)
        assert state is not None and state.queue == ["deadline"] and state.pending is not None
        if not store_url.startswith("memory"):  # a restart: a new engine on the same store
            await store.close()
            store = await open_store(store_url)
            engine = make_engine(store=store)
        turn = await engine.handle(KEY, "需要")
        assert (turn.intent, turn.awaiting) == ("where_to_activate", "received_date")
        state = await store.get(KEY)
        assert state is not None and state.queue == []
        assert state.context is not None and state.context.intent == "where_to_activate"
        assert state.context.slots == {"financial_account": True}
        assert (state.language, state.script) == ("zh", "hans")
        assert type(state).model_validate_json(state.model_dump_json()) == state
    finally:
        await store.close()

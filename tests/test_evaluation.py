"""``faqbot eval`` (on questions and on answers to follow-ups) and ``faqbot test`` (conversations).

Each command is run in this process through ``bot.cli.main`` on small files written here,
whose every verdict is known, so that the figures can be asserted exactly.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.evaluation.answers import AnswerRow, judge
from bot.evaluation.conversations import TurnCheck, check_turn, date_forms
from bot.messages import Reply, Turn
from bot.settings import PROJECT_ROOT

QUESTIONS = [
    {"text": "我用不到金融功能，新卡去哪里激活", "intents": ["where_to_activate"], "lang": "zh", "slots": {"financial_account": False}},
    {"text": "社保卡激活需要带什么证件", "intents": ["deadline"], "lang": "zh"},  # mislabelled: a wrong answer
    {"text": "What documents should I bring to activate my card?", "intents": ["documents_needed"], "lang": "en"},
    {"text": "How can I activate my social security card?", "intents": ["how_to_activate", "where_to_activate"], "lang": "en"},
    {"text": "How do I activate a new SIM card?", "intents": ["none"], "lang": "en"},
    {"text": "我的信用卡怎么开卡", "intents": ["none"], "lang": "zh"},
    {"text": "激活社保卡要收费吗", "intents": ["where_to_activate"], "lang": "zh"},  # not covered: a miss, not a wrong answer
]  # fmt: skip

ANSWERS = [
    ({"ask": "社保卡在哪里激活", "answer": "要的呀", "expect": {"financial_account": True}}, "taken"),
    ({"ask": "社保卡在哪里激活", "answer": "不需要", "expect": {"financial_account": True}}, "wrong"),
    ({"ask": "社保卡在哪里激活", "answer": "紫色香蕉", "expect": {"financial_account": True}}, "missed"),
    ({"ask": "你好", "answer": "1", "expect": {"financial_account": True}}, "not_asked"),
    ({"ask": "激活期限", "answer": "今年五月份", "expect": {"received_month": "2026-05"}}, "taken"),
    ({"ask": "激活期限", "answer": "2026-03-03", "expect": {"received_date": "2026-03-03"}}, "taken"),
    ({"ask": "激活期限", "answer": "不确定", "expect": {"unsure": True}}, "taken"),
    ({"ask": "Can activation be done by proxy?", "answer": "it's my dad's card", "lang": "en", "expect": {"role": "agent"}}, "taken"),
]  # fmt: skip

PASSING = """\
- name: where, then no
  today: "2026-11-25"
  turns:
    - user: 社保卡在哪激活
      intent: where_to_activate
      awaiting: financial_account
    - user: 不需要
      awaiting: null
      all: [["药店", "医院"]]
      none: ["Do you need"]
- name: a deadline date
  turns:
    - user: 激活期限
      awaiting: received_date
    - user: "2026-03-03"
      dates: ["2026-09-03", "2026-12-28"]
      not_intent: null
      max_len: 2000
"""


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n\n", encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _project_knowledge(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The commands read the project's knowledge base, whatever the environment says."""
    monkeypatch.setenv("FAQBOT_KB_DIR", str(PROJECT_ROOT))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout


# -- eval on questions ---------------------------------------------------------------------------


def test_eval_on_questions(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    code, out, _ = run(capsys, "eval", "--json", "--today", "2026-11-25", str(path))
    report = json.loads(out)
    assert code == 0
    assert report["total"] == 7
    assert report["accuracy"] == pytest.approx(5 / 7, abs=1e-4)
    assert report["in_scope_accuracy"] == {"en": 1.0, "zh": pytest.approx(1 / 3, abs=1e-4)}
    assert report["out_of_scope_rejection"] == {"en": 1.0, "zh": 1.0}
    assert report["wrong_answer_rate"] == pytest.approx(1 / 7, abs=1e-4)  # documents_needed for "deadline"
    assert report["did_you_mean_rate"] == 0.0
    assert (report["slot_accuracy"], report["slot_lines"]) == (1.0, 1)
    assert report["per_intent"]["deadline"] == {"precision": None, "recall": 0.0, "support": 1}
    assert [(m["line"], m["got"]) for m in report["misses"]] == [(2, "documents_needed"), (7, "none")]
    assert {"expected": "deadline", "predicted": "documents_needed", "count": 1} in report["top_confusions"]
    code, out, _ = run(capsys, "eval", str(path))
    assert code == 0
    assert "line 2: '社保卡激活需要带什么证件' expected deadline, got documents_needed" in out
    assert out.rstrip().endswith("overall accuracy: 71.4%")
    assert "wrong answers (another topic's answer): 14.3%" in out


# -- eval on answers to follow-up questions ------------------------------------------------------


def test_eval_on_answers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = [{"today": "2026-11-25", "lang": "zh", **row} for row, _ in ANSWERS]
    path = write_jsonl(tmp_path / "answers.jsonl", rows)
    code, out, _ = run(capsys, "eval", "--json", str(path))
    report = json.loads(out)
    assert code == 0
    verdicts = [verdict for _, verdict in ANSWERS]
    assert report["total"] == len(ANSWERS) and report["not_asked"] == 1
    for verdict in ("taken", "wrong", "missed"):
        assert report[verdict] == pytest.approx(verdicts.count(verdict) / len(ANSWERS), abs=1e-4), verdict
    assert sorted((m["line"], m["verdict"]) for m in report["misses"]) == [
        (number, verdict) for number, verdict in enumerate(verdicts, start=1) if verdict != "taken"
    ]
    assert report["by_kind"]["financial_account"]["lines"] == 4
    assert report["by_kind"]["received_month"]["taken"] == 1.0
    assert set(report["by_language"]) == {"zh", "en"}
    code, out, _ = run(capsys, "eval", str(path))
    assert "line 2: '不需要' expected {'financial_account': True} → wrong" in out
    assert "wrong value: 12.5%" in out


def turn(intent: str | None, awaiting: str | None = None, **slots: object) -> Turn:
    return Turn(intent, "zh", (Reply("…"),), awaiting=awaiting, slots=slots)


@pytest.mark.parametrize(
    ("expect", "answered", "verdict"),
    [
        ({"received_month": "2026-05"}, turn("deadline", received_month="2026-05", received_range="x"), "taken"),
        ({"received_month": "2026-05"}, turn("deadline", received_date="2026-05-01"), "wrong"),  # too precise
        ({"received_date": "2026-05-01"}, turn("deadline", awaiting="received_date"), "missed"),
        ({"received_date": "2026-05-01"}, turn("documents_needed"), "missed"),  # another topic
        ({"unsure": True}, turn("deadline"), "taken"),
        ({"unsure": True}, turn("deadline", received_date="2026-05-01"), "wrong"),
        ({"unsure": True}, turn("deadline", awaiting="received_date"), "missed"),
        ({"financial_account": True}, turn("deadline"), "not_asked"),  # asked for another slot
    ],
)
def test_judge(expect: dict[str, object], answered: Turn, verdict: str) -> None:
    row = AnswerRow(ask="激活期限", answer="…", today=date(2026, 11, 25), expect=expect)
    assert judge(row, turn("deadline", awaiting="received_date"), answered)[0] == verdict


# -- faqbot test -----------------------------------------------------------------------------------


def test_passing_conversations(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "a.yaml").write_text(PASSING, encoding="utf-8")
    (tmp_path / "more" / "notes.txt").write_text("not a conversation file", encoding="utf-8")
    code, out, _ = run(capsys, "test", "--today", "2026-11-25", str(tmp_path / "more"))
    assert (code, out.strip()) == (0, "passed: 2/2 conversations, 4/4 turns passed (1 file(s))")


def test_a_failing_conversation_shows_a_readable_diff_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    failing = PASSING.replace("intent: where_to_activate", "intent: deadline").replace(
        'none: ["Do you need"]', 'none: ["药店"]'
    )
    path = tmp_path / "failing.yaml"
    path.write_text(failing, encoding="utf-8")
    code, out, _ = run(capsys, "test", str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "✗ where, then no, turn 1: '社保卡在哪激活'"
    assert lines[1] == "    intent: expected 'deadline', got 'where_to_activate'"
    assert lines[2].startswith("    reply: ") and "金融账户" in lines[2]
    assert "✗ where, then no, turn 2: '不需要'" in lines
    assert "    none: '药店' is in the reply" in lines
    assert lines[-1] == "FAILED: 1/2 conversations, 2/4 turns passed (1 file(s))"


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("- name: x\n  turns:\n    - user: hi\n\tbad: tab\n", "bad.yaml:4: invalid YAML"),
        ("name: x\n", "bad.yaml:1: expected a list of conversations"),
        ("- name: x\n  turns:\n    - user: hi\n      intnet: greeting\n", "bad.yaml: conversation 1: turns.0.intnet"),
        ("- name: x\n  turns: []\n", "bad.yaml: conversation 1: turns"),
        ("- name: x\n  today: someday\n  turns:\n    - user: hi\n", "bad.yaml: conversation 1: today"),
    ],
)
def test_a_malformed_conversation_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, where: str
) -> None:
    (tmp_path / "bad.yaml").write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "test", str(tmp_path / "bad.yaml"))
    assert (code, out) == (2, "")
    assert err.startswith("faqbot test: ") and where in err and "Traceback" not in err


def test_no_conversations_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("conversations: []\n", encoding="utf-8")
    code, _, err = run(capsys, "test", str(tmp_path / "empty.yaml"))
    assert code == 2 and "no conversations found" in err


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        (['{"text": "hi", "intents": ["greeting"]}', "{not json"], "bad.jsonl:2: not an evaluation line"),
        (['{"text": "hi", "intents": []}'], "bad.jsonl:1: not an evaluation line (intents"),
        (['{"text": "hi", "intents": ["greeting"], "slots": [1]}'], "bad.jsonl:1"),
        (['{"ask": "激活期限", "answer": "不确定", "today": "2026-11-25", "expect": {"colour": "red"}}'], "bad.jsonl:1: not an answer line"),
        (['{"ask": "激活期限", "answer": "x", "today": "2026-11-25", "expect": {}}', "x"], "bad.jsonl:1: not an answer line"),
    ],
)  # fmt: skip
def test_a_malformed_evaluation_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lines: list[str], where: str
) -> None:
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "eval", str(tmp_path / "bad.jsonl"))
    assert (code, out) == (2, "")
    assert where in err and "Traceback" not in err


def test_a_missing_evaluation_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "eval", str(tmp_path / "nowhere.jsonl"))
    assert code == 2 and "nowhere.jsonl" in err


# -- the checks of one turn --------------------------------------------------------------------


def test_date_forms() -> None:
    forms = date_forms(date(2026, 3, 3))
    assert {"2026-03-03", "2026年3月3日", "3 March 2026", "March 3, 2026"} <= forms


def test_check_turn_reports_every_difference() -> None:
    shown = Turn("deadline", "en", (Reply("By 3 September 2026.", ("Not sure",)),), awaiting="received_date")
    expected = TurnCheck(
        user="x", intent="entrust", not_intent="deadline", awaiting=None, all=[["Not sure"], ["nope", "nah"]],
        none=["september"], dates=[date(2026, 9, 3), date(2026, 12, 28)], max_len=10,
    )  # fmt: skip
    assert check_turn(expected, shown) == [
        "intent: expected 'entrust', got 'deadline'",
        "not_intent: the reply must not be 'deadline'",
        "awaiting: expected None, got 'received_date'",
        "all: none of ['nope', 'nah'] in the reply",
        "none: 'september' is in the reply",
        "dates: 2026-12-28 is not in the reply (in any common form)",
        "max_len: the reply has 29 characters, more than 10",
    ]
    assert check_turn(TurnCheck(user="x"), shown) == []
    assert check_turn(TurnCheck(user="x", not_intent=None), Turn(None, "en", ())) == [
        "not_intent: the reply must not be out of scope"
    ]

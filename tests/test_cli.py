"""The ``faqbot`` command line as other tools see it: a subprocess, its output and exit code.

``chat --json``, ``classify`` and ``eval --json`` are contracts (one JSON object per line,
fixed keys). ``faqbot test tests/conversations`` is the conversation suite: every
conversation must pass. The commands run in parallel (module fixture), on the compiled
knowledge base the session fixture has cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase
from bot.settings import PROJECT_ROOT
from bot.understanding.compiled import Compiled, cache_folder

TODAY = "2026-11-25"

CHAT_LINES = [
    "",
    "新领的社保卡应该到哪儿去激活",
    "2",
    "How many days do I have to activate the card after receiving it?",
    "2026-03-03",
    "/cancel",
    "How do I activate a new SIM card?",
    "1",
    "/start",
]

CLASSIFY_ARGS = [
    "我用不到金融功能，新卡去哪里激活",
    "I got my card two months ago, what is the deadline to activate it?",
    "How do I activate a new SIM card?",
    "1",
]

EVAL_ROWS = [
    {"text": "社保卡激活需要带什么证件", "intents": ["documents_needed"], "lang": "zh"},
    {"text": "How do I activate a new SIM card?", "intents": ["none"], "lang": "en"},
]
ANSWER_ROWS = [{"ask": "激活期限", "answer": "不确定", "today": TODAY, "lang": "zh", "expect": {"unsure": True}}]

QUESTIONS_REPORT_KEYS = {
    "total", "accuracy", "in_scope_accuracy", "out_of_scope_rejection", "wrong_answer_rate", "did_you_mean_rate",
    "slot_accuracy", "slot_lines", "per_intent", "top_confusions", "misses",
}  # fmt: skip
ANSWERS_REPORT_KEYS = {"total", "lines", "taken", "wrong", "missed", "not_asked", "by_kind", "by_language", "misses"}


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def _start(args: tuple[str, ...], cwd: Path, **extra_env: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAQBOT_")}
    env |= {"PYTHONIOENCODING": "utf-8", "FAQBOT_CACHE_DIR": str(cache_folder()), "FAQBOT_KB_DIR": str(PROJECT_ROOT)}
    env |= extra_env
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, encoding="utf-8", env=env, cwd=cwd,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, compiled_kb: tuple[KnowledgeBase, Compiled]
) -> Iterator[dict[str, Run]]:
    """Every command of this module, run in parallel once the compiled knowledge base is cached."""
    folder = tmp_path_factory.mktemp("cli")
    questions, answers = folder / "questions.jsonl", folder / "answers.jsonl"
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in EVAL_ROWS) + "\n", encoding="utf-8")
    answers.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ANSWER_ROWS) + "\n", encoding="utf-8")
    commands: dict[str, tuple[tuple[str, ...], str]] = {
        "chat_json": (("chat", "--json", "--today", TODAY), "\n".join(CHAT_LINES) + "\n"),
        "chat_text": (("chat", "--today", TODAY), "新领的社保卡应该到哪儿去激活\n"),
        "classify_args": (("classify", "--today", TODAY, *CLASSIFY_ARGS), ""),
        "classify_stdin": (("classify",), "社保卡激活需要带什么证件\nHow can I activate my social security card?\n"),
        "eval_questions": (("eval", "--json", str(questions)), ""),
        "eval_answers": (("eval", "--json", str(answers)), ""),
        "conversations": (("test", str(PROJECT_ROOT / "tests" / "conversations")), ""),
        "chat_bad_today": (("chat", "--today", "2026-13-01"), ""),
        "check": (("check",), ""),
        "no_command": ((), ""),
    }
    started = {name: _start(args, folder) for name, (args, _) in commands.items()}
    results: dict[str, Run] = {}
    try:
        for name, process in started.items():
            args, stdin = commands[name]
            stdout, stderr = process.communicate(stdin, timeout=180)
            results[name] = Run(args, process.returncode, stdout, stderr)
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    yield results


def ok(run: Run) -> Run:
    assert run.returncode == 0, f"faqbot {' '.join(run.args)} exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
    assert "Traceback" not in run.stderr
    return run


# -- the conversation suite ----------------------------------------------------------------------


def test_every_conversation_test_passes(runs: dict[str, Run]) -> None:
    out = ok(runs["conversations"]).stdout
    assert "✗" not in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("passed: ") and "(2 file(s))" in last
    conversations, turns = last.removeprefix("passed: ").split(", ")[:2]
    done, total = conversations.split()[0].split("/")
    assert done == total and int(total) >= 58
    turns_done, turns_total = turns.split()[0].split("/")
    assert turns_done == turns_total


# -- chat --json ---------------------------------------------------------------------------------


def test_chat_json_one_record_per_input_line(runs: dict[str, Run]) -> None:
    records = ok(runs["chat_json"]).json_lines()
    assert len(runs["chat_json"].stdout.splitlines()) == len(records) == len(CHAT_LINES)  # nothing else on stdout
    for record, line in zip(records, CHAT_LINES, strict=True):
        assert set(record) == {"user", "intent", "replies", "awaiting", "slots"}
        assert record["user"] == line
        assert record["intent"] is None or isinstance(record["intent"], str)
        assert record["awaiting"] is None or isinstance(record["awaiting"], str)
        assert isinstance(record["slots"], dict)
        replies = record["replies"]
        assert isinstance(replies, list) and replies
        for reply in replies:
            assert set(reply) == {"text", "choices"}
            assert isinstance(reply["text"], str) and reply["text"]
            assert isinstance(reply["choices"], list) and all(isinstance(c, str) for c in reply["choices"])


def test_chat_json_conversation(runs: dict[str, Run], kb: KnowledgeBase) -> None:
    records = ok(runs["chat_json"]).json_lines()
    steps = [(r["intent"], r["awaiting"], len(r["replies"][-1]["choices"]), r["slots"]) for r in records]  # type: ignore[index]
    topics = len(kb.topics)
    assert steps == [
        (None, None, 0, {}),  # an empty line still gets a reply
        ("where_to_activate", "financial_account", 2, {}),
        ("where_to_activate", None, 0, {"financial_account": False}),
        ("deadline", "received_date", 1, {}),
        ("deadline", None, 0, {"received_date": "2026-03-03"}),
        (None, None, 0, {}),  # /cancel, with nothing to cancel
        (None, None, topics, {}),  # the fallback and its menu
        ("where_to_activate", "financial_account", 2, {}),  # menu item 1
        ("greeting", None, topics, {}),
    ]
    texts = [record["replies"][-1]["text"] for record in records]  # type: ignore[index]
    assert texts[2].endswith(kb.system["legal_footer"]["zh"])
    assert all(day in texts[4] for day in ("3 September 2026", "28 December 2026", "25 November 2026"))  # --today
    assert texts[5] == kb.system["nothing_to_cancel"]["en"]
    assert texts[6] == kb.system["fallback"]["en"]


def test_chat_text_shows_numbered_choices(runs: dict[str, Run], kb: KnowledgeBase) -> None:
    out = ok(runs["chat_text"]).stdout
    choices = kb.responses["where_to_activate"].prompts["financial_account"]["zh"].choices
    assert out.splitlines()[0] == kb.responses["where_to_activate"].prompts["financial_account"]["zh"].text
    for number, choice in enumerate(choices, start=1):
        assert f"  [{number}] {choice}" in out.splitlines()


# -- classify --------------------------------------------------------------------------------------


def test_classify_contract_and_results(runs: dict[str, Run]) -> None:
    records = ok(runs["classify_args"]).json_lines()
    assert [record["text"] for record in records] == CLASSIFY_ARGS
    for record in records:
        assert set(record) == {"text", "intent", "confidence", "language", "slots", "did_you_mean"}
        assert isinstance(record["confidence"], int | float) and 0 <= record["confidence"] <= 1
        assert record["did_you_mean"] is None or len(record["did_you_mean"]) == 2  # type: ignore[arg-type]
    where, deadline, sim, number = records
    assert (where["intent"], where["language"], where["slots"]) == (
        "where_to_activate",
        "zh",
        {"financial_account": False},
    )
    assert (deadline["intent"], deadline["language"]) == ("deadline", "en")
    assert deadline["slots"] == {  # two months before --today: that month, not a day
        "received_month": "2026-09", "received_range": "2026-09-01/2026-09-30", "role": "insured",
    }  # fmt: skip
    assert (sim["intent"], sim["slots"]) == (None, {})
    assert (number["intent"], number["slots"]) == (None, {})


def test_classify_reads_standard_input(runs: dict[str, Run]) -> None:
    records = ok(runs["classify_stdin"]).json_lines()
    assert [(r["intent"], r["language"]) for r in records] == [("documents_needed", "zh"), ("how_to_activate", "en")]


# -- eval --json -----------------------------------------------------------------------------------


def test_eval_json_on_questions(runs: dict[str, Run]) -> None:
    report = json.loads(ok(runs["eval_questions"]).stdout)
    assert set(report) == QUESTIONS_REPORT_KEYS
    assert (report["total"], report["accuracy"], report["wrong_answer_rate"], report["did_you_mean_rate"]) == (
        2,
        1.0,
        0.0,
        0.0,
    )
    for scores in report["per_intent"].values():
        assert set(scores) == {"precision", "recall", "support"}


def test_eval_json_on_answers(runs: dict[str, Run]) -> None:
    report = json.loads(ok(runs["eval_answers"]).stdout)
    assert set(report) == ANSWERS_REPORT_KEYS
    assert (report["total"], report["taken"], report["wrong"], report["not_asked"]) == (1, 1.0, 0.0, 0)
    assert report["by_kind"] == {"unsure": {"lines": 1, "taken": 1.0, "wrong": 0.0, "missed": 0.0}}


# -- check, usage ----------------------------------------------------------------------------------


def test_check_passes_on_the_real_knowledge_base(runs: dict[str, Run], kb: KnowledgeBase) -> None:
    out = ok(runs["check"]).stdout
    assert out.startswith("knowledge base OK: ") and f"{len(kb.intents)} intents" in out


@pytest.mark.parametrize(("name", "says"), [("chat_bad_today", "2026-13-01"), ("no_command", "usage")])
def test_usage_errors_exit_2(runs: dict[str, Run], name: str, says: str) -> None:
    run = runs[name]
    assert run.returncode == 2 and says in run.stderr.lower() and "Traceback" not in run.stderr


SERVER_ENV = {"FAQBOT_STATE_URL": "memory://", "WECHAT_TOKEN": "token", "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot"}
COMMANDS = [("check",), ("chat", "--json"), ("classify", "社保卡怎么激活"), ("run",), ("serve", "--port", "9")]


def test_commands_refuse_a_broken_knowledge_base_naming_file_and_line(kb_dir: Path, tmp_path: Path) -> None:
    path = kb_dir / "intents" / "thanks.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, "\tbroken: tab"]) + "\n", encoding="utf-8")
    env = {"FAQBOT_KB_DIR": str(kb_dir), "FAQBOT_CACHE_DIR": str(tmp_path / "cache"), **SERVER_ENV}
    started = [(args, _start(args, kb_dir, **env)) for args in COMMANDS]
    for args, process in started:
        stdout, stderr = process.communicate("社保卡怎么激活\n", timeout=120)
        assert process.returncode == 2, (args, stderr)
        assert f"{path}:{len(lines) + 1}:" in stderr, (args, stderr)  # before any token check or network call
        assert "Traceback" not in stderr and stdout == "", args


def test_empty_settings_lines_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv("WECHAT_AES_KEY", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram_bot_token is None and settings.wechat_aes_key is None

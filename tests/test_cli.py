"""The ``faqbot`` command line as other tools see it: a subprocess, its output and exit code.

``chat --json``, ``classify`` and ``eval --json`` are contracts (one JSON object per line,
fixed keys); answer wording is not asserted. The commands are started all at once
(module fixture) because each one spends most of its time loading the knowledge base.
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

from bot.knowledge import load_knowledge
from bot.settings import PROJECT_ROOT

TODAY = "2026-11-25"

CHAT_LINES = [
    "新领的社保卡应该到哪儿去激活",
    "2",
    "How many days do I have to activate the card after receiving it?",
    "2026-03-03",
    "Where should I go to get my new social security card activated?",
    "/cancel",
    "1",
    "",
    "How do I activate a new SIM card?",
]

CLASSIFY_ARGS = [
    "我用不到金融功能，新卡去哪里激活",
    "I got my card two months ago, what is the deadline to activate it?",
    "How do I activate a new SIM card?",
    "1",
]

EVAL_ROWS = [
    {
        "text": "我用不到金融功能，新卡去哪里激活",
        "intents": ["where_to_activate"],
        "lang": "zh",
        "slots": {"financial_account": False},
    },
    {"text": "社保卡激活需要带什么证件", "intents": ["deadline"], "lang": "zh"},  # deliberately mislabelled: a miss
    {"text": "What documents should I bring to activate my card?", "intents": ["documents_needed"], "lang": "en"},
    {
        "text": "How can I activate my social security card?",
        "intents": ["how_to_activate", "where_to_activate"],
        "lang": "en",
    },
    {"text": "How do I activate a new SIM card?", "intents": ["none"], "lang": "en"},
    {"text": "我的信用卡怎么开卡", "intents": ["none"], "lang": "zh"},
]


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def _start(args: tuple[str, ...], stdin: str, cwd: Path) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAQBOT_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, encoding="utf-8", env=env, cwd=cwd,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every command of this module, run in parallel, by name."""
    folder = tmp_path_factory.mktemp("cli")
    labelled = folder / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in EVAL_ROWS) + "\n\n", encoding="utf-8")
    malformed = folder / "malformed.jsonl"
    malformed.write_text(json.dumps(EVAL_ROWS[0], ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    no_intents = folder / "no_intents.jsonl"
    no_intents.write_text('{"text": "hi", "intents": []}\n', encoding="utf-8")
    bad_slots = folder / "bad_slots.jsonl"
    bad_slots.write_text('{"text": "hi", "intents": ["greeting"], "slots": [1]}\n', encoding="utf-8")
    commands: dict[str, tuple[tuple[str, ...], str]] = {
        "chat_json": (("chat", "--json", "--today", TODAY), "\n".join(CHAT_LINES) + "\n"),
        "chat_text": (("chat", "--today", TODAY), "新领的社保卡应该到哪儿去激活\n"),
        "classify_args": (("classify", "--today", TODAY, *CLASSIFY_ARGS), ""),
        "classify_stdin": (("classify",), "社保卡激活需要带什么证件\nHow can I activate my social security card?\n"),
        "eval_text": (("eval", str(labelled)), ""),
        "eval_json": (("eval", "--json", str(labelled)), ""),
        "eval_malformed": (("eval", str(malformed)), ""),
        "eval_missing": (("eval", str(folder / "nowhere.jsonl")), ""),
        "eval_no_intents": (("eval", str(no_intents)), ""),
        "eval_bad_slots": (("eval", str(bad_slots)), ""),
        "chat_bad_today": (("chat", "--today", "2026-13-01"), ""),
        "check": (("check",), ""),
        "no_command": ((), ""),
    }
    started = {name: (args, _start(args, stdin, folder)) for name, (args, stdin) in commands.items()}
    results: dict[str, Run] = {}
    try:
        for name, (args, process) in started.items():
            stdin = commands[name][1]
            stdout, stderr = process.communicate(stdin, timeout=120)
            results[name] = Run(args, process.returncode, stdout, stderr)
    finally:
        for _, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    yield results


def ok(run: Run) -> Run:
    assert run.returncode == 0, f"faqbot {' '.join(run.args)} exited {run.returncode}:\n{run.stderr}"
    assert "Traceback" not in run.stderr
    return run


# -- chat --json ---------------------------------------------------------------------------


def test_chat_json_one_record_per_input_line(runs: dict[str, Run]) -> None:
    records = ok(runs["chat_json"]).json_lines()
    assert len(records) == len(CHAT_LINES)
    assert len(runs["chat_json"].stdout.splitlines()) == len(CHAT_LINES)  # nothing else on stdout
    for record, line in zip(records, CHAT_LINES, strict=False):
        assert set(record) == {"user", "intent", "replies", "awaiting", "slots"}
        assert record["user"] == line
        assert record["intent"] is None or isinstance(record["intent"], str)
        assert record["awaiting"] is None or isinstance(record["awaiting"], str)
        replies = record["replies"]
        assert isinstance(replies, list) and replies
        for reply in replies:
            assert set(reply) == {"text", "choices"}
            assert isinstance(reply["text"], str) and reply["text"]
            assert isinstance(reply["choices"], list) and all(isinstance(c, str) for c in reply["choices"])


def test_chat_json_conversation(runs: dict[str, Run]) -> None:
    knowledge = load_knowledge(PROJECT_ROOT)
    footer = knowledge.system["legal_footer"]
    records = ok(runs["chat_json"]).json_lines()
    steps = [(r["intent"], r["awaiting"], len(r["replies"][-1]["choices"])) for r in records]  # type: ignore[index]
    assert steps[0] == ("where_to_activate", "financial_account", 2)
    assert steps[1] == ("where_to_activate", None, 0)
    assert records[1]["replies"][-1]["text"].endswith(footer["zh"])  # type: ignore[index]
    assert steps[2] == ("deadline", "received_date", 1)
    assert steps[3] == ("deadline", None, 0)
    deadline_text = records[3]["replies"][-1]["text"]  # type: ignore[index]
    assert (
        "2026-09-03" in deadline_text and "2026-12-28" in deadline_text and TODAY in deadline_text
    )  # --today honoured
    assert deadline_text.endswith(footer["en"])
    assert steps[4] == ("where_to_activate", "financial_account", 2)
    assert steps[5][:2] == (None, None)  # /cancel
    assert steps[6][:2] == (None, None)  # "1" is no longer an answer
    assert steps[7][0] is None  # an empty line still gets a reply
    assert steps[8][:2] == (None, None)
    assert "12333" in records[8]["replies"][-1]["text"]  # type: ignore[index]


def test_chat_text_shows_numbered_choices(runs: dict[str, Run]) -> None:
    knowledge = load_knowledge(PROJECT_ROOT)
    out = ok(runs["chat_text"]).stdout
    choices = knowledge.responses["where_to_activate"].prompts["financial_account"]["zh"].choices
    for number, choice in enumerate(choices, start=1):
        assert f"[{number}] {choice}" in out
    assert "{" not in out.splitlines()[0]  # not JSON


# -- classify --------------------------------------------------------------------------------


def test_classify_contract(runs: dict[str, Run]) -> None:
    records = ok(runs["classify_args"]).json_lines()
    assert len(records) == len(CLASSIFY_ARGS)
    for record, text in zip(records, CLASSIFY_ARGS, strict=False):
        assert set(record) == {"text", "intent", "confidence", "language", "slots"}
        assert record["text"] == text
        assert isinstance(record["confidence"], (int, float)) and 0 <= record["confidence"] <= 1
        assert record["language"] in ("zh", "en")
        assert isinstance(record["slots"], dict)


def test_classify_results(runs: dict[str, Run]) -> None:
    where, deadline, sim, number = ok(runs["classify_args"]).json_lines()
    assert (where["intent"], where["language"], where["slots"]) == (
        "where_to_activate",
        "zh",
        {"financial_account": False},
    )
    assert (deadline["intent"], deadline["language"]) == ("deadline", "en")
    assert deadline["slots"] == {"received_date": "2026-09-25"}  # two months before --today
    assert (sim["intent"], sim["slots"]) == (None, {})
    assert number["intent"] is None


def test_classify_reads_standard_input(runs: dict[str, Run]) -> None:
    records = ok(runs["classify_stdin"]).json_lines()
    assert [(r["intent"], r["language"]) for r in records] == [("documents_needed", "zh"), ("how_to_activate", "en")]


# -- eval ------------------------------------------------------------------------------------


def test_eval_json_report(runs: dict[str, Run]) -> None:
    report = json.loads(ok(runs["eval_json"]).stdout)
    assert report["total"] == 6
    assert report["accuracy"] == pytest.approx(5 / 6, abs=1e-4)
    assert report["in_scope_accuracy"] == {"en": 1.0, "zh": 0.5}
    assert report["out_of_scope_rejection"] == {"en": 1.0, "zh": 1.0}
    assert report["slot_accuracy"] == 1.0 and report["slot_lines"] == 1
    per_intent = report["per_intent"]
    assert per_intent["documents_needed"] == {"precision": 0.5, "recall": 1.0, "support": 1}
    assert per_intent["deadline"] == {"precision": None, "recall": 0.0, "support": 1}
    assert per_intent["none"]["precision"] == 1.0 and per_intent["none"]["recall"] == 1.0
    for scores in per_intent.values():
        assert set(scores) == {"precision", "recall", "support"}
    [miss] = report["misses"]
    assert miss["line"] == 2
    assert (miss["expected"], miss["got"]) == (["deadline"], "documents_needed")
    assert 0 <= miss["confidence"] <= 1
    assert report["top_confusions"] == [{"expected": "deadline", "predicted": "documents_needed", "count": 1}]


def test_eval_text_report(runs: dict[str, Run]) -> None:
    out = ok(runs["eval_text"]).stdout
    assert "83.3%" in out  # overall accuracy, 5 of 6
    assert "50.0%" in out  # Chinese in-scope accuracy
    assert "line 2" in out  # the miss
    assert "documents_needed" in out


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("eval_malformed", "malformed.jsonl:2"),
        ("eval_missing", "nowhere.jsonl"),
        ("eval_no_intents", "no_intents.jsonl:1"),
        ("eval_bad_slots", "bad_slots.jsonl:1"),
        ("chat_bad_today", "2026-13-01"),
    ],
)
def test_eval_on_a_bad_file_exits_2(runs: dict[str, Run], name: str, where: str) -> None:
    run = runs[name]
    assert run.returncode == 2
    assert where in run.stderr
    assert "Traceback" not in run.stderr


# -- check, usage ----------------------------------------------------------------------------


def test_check_passes_on_the_real_knowledge_base(runs: dict[str, Run]) -> None:
    assert "OK" in ok(runs["check"]).stdout


def test_a_command_is_required(runs: dict[str, Run]) -> None:
    run = runs["no_command"]
    assert run.returncode == 2
    assert "usage" in run.stderr.lower()

"""Loading the knowledge base, and telling FAQ authors exactly where a mistake is.

Each broken-file test copies ``intents/`` and ``responses/`` to a temporary folder and
rewrites one small file (``thanks``) with content written here, so the expected line
numbers do not depend on the real files others are editing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge import OUT_OF_SCOPE, KnowledgeBase, KnowledgeError, load_knowledge
from bot.normalize import normalize
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def real() -> KnowledgeBase:
    return load_knowledge(PROJECT_ROOT)


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A private copy of the knowledge base to break."""
    for folder in ("intents", "responses"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    return tmp_path


THANKS_INTENT = """\
intent: thanks
domain: false
examples:
  zh:
    - 谢谢
    - 多谢
  en:
    - thanks
    - thank you
"""

THANKS_RESPONSES = """\
intent: thanks
label:
  zh: 感谢
  en: Thanks
answers:
  zh:
    - text: "不客气！"
  en:
    - text: "You're welcome!"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    """1-based number of the first line of ``path`` containing ``marker``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {path}")


def problems_of(root: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(root)
    assert caught.value.problems, "a KnowledgeError must list its problems"
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def problem_at(problems: list[str], path: Path, line: int | set[int], *words: str) -> str:
    """The problem reported at ``path:line`` (or at one of the ``line`` set) that mentions every one of ``words``."""
    lines = {line} if isinstance(line, int) else line
    prefixes = tuple(f"{path}:{number}: " for number in sorted(lines))
    found = [p for p in problems if p.startswith(prefixes) and all(word in p for word in words)]
    assert found, f"no problem at {prefixes} mentioning {words}; got:\n" + "\n".join(problems)
    return found[0]


def block(path: Path, key_marker: str) -> set[int]:
    """A block-valued key's line, or its block's first line: either tells the author where to look."""
    line = line_of(path, key_marker)
    return {line, line + 1}


# -- the real knowledge base -----------------------------------------------------------------


def test_the_real_knowledge_base_loads(real: KnowledgeBase) -> None:
    assert OUT_OF_SCOPE in real.intents
    assert OUT_OF_SCOPE not in real.responses
    assert OUT_OF_SCOPE not in real.topics
    assert set(real.topics) == {name for name, spec in real.intents.items() if spec.domain and name != OUT_OF_SCOPE}
    assert len(real.topics) == len(set(real.topics))
    for language in ("zh", "en"):
        assert real.system["legal_footer"][language].strip()
        assert "12333" in real.system["fallback"][language]


def test_every_intent_has_examples_and_answers_in_both_languages(real: KnowledgeBase) -> None:
    for name, spec in real.intents.items():
        assert spec.examples.get("zh") and spec.examples.get("en"), name
        if name == OUT_OF_SCOPE:
            continue
        response = real.responses[name]
        assert set(response.label) >= {"zh", "en"}, name
        for language in ("zh", "en"):
            variants = response.answers[language]
            assert variants and not variants[-1].when, f"{name}/{language}: the last answer is the general one"
        for slot in spec.slots:
            for language in ("zh", "en"):
                assert len(response.prompts[slot.name][language].choices) == len(slot.values)


def test_examples_know_where_they_were_written(real: KnowledgeBase) -> None:
    for example in real.examples:
        path, line = example.where.rsplit(":", 1)
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        assert normalize(example.text).text in normalize(lines[int(line) - 1]).text, example


def test_the_unchanged_copy_loads(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT)
    write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES)
    knowledge = load_knowledge(kb_dir)
    assert knowledge.intents["thanks"].examples["en"] == ["thanks", "thank you"]


# -- broken files: file and line -------------------------------------------------------------


@pytest.mark.parametrize(("folder", "text"), [("intents", THANKS_INTENT), ("responses", THANKS_RESPONSES)])
def test_yaml_syntax_error(kb_dir: Path, folder: str, text: str) -> None:
    path = write(kb_dir / folder / "thanks.yaml", text + "\tbroken: tab\n")
    problem_at(problems_of(kb_dir), path, line_of(path, "broken"), "YAML")


def test_yaml_syntax_error_in_the_middle(kb_dir: Path) -> None:
    text = THANKS_INTENT.replace("    - 多谢\n", "    - 多谢\n   - 感谢\n")  # one space short
    path = write(kb_dir / "intents" / "thanks.yaml", text)
    problem_at(problems_of(kb_dir), path, line_of(path, "感谢"), "YAML")


def test_missing_english_answer(kb_dir: Path) -> None:
    text = THANKS_RESPONSES.replace('  en:\n    - text: "You\'re welcome!"\n', "")
    path = write(kb_dir / "responses" / "thanks.yaml", text)
    problem_at(problems_of(kb_dir), path, block(path, "answers:"), "no 'en' answer")


def test_missing_english_label(kb_dir: Path) -> None:
    path = write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES.replace("  en: Thanks\n", ""))
    problem_at(problems_of(kb_dir), path, block(path, "label:"), "no 'en' label")


def test_missing_english_examples(kb_dir: Path) -> None:
    text = THANKS_INTENT.replace("  en:\n    - thanks\n    - thank you\n", "")
    path = write(kb_dir / "intents" / "thanks.yaml", text)
    problem_at(problems_of(kb_dir), path, block(path, "examples:"), "no 'en' examples")


def test_unknown_template_variable(kb_dir: Path) -> None:
    text = THANKS_RESPONSES.replace("You're welcome!", "You're welcome, {name}!")
    path = write(kb_dir / "responses" / "thanks.yaml", text)
    problem = problem_at(problems_of(kb_dir), path, line_of(path, "{name}"), "unknown variable", "{name}")
    assert "known: none" in problem


def test_unknown_template_variable_lists_the_known_ones(kb_dir: Path) -> None:
    path = kb_dir / "responses" / "deadline.yaml"
    text = path.read_text(encoding="utf-8")
    marker = "{half_year_date}"
    assert marker in text
    write(path, text.replace(marker, "{half_yaer_date}", 1))
    problems = problems_of(kb_dir)
    [problem] = [p for p in problems if "half_yaer_date" in p]
    assert problem.startswith(f"{path}:")
    line = int(problem[len(f"{path}:") :].split(":")[0])
    assert line <= line_of(path, "half_yaer_date")
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].lstrip().startswith("- ")  # the variant holding it
    for known in ("half_year_date", "day300_date", "received_date", "deadline_status", "today"):
        assert known in problem


@pytest.mark.parametrize("template", ["You're welcome {oops", "You're welcome } ", "You're welcome {}"])
def test_a_broken_template_is_a_problem_not_a_crash(kb_dir: Path, template: str) -> None:
    path = write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES.replace("You're welcome!", template))
    problem_at(problems_of(kb_dir), path, line_of(path, template.strip()))


def test_literal_braces_are_fine(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT)
    write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES.replace("You're welcome!", "You're welcome {{:}}"))
    load_knowledge(kb_dir)


def test_example_duplicated_under_two_intents(kb_dir: Path, real: KnowledgeBase) -> None:
    other = next(example for example in real.examples if example.intent == "greeting" and example.language == "en")
    shouted = other.text.upper() + "!!"  # the same after normalisation
    path = write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT + f"    - {shouted}\n")
    problem = problem_at(problems_of(kb_dir), path, line_of(path, shouted), "greeting")
    other_file = other.where.rsplit(":", 1)[0]
    assert f"{kb_dir}/intents/{Path(other_file).name}:{other.where.rsplit(':', 1)[1]}" in problem


def test_the_same_example_twice_under_one_intent_is_allowed(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT + "    - Thank you!\n")
    load_knowledge(kb_dir)


SLOTTED_INTENT = THANKS_INTENT.replace(
    "domain: false\n", "domain: false\nslots:\n  - name: who\n    type: role\n    values: [insured, agent]\n"
)


def test_slot_without_prompt(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", SLOTTED_INTENT)
    path = write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES)
    problem_at(problems_of(kb_dir), path, 1, "slot 'who' has no prompt")


PROMPTS = """\
prompts:
  who:
    zh:
      text: "谁去？"
      choices: ["我自己", "别人"]
      hint: "请选择"
    en:
      text: "Who goes?"
      choices: ["Me", "Someone else"]
      hint: "Please choose"
"""


def test_slot_with_prompts_loads(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", SLOTTED_INTENT)
    write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES + PROMPTS)
    assert load_knowledge(kb_dir).slot("thanks", "who").values == ["insured", "agent"]


def test_slot_without_english_prompt(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", SLOTTED_INTENT)
    prompts = PROMPTS.split("    en:\n")[0]
    path = write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES + prompts)
    problem_at(problems_of(kb_dir), path, block(path, "  who:"), "slot 'who' has no 'en' prompt")


def test_choices_count_differs_from_slot_values(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", SLOTTED_INTENT)
    prompts = PROMPTS.replace('["Me", "Someone else"]', '["Me", "Someone else", "Nobody"]')
    path = write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES + prompts)
    problem_at(problems_of(kb_dir), path, line_of(path, '"Nobody"'), "3 choices", "2 slot values")


def test_prompt_for_an_unknown_slot(kb_dir: Path) -> None:
    write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT)
    path = write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES + PROMPTS)
    problem_at(problems_of(kb_dir), path, block(path, "  who:"), "unknown slot 'who'")


def test_unknown_field(kb_dir: Path) -> None:
    path = write(
        kb_dir / "intents" / "thanks.yaml", THANKS_INTENT.replace("domain: false", "domain: false\nsynonyms: [a, b]")
    )
    problem_at(problems_of(kb_dir), path, line_of(path, "synonyms"), "synonyms")


def test_wrong_type(kb_dir: Path) -> None:
    path = write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT.replace("domain: false", "domain: perhaps"))
    problem_at(problems_of(kb_dir), path, line_of(path, "perhaps"), "domain")


def test_unknown_slot_type(kb_dir: Path) -> None:
    path = write(kb_dir / "intents" / "thanks.yaml", SLOTTED_INTENT.replace("type: role", "type: colour"))
    problem_at(problems_of(kb_dir), path, line_of(path, "colour"), "type")


def test_last_answer_must_be_the_general_one(kb_dir: Path) -> None:
    text = THANKS_RESPONSES.replace('    - text: "不客气！"', '    - when: {role: agent}\n      text: "不客气！"')
    write(kb_dir / "intents" / "thanks.yaml", SLOTTED_INTENT)
    path = write(kb_dir / "responses" / "thanks.yaml", text + PROMPTS)
    problem_at(problems_of(kb_dir), path, line_of(path, "when:"), "general answer")


def test_responses_for_an_unknown_intent(kb_dir: Path) -> None:
    path = write(kb_dir / "responses" / "ghost.yaml", THANKS_RESPONSES.replace("intent: thanks", "intent: ghost"))
    problem_at(problems_of(kb_dir), path, 1, "unknown intent 'ghost'")


def test_intent_without_responses(kb_dir: Path) -> None:
    (kb_dir / "responses" / "thanks.yaml").unlink()
    path = kb_dir / "intents" / "thanks.yaml"
    problem_at(problems_of(kb_dir), path, line_of(path, "intent: thanks"), "no responses file")


def test_every_problem_is_reported_at_once(kb_dir: Path) -> None:
    bad_intent = write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT + "\tbroken: tab\n")
    bad_response = write(kb_dir / "responses" / "legal_basis.yaml", "intent: legal_basis\nlabel: [\n")
    problems = problems_of(kb_dir)
    assert any(p.startswith(f"{bad_intent}:") for p in problems)
    assert any(p.startswith(f"{bad_response}:") for p in problems)


def test_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "intents").mkdir()
    problem_at(problems_of(tmp_path), tmp_path / "responses", 1, "folder missing")


# -- the commands refuse a broken knowledge base -------------------------------------------------


def run_faqbot(kb_dir: Path, *args: str, stdin: str = "", **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAQBOT_KB_DIR": str(kb_dir), "PYTHONIOENCODING": "utf-8", **extra_env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=kb_dir, timeout=60,
    )  # fmt: skip


SERVER_ENV = {"FAQBOT_STATE_URL": "memory://", "WECHAT_TOKEN": "token", "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot"}


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("check",), ""),
        (("chat", "--json"), "社保卡怎么激活\n"),
        (("classify",), "社保卡怎么激活\n"),
        (("run",), ""),  # before any token check or network call
        (("serve", "--port", "9"), ""),
    ],
)
def test_commands_name_file_and_line_and_exit_2(kb_dir: Path, args: tuple[str, ...], stdin: str) -> None:
    path = write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT + "\tbroken: tab\n")
    result = run_faqbot(kb_dir, *args, stdin=stdin, **SERVER_ENV)
    assert result.returncode == 2, result.stderr
    assert f"{path}:{line_of(path, 'broken')}:" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # chat did not start


def test_anchor_that_is_not_a_lexicon_concept(kb_dir: Path) -> None:
    path = write(
        kb_dir / "intents" / "thanks.yaml",
        THANKS_INTENT.replace("domain: false\n", "domain: false\nanchors: [gratitude]\n"),
    )
    problem_at(problems_of(kb_dir), path, line_of(path, "anchors:"), "anchor 'gratitude'")


def test_a_when_value_the_slot_never_takes(kb_dir: Path) -> None:
    path = kb_dir / "responses" / "entrust.yaml"
    write(path, path.read_text(encoding="utf-8").replace("when: {role: agent}", "when: {role: agnet}", 1))
    problem_at(problems_of(kb_dir), path, line_of(path, "agnet"), "role is never 'agnet'")


def test_the_legal_basis_answer_names_the_law_once_before_its_footer(real: KnowledgeBase) -> None:
    from bot.render import answer

    text = answer(real, "legal_basis", "zh", {})
    assert text.count("法律依据") == 1 and text.endswith(real.system["legal_footer"]["zh"])
    assert "个人依法享受社会保险待遇，有权监督本单位为其缴费情况。" in text

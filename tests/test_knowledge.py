"""Loading the knowledge base, and telling FAQ authors exactly where a mistake is (``file:line``).

Each broken-file test works on a private copy (``kb_dir``) and rewrites one small file
(``thanks``) with content written here, or changes one line of another, so the expected
line numbers are found from the text rather than copied from files others edit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import DEADLINE_STATUSES, OUT_OF_SCOPE, SYSTEM_TEXTS, KnowledgeBase, KnowledgeError, load_knowledge
from bot.knowledge.checks import REQUIRED_CONCEPTS, REQUIRED_INTENTS

THANKS_INTENT = """\
intent: thanks
kind: social
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

SLOTTED_INTENT = THANKS_INTENT.replace(
    "kind: social\n", "kind: social\nslots:\n  - name: who\n    type: role\n    values: [insured, agent]\n"
)

PROMPTS = """\
prompts:
  who:
    zh:
      text: "谁去？"
      choices: ["我自己", "别人"]
      hint: "请选择"
      about: "谁去办"
    en:
      text: "Who goes?"
      choices: ["Me", "Someone else"]
      hint: "Please choose"
      about: "Who goes there"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {path.name}: update this test"
    return write(path, text.replace(old, new, 1))


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


def problem_at(root: Path, path: Path, line: int | set[int], *words: str) -> str:
    """The one problem reported at ``path:line`` (or one of the ``line`` set) mentioning all ``words``."""
    problems = problems_of(root)
    lines = {line} if isinstance(line, int) else line
    prefixes = tuple(f"{path}:{number}: " for number in sorted(lines))
    found = [p for p in problems if p.startswith(prefixes) and all(word in p for word in words)]
    assert found, f"no problem at {prefixes} mentioning {words}; got:\n" + "\n".join(problems)
    return found[0]


def block(path: Path, key_marker: str) -> set[int]:
    """A block-valued key's line, or its block's first line: either tells the author where to look."""
    line = line_of(path, key_marker)
    return {line, line + 1}


@pytest.fixture
def thanks(kb_dir: Path) -> Path:
    """The copy, with the thanks files replaced by the small ones above."""
    write(kb_dir / "intents" / "thanks.yaml", THANKS_INTENT)
    write(kb_dir / "responses" / "thanks.yaml", THANKS_RESPONSES)
    return kb_dir


# -- the real knowledge base -----------------------------------------------------------------


def test_the_real_knowledge_base(kb: KnowledgeBase) -> None:
    for name, kind in REQUIRED_INTENTS.items():
        assert kb.intents[name].kind == kind
    assert OUT_OF_SCOPE not in kb.responses and OUT_OF_SCOPE not in kb.topics
    assert set(kb.topics) == {name for name, spec in kb.intents.items() if spec.kind == "domain"}
    assert len(kb.topics) == len(set(kb.topics))
    assert set(REQUIRED_CONCEPTS) <= set(kb.lexicon)
    for name in SYSTEM_TEXTS:
        assert kb.system[name]["zh"].strip() and kb.system[name]["en"].strip(), name
    assert {e.intent for e in kb.slot_examples} >= {"financial=True", "financial=False", "role=insured", "unsure"}
    assert {e.intent for e in kb.asides} == {slot.name for spec in kb.intents.values() for slot in spec.slots}


def test_every_intent_has_examples_and_answers_in_both_languages(kb: KnowledgeBase) -> None:
    for name, spec in kb.intents.items():
        assert spec.examples.get("zh") and spec.examples.get("en"), name
        if spec.kind == "out_of_scope":
            continue
        response = kb.responses[name]
        assert set(response.label) == {"zh", "en"}, name
        for language in ("zh", "en"):
            assert not response.answers[language][-1].when, f"{name}/{language}: the last answer is the general one"
        for slot in spec.slots:
            for language in ("zh", "en"):
                assert len(response.prompts[slot.name][language].choices) == len(slot.values)


def test_deadline_variants_cover_every_status(kb: KnowledgeBase) -> None:
    for language in ("zh", "en"):
        whens = [variant.when.get("deadline_status") for variant in kb.responses["deadline"].answers[language]]
        assert set(whens) == {*DEADLINE_STATUSES, None}


def test_examples_know_where_they_were_written(kb: KnowledgeBase) -> None:
    for example in (*kb.examples, *kb.slot_examples, *kb.asides):
        path, line = example.where.rsplit(":", 1)
        written = Path(path).read_text(encoding="utf-8").splitlines()[int(line) - 1]
        assert example.text in written or example.text in written.replace("''", "'"), example


def test_the_small_thanks_files_load(thanks: Path) -> None:
    assert load_knowledge(thanks).intents["thanks"].examples["en"] == ["thanks", "thank you"]


# -- syntax and shape ----------------------------------------------------------------------------


@pytest.mark.parametrize(("folder", "text"), [("intents", THANKS_INTENT), ("responses", THANKS_RESPONSES)])
def test_yaml_syntax_error(thanks: Path, folder: str, text: str) -> None:
    path = write(thanks / folder / "thanks.yaml", text + "\tbroken: tab\n")
    problem_at(thanks, path, line_of(path, "broken"), "YAML")


def test_yaml_syntax_error_in_the_middle(thanks: Path) -> None:
    path = write(thanks / "intents" / "thanks.yaml", THANKS_INTENT.replace("    - 多谢\n", "    - 多谢\n   - 感谢\n"))
    problem_at(thanks, path, line_of(path, "感谢"), "YAML")


def test_a_file_that_is_not_utf8(thanks: Path) -> None:
    path = thanks / "intents" / "thanks.yaml"
    path.write_bytes(b"intent: thanks\nexamples: \xff\xfe\n")
    problem_at(thanks, path, 1, "cannot read")


@pytest.mark.parametrize(
    ("old", "new", "marker", "words"),
    [
        ("kind: social", "kind: social\nsynonyms: [a, b]", "synonyms", ("synonyms",)),  # unknown field
        ("kind: social", "kind: friendly", "friendly", ("kind",)),  # not a kind
        ("intent: thanks", "intent: Thanks!", "Thanks!", ("intent",)),  # not an id
        ("    - thank you", "    - '  '", "examples:", ("empty example",)),  # the validator of all examples
    ],
)
def test_a_field_that_does_not_fit(thanks: Path, old: str, new: str, marker: str, words: tuple[str, ...]) -> None:
    path = edit(thanks / "intents" / "thanks.yaml", old, new)
    problem_at(thanks, path, block(path, marker), *words)


def test_an_unknown_slot_type(thanks: Path) -> None:
    path = write(thanks / "intents" / "thanks.yaml", SLOTTED_INTENT.replace("type: role", "type: colour"))
    problem_at(thanks, path, line_of(path, "colour"), "type")


def test_a_second_file_for_the_same_intent(thanks: Path) -> None:
    path = write(thanks / "intents" / "thanks_again.yaml", THANKS_INTENT)
    problem_at(thanks, path, 1, "'thanks' also in", "thanks.yaml")


def test_a_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "intents").mkdir()
    problem_at(tmp_path, tmp_path / "responses", 1, "folder missing")


def test_every_problem_is_reported_at_once(thanks: Path) -> None:
    bad_intent = write(thanks / "intents" / "thanks.yaml", THANKS_INTENT + "\tbroken: tab\n")
    bad_response = write(thanks / "responses" / "legal_basis.yaml", "intent: legal_basis\nlabel: [\n")
    problems = problems_of(thanks)
    assert any(p.startswith(f"{bad_intent}:") for p in problems)
    assert any(p.startswith(f"{bad_response}:") for p in problems)


# -- intents and responses -----------------------------------------------------------------------


def test_missing_english_examples(thanks: Path) -> None:
    path = edit(thanks / "intents" / "thanks.yaml", "  en:\n    - thanks\n    - thank you\n", "")
    problem_at(thanks, path, block(path, "examples:"), "no 'en' examples")


def test_missing_english_answer_and_label(thanks: Path) -> None:
    path = edit(thanks / "responses" / "thanks.yaml", '  en:\n    - text: "You\'re welcome!"\n', "")
    problem_at(thanks, path, block(path, "answers:"), "no 'en' answer")
    edit(path, "  en: Thanks\n", "")
    problem_at(thanks, path, block(path, "label:"), "no 'en' label")


@pytest.mark.parametrize(("old", "new", "words"), [("kind: social", "kind: social\nreports_as: ghost", ("reports_as", "'ghost'")),
                                                   ("kind: social", "kind: social\nanchors: [gratitude]", ("anchor 'gratitude'",))])  # fmt: skip
def test_names_that_point_nowhere(thanks: Path, old: str, new: str, words: tuple[str, ...]) -> None:
    path = edit(thanks / "intents" / "thanks.yaml", old, new)
    problem_at(thanks, path, line_of(path, new.splitlines()[-1]), *words)


def test_an_intent_without_responses(thanks: Path) -> None:
    (thanks / "responses" / "thanks.yaml").unlink()
    path = thanks / "intents" / "thanks.yaml"
    problem_at(thanks, path, line_of(path, "intent: thanks"), "no responses file")


@pytest.mark.parametrize("name", ["ghost", OUT_OF_SCOPE])
def test_responses_for_an_unknown_or_unanswered_intent(thanks: Path, name: str) -> None:
    path = write(thanks / "responses" / f"{name}.yaml", THANKS_RESPONSES.replace("intent: thanks", f"intent: {name}"))
    problem_at(thanks, path, 1, f"unknown intent '{name}'")


def test_an_example_under_two_intents(thanks: Path, kb: KnowledgeBase) -> None:
    other = next(example for example in kb.examples if example.intent == "greeting" and example.language == "en")
    shouted = other.text.upper() + "!!"  # the same after normalisation
    path = write(thanks / "intents" / "thanks.yaml", THANKS_INTENT + f"    - {shouted}\n")
    problem = problem_at(thanks, path, line_of(path, shouted), "greeting")
    file, line = other.where.rsplit(":", 1)
    assert f"{thanks}/intents/{Path(file).name}:{line}" in problem


def test_the_same_example_twice_under_one_intent_is_allowed(thanks: Path) -> None:
    write(thanks / "intents" / "thanks.yaml", THANKS_INTENT + "    - Thank you!\n")
    load_knowledge(thanks)


# -- templates, variants and prompts -------------------------------------------------------------


def test_an_unknown_variable(thanks: Path) -> None:
    path = edit(thanks / "responses" / "thanks.yaml", "You're welcome!", "You're welcome, {name}!")
    assert "known: none" in problem_at(thanks, path, line_of(path, "{name}"), "unknown variable", "{name}")


def test_an_unknown_variable_lists_the_known_ones(kb_dir: Path) -> None:
    path = edit(kb_dir / "responses" / "deadline.yaml", "{half_year}", "{half_yaer}")
    problem = problem_at(kb_dir, path, set(range(1, line_of(path, "half_yaer") + 1)), "{half_yaer}")
    line = int(problem[len(f"{path}:") :].split(":")[0])
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].lstrip().startswith("- ")  # the variant holding it
    for known in (
        "received_date",
        "received_intro",
        "half_year",
        "day300",
        "half_year_status",
        "deadline_status",
        "today",
    ):
        assert known in problem


@pytest.mark.parametrize("template", ["You're welcome {oops", "You're welcome } ", "You're welcome {0!x}"])
def test_a_broken_template_is_a_problem_not_a_crash(thanks: Path, template: str) -> None:
    path = edit(thanks / "responses" / "thanks.yaml", "You're welcome!", template)
    problem_at(thanks, path, line_of(path, template.strip()))


def test_literal_braces_are_fine(thanks: Path) -> None:
    edit(thanks / "responses" / "thanks.yaml", "You're welcome!", "You're welcome {{:}}")
    load_knowledge(thanks)


def test_a_when_value_the_slot_never_takes(kb_dir: Path) -> None:
    path = edit(kb_dir / "responses" / "entrust.yaml", "when: {role: agent}", "when: {role: agnet}")
    problem_at(kb_dir, path, line_of(path, "agnet"), "role is never 'agnet'")


def test_a_deadline_status_that_does_not_exist(kb_dir: Path) -> None:
    path = edit(kb_dir / "responses" / "deadline.yaml", "deadline_status: open}", "deadline_status: closed}")
    problem_at(kb_dir, path, line_of(path, "closed"), "deadline_status is never 'closed'")


def test_the_last_answer_must_be_the_general_one(thanks: Path) -> None:
    write(thanks / "intents" / "thanks.yaml", SLOTTED_INTENT)
    text = THANKS_RESPONSES.replace('    - text: "不客气！"', '    - when: {who: agent}\n      text: "不客气！"')
    path = write(thanks / "responses" / "thanks.yaml", text + PROMPTS)
    problem_at(thanks, path, line_of(path, "when:"), "general answer")


def test_slots_and_prompts(thanks: Path) -> None:
    write(thanks / "intents" / "thanks.yaml", SLOTTED_INTENT)
    path = write(thanks / "responses" / "thanks.yaml", THANKS_RESPONSES + PROMPTS)
    assert load_knowledge(thanks).slot("thanks", "who").values == ["insured", "agent"]
    write(path, THANKS_RESPONSES)
    problem_at(thanks, path, 1, "slot 'who' has no prompt")
    write(path, THANKS_RESPONSES + PROMPTS.split("    en:\n")[0])
    problem_at(thanks, path, block(path, "  who:"), "slot 'who' has no 'en' prompt")
    write(path, THANKS_RESPONSES + PROMPTS.replace('["Me", "Someone else"]', '["Me", "Someone else", "Nobody"]'))
    problem_at(thanks, path, line_of(path, '"Nobody"'), "3 choices", "2 slot values")
    write(path, THANKS_RESPONSES + PROMPTS.replace('      about: "Who goes there"\n', ""))
    problem_at(thanks, path, block(path, "  who:") | {line_of(path, '"Who goes?"') - 1}, "about")


def test_a_prompt_for_an_unknown_slot(thanks: Path) -> None:
    path = write(thanks / "responses" / "thanks.yaml", THANKS_RESPONSES + PROMPTS)
    problem_at(thanks, path, block(path, "  who:"), "unknown slot 'who'")


# -- the names the code relies on ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REQUIRED_INTENTS))
def test_a_required_intent_missing(kb_dir: Path, name: str) -> None:
    (kb_dir / "intents" / f"{name}.yaml").unlink()
    (kb_dir / "responses" / f"{name}.yaml").unlink(missing_ok=True)
    problem_at(kb_dir, kb_dir / "intents", 1, f"intent '{name}' is missing")


def test_a_required_intent_of_the_wrong_kind(kb_dir: Path) -> None:
    path = edit(kb_dir / "intents" / "greeting.yaml", "kind: social", "kind: chitchat")
    problem_at(kb_dir, path, line_of(path, "kind:"), "'greeting' must have kind 'social'")


@pytest.mark.parametrize("concept", REQUIRED_CONCEPTS)
def test_a_required_concept_missing(kb_dir: Path, concept: str) -> None:
    edit(kb_dir / "intents" / "_lexicon.yaml", f"\n  {concept}:\n", f"\n  renamed_{concept}:\n")
    problem_at(kb_dir, kb_dir / "intents", 1, f"concept '{concept}' is missing")


def test_the_answers_to_follow_ups_missing(kb_dir: Path) -> None:
    (kb_dir / "intents" / "_slots.yaml").unlink()
    problem_at(kb_dir, kb_dir / "intents", 1, "_slots.yaml")


def test_a_slot_value_that_does_not_exist(kb_dir: Path) -> None:
    path = edit(
        kb_dir / "intents" / "_slots.yaml",
        "\n  financial:\n",
        "\n  financial:\n    maybe:\n      zh: [也许]\n      en: [maybe]\n",
    )
    problem_at(kb_dir, path, line_of(path, "maybe:"), "financial has no value 'maybe'")


def test_asides_for_an_unknown_slot(kb_dir: Path) -> None:
    path = edit(
        kb_dir / "intents" / "_slots.yaml",
        "\nasides:\n",
        "\nasides:\n  colour:\n    zh: [什么颜色]\n    en: [which colour]\n",
    )
    problem_at(kb_dir, path, line_of(path, "colour:"), "asides for unknown slot 'colour'")


@pytest.mark.parametrize("name", ["stale_choice", "deadline_note_uncertain", "local_header"])
def test_a_system_text_missing(kb_dir: Path, name: str) -> None:
    path = kb_dir / "responses" / "_system.yaml"
    edit(path, f"  {name}:\n", f"  renamed_{name}:\n")
    problem_at(kb_dir, path, line_of(path, "system:"), f"system text '{name}' is missing")


def test_a_system_text_in_one_language(kb_dir: Path) -> None:
    path = kb_dir / "responses" / "_system.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("  fallback:"))
    english = next(i for i in range(start, len(lines)) if lines[i].startswith("    en:"))
    write(path, "".join(lines[:english] + lines[english + 1 :]))
    problem_at(kb_dir, path, line_of(path, "system:"), "system text 'fallback' has no 'en'")


def test_a_topic_that_is_not_a_domain_intent(kb_dir: Path) -> None:
    path = edit(kb_dir / "responses" / "_system.yaml", "topics: [", "topics: [thanks, ")
    problem_at(kb_dir, path, line_of(path, "topics:"), "topic 'thanks' is not a domain intent")


def test_a_slot_explained_by_a_concept_with_a_value_the_slot_lacks(kb_dir: Path) -> None:
    path = edit(kb_dir / "intents" / "where_to_activate.yaml", "bank: true}", "bank: maybe}")
    problem_at(kb_dir, path, block(path, "slots:"), "financial_account", "'maybe'")


def test_a_slot_explained_by_a_concept_the_lexicon_lacks(kb_dir: Path) -> None:
    path = edit(
        kb_dir / "intents" / "where_to_activate.yaml",
        "{pharmacy: false, hospital: false, bank: true}",
        "{drugstores: false}",
    )
    problem_at(kb_dir, path, block(path, "slots:"), "financial_account", "'drugstores'")

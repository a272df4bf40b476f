"""The knowledge base compiled for matching, and a cache of it.

Compiling reads every example through the normaliser, builds the pinyin table and trains
the classifiers: a few seconds, with scikit-learn and pypinyin loaded. The result is
cached on disk under a key made of the knowledge base's files and of the code that
compiles them, so every later start (the terminal chat, each webhook worker, each
``faqbot`` command) loads it in milliseconds and without those libraries. A changed YAML
file or a changed compiler makes a new key; an unwritable cache folder only costs time.
The cache is an ordinary pickle written by this program in the user's cache folder
(``FAQBOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/faqbot``, else ``~/.cache/faqbot``).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.base import KnowledgeBase
from bot.understanding.date_words import vocabulary
from bot.understanding.features import Featurizer
from bot.understanding.ime import PinyinDecoder
from bot.understanding.model import LinearModel
from bot.understanding.normalize import Normalizer, fold
from bot.understanding.pinyin import PinyinTable

log = logging.getLogger(__name__)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+")
_CLITIC = re.compile(r"'(?:d|ll|m|re|ve|s)$")
_CODE = Path(__file__).resolve().parent
_COMPILER_SOURCES = (*sorted(_CODE.glob("*.py")), *sorted((_CODE.parent / "knowledge").glob("*.py")))

QUESTION = "question"
"""The answers model's class for a reply that is a new question rather than an answer."""


@dataclass(frozen=True)
class Compiled:
    """Everything matching needs, derived from one knowledge base."""

    featurizer: Featurizer
    intents: LinearModel
    """Every intent, including the out-of-scope, not-covered and small-talk classes."""
    answers: LinearModel
    """Answers to follow-up questions: ``<type>=<value>``, ``unsure``, ``aside:<slot>``, and
    :data:`QUESTION` (a new question instead of an answer)."""
    decoder: PinyinDecoder
    """Pinyin input back into characters, for the readers of details."""


def compile_knowledge(knowledge: KnowledgeBase) -> Compiled:
    """Build the normaliser and train both classifiers (seconds; loads pypinyin and scikit-learn)."""
    examples = (*knowledge.examples, *knowledge.slot_examples, *knowledge.asides)
    texts = [example.text for example in examples]
    texts += [word for concept in knowledge.lexicon.values() for words in concept.values() for word in words]
    texts += list(knowledge.dialect.values())
    folded = [fold(text) for text in texts]
    table = PinyinTable.build(run for text in folded for run in _HAN.findall(text))
    english_texts = [fold(e.text) for e in examples if e.language == "en"]
    english_texts += [fold(w) for concept in knowledge.lexicon.values() for w in concept.get("en", ())]
    english = {word for text in english_texts for word in _WORD.findall(text)}
    normalizer = Normalizer(table, knowledge.dialect, _chinese_pairs(table, folded), english)
    featurizer = Featurizer(normalizer, _stems({w for text in folded for w in _WORD.findall(text)}), knowledge.lexicon)
    intent_bags = [featurizer.units(normalizer(e.text)) for e in knowledge.examples]
    intents = LinearModel.train(intent_bags, [e.intent for e in knowledge.examples])
    answer_examples = [*knowledge.slot_examples, *(e for e in knowledge.asides)]
    answer_bags = [featurizer.units(normalizer(e.text)) for e in answer_examples]
    labels = [e.intent if e in knowledge.slot_examples else f"aside:{e.intent}" for e in answer_examples]
    questions = [bag for bag, e in zip(intent_bags, knowledge.examples, strict=True) if _asks(knowledge, e.intent)]
    answers = LinearModel.train(answer_bags + questions, labels + [QUESTION] * len(questions), class_weight=None)
    return Compiled(featurizer, intents, answers, PinyinDecoder.build(table, [*folded, *vocabulary()]))


def _asks(knowledge: KnowledgeBase, intent: str) -> bool:
    return knowledge.intents[intent].kind in ("domain", "not_covered", "out_of_scope")


def _chinese_pairs(table: PinyinTable, texts: list[str]) -> set[str]:
    pairs: set[str] = set()
    for text in texts:
        for run in _HAN.findall(text):
            syllables = table.syllables(run)
            pairs.update(f"{a}_{b}" for a, b in itertools.pairwise(syllables))
    return pairs


def _stems(words: set[str]) -> dict[str, str]:
    import snowballstemmer

    stemmer = snowballstemmer.stemmer("english")
    plain = {word: _CLITIC.sub("", word).replace("'", "") for word in words}
    return {clean: stemmer.stemWord(clean) for clean in plain.values()}


def cache_key(root: Path) -> str:
    """A digest of the knowledge base's folder, its files and the compiler's code (the folder
    too: the compiled knowledge base says where each example was written)."""
    digest = hashlib.sha256(str(root.resolve()).encode() + b"\0")
    files = [*sorted((root / "intents").glob("*.yaml")), *sorted((root / "responses").glob("*.yaml"))]
    for path in (*files, *_COMPILER_SOURCES):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def cache_folder() -> Path:
    """Where compiled knowledge bases are kept (see the module docstring)."""
    if folder := os.environ.get("FAQBOT_CACHE_DIR"):
        return Path(folder)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "faqbot"


def load(root: Path) -> tuple[KnowledgeBase, Compiled]:
    """The knowledge base at ``root``, validated and compiled: from the cache when it is there.

    Raises :class:`bot.knowledge.KnowledgeError` for an invalid knowledge base.
    """
    path = cache_folder() / f"kb-{cache_key(root)}.pickle"
    try:
        with path.open("rb") as file:
            knowledge, compiled = pickle.load(file)
        return knowledge, compiled
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
        pass
    from bot.knowledge import load_knowledge  # YAML and the checks: only on a cache miss

    knowledge = load_knowledge(root)
    compiled = compile_knowledge(knowledge)
    _store(path, (knowledge, compiled))
    return knowledge, compiled


def _store(path: Path, value: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(file.name, path)
    except OSError as error:
        log.warning("compiled knowledge base not cached (%s)", type(error).__name__)

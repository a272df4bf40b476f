"""From a normalised message to the *units* the matcher weighs.

* Chinese: toneless syllables and syllable pairs (``bao``, ``she_bao``), so homophone typos
  and pinyin input count as the words they stand for;
* English: stemmed words and word pairs (``w:activ``, ``w:bank_branch``), each unknown word
  first corrected to the nearest known word with rapidfuzz ("secuirty" → "security");
* concepts of ``intents/_lexicon.yaml`` (``c:pharmacy`` for 药店, 藥局, drugstore and chemist
  alike), so an example written with one word matches a question written with another,
  across the two languages too.

The stems of known words are computed once, when the knowledge base is compiled; an
unknown word is either corrected to a known one or stays a unit no example has.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from bot.messages import Language
from bot.understanding.normalize import NormalizedText, Normalizer

TYPO_CUTOFF = 82.0
"""rapidfuzz ratio a word needs to be read as a known one: one slip in a short word, two in a long
one (secuirty → security, socail → social), but not think → thank."""

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "to",
        "of",
        "is",
        "are",
        "am",
        "be",
        "been",
        "it",
        "its",
        "do",
        "does",
        "did",
        "and",
        "or",
        "in",
        "on",
        "at",
        "this",
        "that",
        "you",
        "your",
        "so",
        "just",
        "im",
        "would",
        "could",
        "should",
        "will",
        "please",
        "pls",
        "plz",
    ]
)

CONCEPT_REPEAT = 2
"""A concept counts like a word used this many times: concepts carry the meaning."""

Lexicon = Mapping[str, Mapping[Language, Sequence[str]]]


def pairs(tokens: Sequence[str]) -> list[str]:
    """Neighbouring tokens joined: ``["she", "bao", "ka"]`` → ``["she_bao", "bao_ka"]``."""
    return [f"{a}_{b}" for a, b in itertools.pairwise(tokens)]


class Featurizer:
    """Units of messages for one knowledge base; see the module docstring."""

    def __init__(self, normalizer: Normalizer, stems: Mapping[str, str], lexicon: Lexicon) -> None:
        """``stems``: every known English word and its stem."""
        self.normalize = normalizer
        self._stems = dict(stems)
        self._vocabulary = sorted(self._stems)
        self._correct = lru_cache(maxsize=8192)(self._correct_uncached)
        self.concepts = ConceptIndex(lexicon, self)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_correct"]  # a cache of the process, rebuilt on load
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._correct = lru_cache(maxsize=8192)(self._correct_uncached)

    def english_tokens(self, words: Iterable[str]) -> list[str]:
        """Stems of the words, each unknown word first corrected to a known one when close enough."""
        return [self._stems.get(known, known) for known in (self._correct(word) for word in words)]

    def _correct_uncached(self, word: str) -> str:
        if word in self._stems or len(word) < 4 or word.isdigit() or len(word) > 30:
            return word
        found = process.extractOne(word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        return found[0] if found else word

    def is_known_word(self, word: str) -> bool:
        """Whether ``word`` is (or is a typo of) a word of the knowledge base."""
        return self._correct(word) in self._stems

    def units(self, text: NormalizedText) -> list[str]:
        """The units of a normalised message, concepts repeated :data:`CONCEPT_REPEAT` times."""
        units: list[str] = []
        for run in text.runs:
            units.extend(run)
            units.extend(pairs(run))
        tokens = self.english_tokens(text.words)
        content = [token for token in tokens if token not in STOPWORDS]
        units.extend(f"w:{token}" for token in content)
        units.extend(f"w:{pair}" for pair in pairs(content))
        for concept in self.concepts.find(text, tokens):
            units.extend([f"c:{concept}"] * CONCEPT_REPEAT)
        return units


EXACT_CONCEPTS = frozenset({"other_things"})
"""Concepts matched only as written: tolerance there would turn 激活吗 into 激活码 (an
activation code) and "window" into "Windows"."""


class ConceptIndex:
    """Finds which lexicon concepts a message mentions, through an index.

    Chinese words of two or more characters match by syllables (homophone typos and pinyin
    count); single characters match exactly, since one syllable alone is too ambiguous
    (吗 and 妈 are both *ma*). English phrases match on stemmed, typo-corrected tokens.
    Phrases are indexed by their first syllable or token, so a message is compared only
    with the phrases that can start at each of its positions. The words of
    :data:`EXACT_CONCEPTS` match only as written.
    """

    def __init__(self, lexicon: Lexicon, featurizer: Featurizer) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._characters: dict[str, set[str]] = defaultdict(set)
        self._exact_han: list[tuple[str, str]] = []
        self._exact_words: list[tuple[tuple[str, ...], str]] = []
        for concept, words in lexicon.items():
            if concept in EXACT_CONCEPTS:
                self._add_exact(concept, words, featurizer)
                continue
            for word in words.get("zh", ()):
                self._add_chinese(concept, word, featurizer)
            for word in words.get("en", ()):
                folded = featurizer.normalize(word)
                tokens = tuple(featurizer.english_tokens(folded.words))
                if tokens:
                    self._by_first["w:" + tokens[0]].append((tuple("w:" + t for t in tokens), concept))
        for entries in self._by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def _add_exact(self, concept: str, words: Mapping[Language, Sequence[str]], featurizer: Featurizer) -> None:
        for word in (*words.get("zh", ()), *words.get("en", ())):
            folded = featurizer.normalize(word)
            if folded.han:
                self._exact_han.append((folded.han, concept))
            elif folded.words:
                self._exact_words.append((tuple(folded.words), concept))

    def _add_chinese(self, concept: str, word: str, featurizer: Featurizer) -> None:
        folded = featurizer.normalize(word)
        if len(folded.han) == 1 and not folded.words:
            self._characters[folded.han].add(concept)
            return
        for run in folded.runs:
            if run:
                self._by_first[run[0]].append((run, concept))
        for token in featurizer.english_tokens(folded.words):  # "app" under zh
            self._by_first["w:" + token].append((("w:" + token,), concept))

    def find(self, text: NormalizedText, tokens: Sequence[str]) -> set[str]:
        """The concepts ``text`` mentions (``tokens``: its stemmed English words)."""
        found: set[str] = set()
        for char in set(text.han):
            found.update(self._characters.get(char, ()))
        found.update(concept for han, concept in self._exact_han if han in text.han)
        words = text.words
        for phrase, concept in self._exact_words:
            if concept not in found and any(words[i : i + len(phrase)] == phrase for i in range(len(words))):
                found.add(concept)
        sequences = [list(run) for run in text.runs]
        sequences.append(["w:" + token for token in tokens])
        for sequence in sequences:
            for start, first in enumerate(sequence):
                for phrase, concept in self._by_first.get(first, ()):
                    if concept not in found and tuple(sequence[start : start + len(phrase)]) == phrase:
                        found.add(concept)
        return found

"""Intent matching: which intent a message means, and how sure we are.

Each example and each message becomes a bag of *units*: toneless pinyin syllables and
syllable pairs for Chinese (so homophone typos coincide), stemmed words and word pairs for
English (each unknown word first corrected to the nearest known word with rapidfuzz, so
"secuirty" reads as "security"). Units are weighted by rarity (TF-IDF), and a message is
scored against every example and against each intent as a whole; the two views are
blended. A unit the knowledge base has never seen keeps its weight in the message, which
pulls the score down: "activate my SIM card" shares "activate" and "card" with the domain,
but "sim" is foreign, so it falls back instead of getting a confident wrong answer.
Before scoring, a message that names another thing (a SIM card, "activate my gym
membership", the lexicon's ``other_things``) or another social-insurance matter
(``other_topics``) is out of scope; examples of the reserved ``out_of_scope`` intent catch
the close calls that remain.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process

from bot.knowledge import OUT_OF_SCOPE, Example, KnowledgeBase
from bot.messages import Language
from bot.normalize import NormalizedText, normalize, pinyin

THRESHOLD = 0.2
"""Below this confidence a message is out of scope (tuned on the dev set, see README)."""

TIE_MARGIN = 0.03
"""Two intents closer than this are a near tie: the dialogue asks which one was meant."""

TIE_CEILING = 0.55
"""A best score above this is clear enough to answer even when another intent is close."""

_EXAMPLE_WEIGHT = 0.45
"""Blend of the best single example (precise) and the intent centroid (generalises)."""

_UNKNOWN_WEIGHT = 2.0
"""TF-IDF weight of a unit no example contains: what makes foreign topics fall back."""

_COVERAGE_POWER = 0.25
"""How hard unknown words pull the score down (0: not at all)."""

_DOMAIN_CONCEPT = "social_security"
_ACTIVATION_CONCEPT = "activate"
_ACTIVATE_VERBS = frozenset({"activate", "activating", "enable", "unlock"})
_FOREIGN_CONCEPT = "other_things"
_OTHER_TOPIC_CONCEPT = "other_topics"
_DETERMINERS = frozenset(["my", "the", "a", "an", "your", "his", "her", "their", "our", "this", "that", "new"])
_ANCHOR_CONCEPTS = ("social_security", "card", "activate")
_UNANCHORED_FACTOR = 0.75
"""A domain answer to a message that names neither the card nor activation needs more evidence."""
_OBJECT_WORDS = ("card", "cards", "account", "accounts")
_OBJECT_CHARACTERS = ("卡", "账户", "帐户")

_LATIN_TAIL = re.compile(r"[a-z0-9']+$")

_SHORTLIST = 12
"""Intents (nearest centroids first) whose examples are compared one by one."""

_CONCEPT_REPEAT = 2
"""A concept counts like a word used this many times: concepts carry the meaning."""

_TYPO_CUTOFF = 82.0
"""rapidfuzz ratio a word needs to be read as a known one: one slip in a short word, two in a long
one (secuirty → security, socail → social), but not think → thank."""
_STOPWORDS = frozenset(
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
        "please",
        "so",
        "just",
        "im",
        "i'm",
        "i've",
        "ive",
        "would",
        "could",
        "should",
        "will",
    ]
)

_stemmer = snowballstemmer.stemmer("english")

Lexicon = Mapping[str, Mapping[Language, Sequence[str]]]


@dataclass(frozen=True)
class Match:
    """The matcher's verdict on one message."""

    intent: str | None
    confidence: float
    language: Language | None
    ranking: tuple[tuple[str, float], ...]
    """Every answerable intent with its score, best first."""

    @property
    def rival(self) -> str | None:
        """The runner-up intent when it is too close to call: the dialogue then asks which."""
        if self.intent is None or len(self.ranking) < 2:
            return None
        runner_up, score = self.ranking[1]
        close = self.confidence - score < TIE_MARGIN and self.confidence < TIE_CEILING
        return runner_up if close else None


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def _pairs(tokens: Sequence[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in itertools.pairwise(tokens)]


class Matcher:
    """TF-IDF nearest-example and nearest-intent scoring over fuzzy-corrected units."""

    def __init__(
        self,
        examples: Sequence[Example],
        lexicon: Lexicon | None = None,
        small_talk: Collection[str] = (),
        anchors: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """``small_talk`` intents need no anchor; ``anchors`` adds concepts that anchor one intent."""
        lexicon = lexicon or {}
        self._small_talk = frozenset(small_talk) | {OUT_OF_SCOPE}
        self._anchors = {intent: frozenset(f"c:{c}" for c in concepts) for intent, concepts in (anchors or {}).items()}
        texts = [normalize(example.text) for example in examples]  # normalised once: start-up cost
        lexicon_texts = [
            normalize(word) for concept in lexicon.values() for words in concept.values() for word in words
        ]
        self._vocabulary: set[str] = {word for text in texts + lexicon_texts for word in text.words}
        self._vocabulary_list = sorted(self._vocabulary)
        self._known_characters = {char for text in texts + lexicon_texts for char in text.text}
        self._concepts = _ConceptIndex(lexicon, self._english_tokens, exact={_FOREIGN_CONCEPT})
        self._domain_modifiers = _object_modifiers(
            [t for t, e in zip(texts, examples, strict=False) if e.intent != OUT_OF_SCOPE]
        )
        self._foreign_modifiers = (
            _object_modifiers([t for t, e in zip(texts, examples, strict=False) if e.intent == OUT_OF_SCOPE])
            - self._domain_modifiers
        )
        bags = [self._units(text) for text in texts]
        document_frequency = Counter(unit for bag in bags for unit in set(bag))
        total = len(bags)
        self._idf = {unit: math.log((1 + total) / (1 + count)) + 1.0 for unit, count in document_frequency.items()}
        self._known_units = set(self._idf) | {unit for text in lexicon_texts for unit in self._units(text)}

        # unit → intent → [(example index, weight)]: examples are scored only for the
        # intents whose centroid is close, so a large knowledge base stays fast.
        postings: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
        centroids: dict[str, Counter[str]] = defaultdict(Counter)
        for index, (example, bag) in enumerate(zip(examples, bags, strict=False)):
            for unit, weight in self._vector(bag).items():
                postings[unit][example.intent].append((index, weight))
                centroids[example.intent][unit] += weight
        self._postings = {unit: dict(by_intent) for unit, by_intent in postings.items()}
        self._intents = list(centroids)
        self._centroid_postings: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for intent, vector in centroids.items():
            for unit, weight in _unit_length(vector).items():
                self._centroid_postings[unit].append((intent, weight))

    @classmethod
    def from_knowledge(cls, knowledge: KnowledgeBase) -> Matcher:
        """The matcher for a loaded knowledge base."""
        return cls(
            knowledge.examples,
            knowledge.lexicon,
            small_talk=[name for name, spec in knowledge.intents.items() if not spec.domain],
            anchors={name: spec.anchors for name, spec in knowledge.intents.items() if spec.anchors},
        )

    # -- units -------------------------------------------------------------------------

    def _correct(self, word: str) -> str:
        """The known word ``word`` most likely stands for (itself when known or too short)."""
        if word in self._vocabulary or len(word) < 4 or word.isdigit():
            return word
        found = process.extractOne(word, self._vocabulary_list, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
        return found[0] if found else word

    def _english_tokens(self, text: NormalizedText) -> list[str]:
        return [_stem(self._correct(word)) for word in text.words]

    def _units(self, text: NormalizedText) -> list[str]:
        units: list[str] = []
        for run in text.han_runs:
            syllables = pinyin(run)
            units.extend(syllables)
            units.extend(_pairs(syllables))
        tokens = self._english_tokens(text)
        words = [token for token in tokens if token not in _STOPWORDS]
        units.extend(f"w:{word}" for word in words)
        units.extend(f"w:{pair}" for pair in _pairs(words))
        for concept in self._concepts.find(text, tokens):
            units.extend([f"c:{concept}"] * _CONCEPT_REPEAT)
        return units

    def _vector(self, units: Sequence[str]) -> dict[str, float]:
        counts = Counter(units)
        return _unit_length(
            {unit: (1 + math.log(count)) * self._idf.get(unit, _UNKNOWN_WEIGHT) for unit, count in counts.items()}
        )

    def _coverage(self, units: Sequence[str]) -> float:
        """Share of the message's words (English) and syllable pairs (Chinese) the knowledge base knows.

        A question about something else is mostly made of words no example uses.
        """
        content = [
            unit for unit in units if (unit.startswith("w:") and "_" not in unit) or (":" not in unit and "_" in unit)
        ]
        if not content:
            return 1.0
        return sum(unit in self._known_units for unit in content) / len(content)

    def _names_foreign_object(self, text: NormalizedText, units: Sequence[str]) -> bool:
        """True for "SIM card", "信用卡", "Netflix account": another thing than the social security card.

        The words that stand before 卡 / card / account in the examples are the known
        ones; anything else names another object, unless the message also says 社保 /
        social security outright.
        """
        if f"c:{_OTHER_TOPIC_CONCEPT}" in units and f"c:{_ACTIVATION_CONCEPT}" not in units:
            return True  # 社保卡丢了怎么补办: social insurance, but not activation
        if f"c:{_DOMAIN_CONCEPT}" in units:
            return False
        if self._activates_unknown_thing(text):
            return True
        modifiers = _object_modifiers([text])
        if f"c:{_FOREIGN_CONCEPT}" in units:
            return not modifiers & self._domain_modifiers  # "a passport to activate *the* card" is about the card
        return any(
            modifier in self._foreign_modifiers or not self._is_known(modifier)
            for modifier in modifiers - self._domain_modifiers
        )

    def _activates_unknown_thing(self, text: NormalizedText) -> bool:
        """ "activate my gym membership": the thing activated is a word no example knows."""
        words = text.words
        return any(
            word in _ACTIVATE_VERBS and determiner in _DETERMINERS and not self._is_known(thing)
            for word, determiner, thing in zip(words, words[1:], words[2:], strict=False)
        )

    def _is_known(self, word: str) -> bool:
        if word.endswith("'s"):  # "my mother's card" is still the card
            return True
        if len(word) == 1 and not word.isascii():
            return word in self._known_characters
        return self._correct(word.replace("'", "")) in self._vocabulary

    # -- scoring -----------------------------------------------------------------------

    def match(self, text: str | NormalizedText) -> Match:
        """Score ``text`` against every intent; ``intent`` is ``None`` when out of scope."""
        normalized = normalize(text) if isinstance(text, str) else text
        units = self._units(normalized)
        query = self._vector(units)
        if not query or self._names_foreign_object(normalized, units):
            return Match(None, 0.0, normalized.language, ())

        centroid_scores: dict[str, float] = defaultdict(float)
        for unit, weight in query.items():
            for intent, centroid_weight in self._centroid_postings.get(unit, ()):
                centroid_scores[intent] += weight * centroid_weight
        shortlist = heapq.nlargest(_SHORTLIST, centroid_scores, key=centroid_scores.__getitem__)

        candidates = {*shortlist, OUT_OF_SCOPE}
        example_scores: dict[tuple[str, int], float] = defaultdict(float)
        for unit, weight in query.items():
            for intent, examples in self._postings.get(unit, {}).items():
                if intent in candidates:
                    for index, example_weight in examples:
                        example_scores[intent, index] += weight * example_weight
        best_example: dict[str, float] = defaultdict(float)
        for (intent, _), score in example_scores.items():
            best_example[intent] = max(best_example[intent], score)

        coverage = self._coverage(units) ** _COVERAGE_POWER
        present = set(units)
        anchored = any(f"c:{concept}" in present for concept in _ANCHOR_CONCEPTS)
        scores: dict[str, float] = {}
        for intent in self._intents:
            blended = _EXAMPLE_WEIGHT * best_example.get(intent, 0.0) + (1 - _EXAMPLE_WEIGHT) * centroid_scores.get(
                intent, 0.0
            )
            tied = (
                anchored or intent in self._small_talk or not self._anchors.get(intent, frozenset()).isdisjoint(present)
            )
            scores[intent] = blended * coverage * (1.0 if tied else _UNANCHORED_FACTOR)

        ranking = tuple(
            sorted(((i, round(s, 4)) for i, s in scores.items() if i != OUT_OF_SCOPE), key=lambda item: -item[1])
        )
        best_intent, best_score = max(scores.items(), key=lambda item: item[1])
        if best_intent == OUT_OF_SCOPE or best_score < THRESHOLD:
            confidence = best_score if best_intent != OUT_OF_SCOPE else 0.0
            return Match(None, round(min(confidence, THRESHOLD), 4), normalized.language, ranking)
        return Match(best_intent, round(min(best_score, 1.0), 4), normalized.language, ranking)


def _unit_length(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(weight * weight for weight in vector.values()))
    return {unit: weight / norm for unit, weight in vector.items()} if norm else {}


class _ConceptIndex:
    """Finds which lexicon concepts a message mentions.

    Chinese words of two or more characters match by toneless pinyin (homophone typos
    count); single characters match exactly, since one syllable alone is too ambiguous
    (吗 and 妈 are both "ma"). English phrases match on stemmed, typo-corrected tokens.
    ``exact`` concepts match only as written: tolerance there would turn 激活吗 into
    激活码 and "window" into "Windows".
    """

    def __init__(
        self, lexicon: Lexicon, tokenize: Callable[[NormalizedText], list[str]], exact: Collection[str] = ()
    ) -> None:
        self._syllables: list[tuple[str, tuple[str, ...]]] = []
        self._characters: list[tuple[str, str]] = []
        self._phrases: list[tuple[str, tuple[str, ...]]] = []
        self._exact_phrases: list[tuple[str, tuple[str, ...]]] = []
        for concept, words in lexicon.items():
            for word in words.get("zh", ()):
                folded = normalize(word)
                han = "".join(folded.han_runs)
                if concept not in exact and han and len(han) == len(folded.text) and len(han) > 1:
                    self._syllables.append((concept, pinyin(han)))
                else:
                    self._characters.append((concept, folded.text))
            for word in words.get("en", ()):
                folded = normalize(word)
                if concept in exact:
                    self._exact_phrases.append((concept, tuple(folded.words)))
                elif tokens := tuple(tokenize(folded)):
                    self._phrases.append((concept, tokens))

    def find(self, text: NormalizedText, tokens: Sequence[str]) -> set[str]:
        """The concepts ``text`` mentions (``tokens``: its stemmed English words)."""
        found: set[str] = set()
        runs = [pinyin(run) for run in text.han_runs]
        for concept, syllables in self._syllables:
            if concept not in found and any(_contains(run, syllables) for run in runs):
                found.add(concept)
        for concept, characters in self._characters:
            if concept not in found and characters in text.text:
                found.add(concept)
        for concept, phrase in self._phrases:
            if concept not in found and _contains(tokens, phrase):
                found.add(concept)
        for concept, phrase in self._exact_phrases:
            if concept not in found and _contains(text.words, phrase):
                found.add(concept)
        return found


def _contains(sequence: Sequence[str], part: Sequence[str]) -> bool:
    size = len(part)
    return any(tuple(sequence[i : i + size]) == tuple(part) for i in range(len(sequence) - size + 1))


def _object_modifiers(texts: Sequence[NormalizedText]) -> set[str]:
    """What stands right before each card/account word: a word, or a Chinese character."""
    modifiers: set[str] = set()
    for text in texts:
        tokens = ["", *text.text.split(" ")]
        modifiers.update(
            before
            for previous, before, word in zip(tokens, tokens[1:], tokens[2:], strict=False)
            if word in _OBJECT_WORDS and (previous in _DETERMINERS or previous == "")
        )
        for noun in _OBJECT_CHARACTERS:
            for start in (i for i in range(1, len(text.text)) if text.text.startswith(noun, i)):
                before = text.text[start - 1]
                if before.isascii() and before.isalnum():
                    before = _LATIN_TAIL.search(text.text[:start]).group()
                if before != " ":
                    modifiers.add(before)
    return modifiers

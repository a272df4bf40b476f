"""Text normalisation: one canonical form for the many ways people type the same question.

People write full-width characters, Traditional characters, Cantonese, emoji, pinyin
(whole or mixed into Chinese), homophone typos from pinyin input and voice input, and
polite tails. All of that is folded away before matching: NFKC, case folding, dialect
words read as Mandarin (``intents/_dialect.yaml``), OpenCC Traditional→Simplified,
punctuation and emoji dropped, sentence-final particles dropped; Chinese is then compared
by toneless pinyin (:mod:`bot.pinyin`), and Latin words that are pinyin become syllables.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache

import opencc

from bot.messages import Language
from bot.understanding.pinyin import PinyinTable

MAX_CHARS = 600
"""Matching reads this much of a message: more than any real question, long rambling ones
included, while keeping the cost of one message bounded."""

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN}]+|[a-z]+(?:'[a-z]+)*[1-5]?(?:[a-z]+[1-5]?)*|\d+")
_HAN_RUN = re.compile(f"^[{_HAN}]+$")
_NOT_TEXT = re.compile(f"[^{_HAN}a-z0-9'\\s]+")
_SPACES = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_LATIN_WORD = re.compile(r"(?<![a-z0-9'])[a-z]+(?:'[a-z]+)*(?![a-z0-9'])")
_CLITIC = re.compile(r"'(?:d|ll|m|re|ve|s)$")
_PARTICLES = "了的吧啊呀呢嘛哦哈啦嘞咯哟噢喔滴哇"
"""Sentence-final particles: they soften a sentence without changing what it asks or answers."""
_SURROGATES = re.compile("[\ud800-\udfff]")


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """NFKC, case folding and Traditional→Simplified, without dropping anything else.

    Lone surrogates (which some clients send) become U+FFFD instead of breaking OpenCC.
    """
    cleaned = _SURROGATES.sub("\ufffd", text[:MAX_CHARS])
    folded = unicodedata.normalize("NFKC", cleaned).casefold().replace("\u2019", "'")
    return str(_to_simplified().convert(folded))


@dataclass(frozen=True)
class NormalizedText:
    """A message after normalisation.

    ``text`` keeps Han characters and words separated by single spaces; ``language`` is
    ``None`` when the message has no letters of either script (``"1"``, an emoji).
    ``runs`` are the syllables of each stretch of Chinese (Han characters, or pinyin
    words); ``words`` the remaining Latin-script words and numbers.
    """

    text: str
    language: Language | None
    runs: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]
    han: str
    """The Han characters of the message (after particles are dropped), for exact look-ups."""


class Normalizer:
    """Normalises messages for one knowledge base (its pinyin table, dialect words and English words)."""

    def __init__(
        self, pinyin: PinyinTable, dialect: Mapping[str, str], chinese_pairs: Collection[str], english: Collection[str]
    ) -> None:
        """``chinese_pairs``: the syllable pairs (``"she_bao"``) of the knowledge base's Chinese,
        which tell pinyin ("jihuo": *ji huo*) from English words that happen to split into
        syllables ("make": *ma ke*); ``english``: its English words (never read as pinyin alone)."""
        self.pinyin = pinyin
        self._pairs = frozenset(chinese_pairs)
        self._english = frozenset(english)
        self._dialect = dict(dialect)
        keys = sorted(self._dialect, key=len, reverse=True)
        self._dialect_pattern = re.compile("|".join(map(re.escape, keys))) if keys else None

    def __call__(self, text: str) -> NormalizedText:
        return self.normalize_folded(self.fold(text))

    def normalize_folded(self, folded: str) -> NormalizedText:
        """:meth:`__call__` for text already :meth:`fold`-ed (a message is folded once)."""
        cleaned = _NOT_TEXT.sub(" ", folded)
        tokens = _TOKEN.findall(cleaned)
        pinyin = self._pinyin_words(tokens)
        runs: list[tuple[str, ...]] = []
        words: list[str] = []
        han: list[str] = []
        current: list[str] = []
        for token in tokens:
            if _HAN_RUN.match(token):
                run = _drop_particles(token)
                han.append(run)
                current.extend(self.pinyin.syllables(run))
                continue
            syllables = pinyin.get(token)
            if syllables is not None:
                current.extend(syllables)
                continue
            if current:
                runs.append(tuple(current))
                current = []
            words.append(_CLITIC.sub("", token).replace("'", ""))
        if current:
            runs.append(tuple(current))
        syllable_count = sum(len(run) for run in runs)
        return NormalizedText(
            text=_SPACES.sub(" ", cleaned).strip(),
            language=_language(syllable_count, words),
            runs=tuple(runs),
            words=tuple(words),
            han="".join(han),
        )

    def pinyin_stretches(self, folded: str) -> list[tuple[int, int, tuple[str, ...]]] | None:
        """The ``(start, end, syllables)`` of each stretch of pinyin words in a :meth:`fold`-ed
        message typed in pinyin (no Chinese characters); ``None`` for any other message, and
        for tone-numbered pinyin ("yue4"), whose digits cannot be told from a date's ("10yue31hao")."""
        tokens = _TOKEN.findall(_NOT_TEXT.sub(" ", folded))
        if any(_HAN_RUN.match(token) or (token[0].isalpha() and _DIGIT.search(token)) for token in tokens):
            return None
        pinyin = self._pinyin_words(tokens)
        if not pinyin:
            return None
        stretches: list[tuple[int, int, tuple[str, ...]]] = []
        for match in _LATIN_WORD.finditer(folded):
            syllables = pinyin.get(match.group())
            if syllables is None:
                continue
            if stretches and not folded[stretches[-1][1] : match.start()].strip():
                start, _, before = stretches.pop()
                stretches.append((start, match.end(), before + syllables))
            else:
                stretches.append((match.start(), match.end(), syllables))
        return stretches

    def fold(self, text: str) -> str:
        """:func:`fold` with the dialect words in Mandarin (唔使 → 不用), punctuation kept:
        what the readers of details and answers see."""
        folded = unicodedata.normalize("NFKC", _SURROGATES.sub("\ufffd", text[:MAX_CHARS])).casefold()
        if self._dialect_pattern is not None:
            folded = self._dialect_pattern.sub(lambda m: self._dialect[m.group()], folded)
        return str(_to_simplified().convert(folded.replace("\u2019", "'")))

    def _pinyin_words(self, tokens: list[str]) -> dict[str, tuple[str, ...]]:
        """The Latin words of the message that are pinyin, with their syllables.

        A word of several syllables is pinyin when most of its syllable pairs occur in the
        knowledge base's Chinese ("shebaoka": *she_bao*, *bao_ka*). Single syllables
        ("zai", "yao", "he") are pinyin only in a message that is otherwise pinyin or
        Chinese, since many short English words are also syllables.
        """
        latin = [t for t in tokens if t[0].isascii() and t[0].isalpha()]
        split = {word: self.pinyin.segment(word) for word in latin if len(word) >= 2}
        confirmed = {word: s for word, s in split.items() if s and len(s) >= 2 and self._chinese(s)}
        singles = {word: s for word, s in split.items() if s and len(s) == 1}
        has_han = any(_HAN_RUN.match(t) for t in tokens)
        mostly_pinyin = bool(confirmed) and len(confirmed) + len(singles) >= 0.6 * len(latin)
        if len(singles) == len(latin) and latin:  # "bu yao le", "yao": syllables only
            joined = tuple(s for word in latin for s in singles[word])
            lone = len(latin) == 1 and latin[0] not in self._english
            mostly_pinyin = lone or (len(joined) > 1 and self._chinese(joined))
        if mostly_pinyin:
            return {**singles, **confirmed}
        return confirmed if has_han else {}

    def _chinese(self, syllables: tuple[str, ...]) -> bool:
        known = sum(f"{a}_{b}" in self._pairs for a, b in itertools.pairwise(syllables))
        return known * 2 >= len(syllables) - 1


def _drop_particles(run: str) -> str:
    """A Han run without its sentence-final particles (unless nothing else is left)."""
    stripped = run.rstrip(_PARTICLES)
    return stripped or run


def _language(syllables: int, words: list[str]) -> Language | None:
    """Chinese when syllables outweigh Latin words (≈2 syllables a word), else English."""
    latin_words = sum(1 for word in words if len(word) >= 2 and not word.isdigit())
    if syllables == 0 and latin_words == 0:
        return None
    return "zh" if syllables and syllables / 2 >= latin_words else "en"

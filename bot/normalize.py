"""Text normalisation: one canonical form for the many ways people type the same question.

People write full-width characters, Traditional Chinese, emoji, and homophone typos from
pinyin input methods (社宝卡 for 社保卡, 机活 for 激活). We fold all of that away before
matching: NFKC, case folding, OpenCC Traditional→Simplified, punctuation and emoji
dropped; Chinese is then compared by toneless pinyin so that homophones coincide.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

from bot.messages import Language

MAX_CHARS = 2000
"""Longer messages are cut: a question never needs more, and matching cost must stay bounded."""

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+")
_NOT_TEXT = re.compile(f"[^{_HAN}a-z0-9'\\s]+")
_SPACES = re.compile(r"\s+")
_CLITIC = re.compile(r"'(?:d|ll|m|re|ve|s)$")

_to_simplified = opencc.OpenCC("t2s")


@dataclass(frozen=True)
class NormalizedText:
    """A message after normalisation.

    ``text`` keeps Han characters and words separated by single spaces; ``language`` is
    ``None`` when the message has no letters of either script (``"1"``, an emoji).
    """

    text: str
    language: Language | None

    @property
    def han_runs(self) -> list[str]:
        """Consecutive Han characters, in order."""
        return _HAN_RUN.findall(self.text)

    @property
    def words(self) -> list[str]:
        """Latin-script words and numbers, in order.

        Clitics are dropped ("I'd" is "i", not the "id" of an ID card; "mother's" is
        "mother") and other apostrophes removed ("can't" → "cant").
        """
        return [_CLITIC.sub("", word).replace("'", "") for word in _LATIN_WORD.findall(self.text)]


def fold(text: str) -> str:
    """NFKC, case folding and Traditional→Simplified, without dropping anything else."""
    folded = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    return _to_simplified.convert(folded)


def normalize(text: str) -> NormalizedText:
    """Fold ``text`` and drop punctuation, emoji and control characters."""
    folded = fold(text).replace("\u2019", "'")
    cleaned = _SPACES.sub(" ", _NOT_TEXT.sub(" ", folded)).strip()
    return NormalizedText(text=cleaned, language=detect_language(cleaned))


def detect_language(cleaned: str) -> Language | None:
    """Chinese when Han characters outweigh Latin words (≈2 characters a word), else English."""
    han = sum(len(run) for run in _HAN_RUN.findall(cleaned))
    latin_words = len(re.findall(r"[a-z]{2,}", cleaned))
    if han == 0 and latin_words == 0:
        return None
    return "zh" if han and han / 2 >= latin_words else "en"


@lru_cache(maxsize=65536)
def pinyin(run: str) -> tuple[str, ...]:
    """Toneless pinyin of a run of Han characters: homophone typos become identical."""
    return tuple(lazy_pinyin(run, style=Style.NORMAL, errors="ignore"))

"""Pinyin typed instead of Chinese, written back in Chinese characters for the readers of details.

The matcher compares syllables, so "shebaoka zai nali jihuo" matches its topic without
this. Details are read from words, though — who acts for whom (替我妈), whether the bank
functions are needed (不用), when the card came (上个月, 七月二十号) — and those readers see
characters. :class:`PinyinDecoder` does what the person's phone would have done: each
syllable may be any character the knowledge base's own Chinese (and the date reader's
vocabulary) writes with it, and the sequence is chosen by how often those characters
follow one another in that text (a bigram model decoded with Viterbi). "ti wo ma jihuo"
becomes 替我妈激活, "qi yue ershi hao" 七月二十号.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.understanding.pinyin import PinyinTable

_CANDIDATES = 8
"""Characters kept per syllable, most frequent first: enough for the text's homophones."""
NUMBER = "0"
"""Stands for any number in the pair counts."""
_AFTER_NUMBER = re.compile(r"(\d*)([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
_BACKOFF = 0.5
"""Weight of a character's own frequency next to the count of the pair it would make."""


@dataclass(frozen=True)
class PinyinDecoder:
    """Syllables → characters, learned from the knowledge base's Chinese; see the module docstring."""

    candidates: dict[str, tuple[str, ...]]
    unigrams: dict[str, int]
    bigrams: dict[str, int]
    total: int

    @classmethod
    def build(cls, table: PinyinTable, texts: Iterable[str]) -> PinyinDecoder:
        """Count the Han characters of ``texts`` by syllable and in pairs; a number before
        a character counts as the pair (:data:`NUMBER`, character): "15号", "3月"."""
        unigrams: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        by_syllable: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for text in texts:
            for number, run in _AFTER_NUMBER.findall(text):
                if number:
                    bigrams[NUMBER + run[0]] += 1
                    unigrams[NUMBER] += 1
                cls._count(table, run, unigrams, bigrams, by_syllable)
        candidates = {s: tuple(c for c, _ in counts.most_common(_CANDIDATES)) for s, counts in by_syllable.items()}
        return cls(candidates, dict(unigrams), dict(bigrams), max(1, sum(unigrams.values())))

    @staticmethod
    def _count(
        table: PinyinTable, run: str, unigrams: Counter[str], bigrams: Counter[str],
        by_syllable: defaultdict[str, Counter[str]],
    ) -> None:  # fmt: skip
        syllables = table.syllables(run)
        if len(syllables) != len(run):
            return
        for char, syllable in zip(run, syllables, strict=True):
            unigrams[char] += 1
            by_syllable[syllable][char] += 1
        bigrams.update(a + b for a, b in itertools.pairwise(run))

    def decode(self, syllables: Sequence[str], *, after_number: bool = False) -> str:
        """The likeliest characters for ``syllables`` (``after_number``: they follow a number,
        as 号 follows 15); a syllable no character is known for becomes a space (the text
        around it is decoded on its own)."""
        start = NUMBER if after_number else ""
        paths: dict[str, tuple[float, str]] = {start: (0.0, "")}  # last character -> (log score, text)
        for syllable in syllables:
            options = self.candidates.get(syllable)
            if not options:
                score, text = max(paths.values())
                paths = {"": (score, text + " ")}
                continue
            paths = {char: self._best_step(paths, char) for char in options}
        return max(paths.values())[1].strip()

    def _best_step(self, paths: dict[str, tuple[float, str]], char: str) -> tuple[float, str]:
        own = _BACKOFF * (self.unigrams.get(char, 0) + 1) / self.total
        steps = (
            (score + math.log((self.bigrams.get(previous + char, 0) + own) / (self.unigrams.get(previous, 0) + 1)),
             text + char)
            for previous, (score, text) in paths.items()
        )  # fmt: skip
        return max(steps)

"""Toneless pinyin: how Chinese is compared, so that homophone typos and pinyin input match.

People type Chinese with pinyin input methods and speak it into voice input, so the
usual mistakes sound right and look wrong (社宝卡 for 社保卡, 机活 for 激活), and some
type the pinyin itself ("shebaoka jihuo"). Comparing syllables makes all of these equal.

:class:`PinyinTable` holds the reading of every character (pypinyin's single-character
dictionary, first reading) and, for the phrases of the knowledge base whose reading in
context differs (银行 is *yin hang*, not *yin xing*), the phrase reading. It is built
once with pypinyin when the knowledge base is compiled; at run time it is plain
dictionaries, so answering a message neither loads nor runs pypinyin.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_MAX_PHRASE = 4
"""Longest phrase whose reading is kept (pypinyin's phrases are mostly 2-4 characters)."""
_MAX_SYLLABLE = 6
"""Longest syllable ("zhuang", "shuang")."""
_CACHED_RUN = 12
"""Runs of Han characters up to this length are cached."""
_ERHUA = frozenset({"na", "zhe", "dian", "hui", "kuai", "bian", "wan", "shi", "ban", "tou"})
"""Syllables people write with an r for 儿 (nar, zher, yidianr, yihuir): only these, so that
English words ending in r ("your", "sir") are not taken for pinyin."""
_CACHED_WORD = 24
"""Latin words up to this length are cached when segmented."""


def toneless(reading: str) -> str:
    """``"lǜ"`` → ``"lv"``, ``"háng"`` → ``"hang"``: no tone marks, ü written v (as people type it)."""
    decomposed = unicodedata.normalize("NFKD", reading).replace("u\u0308", "v").replace("U\u0308", "v")
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


@dataclass(frozen=True, eq=False)
class PinyinTable:
    """Readings of characters and of the knowledge base's phrases; see the module docstring."""

    characters: dict[str, str]
    phrases: dict[str, tuple[str, ...]]
    syllable_set: frozenset[str]

    @classmethod
    def build(cls, texts: Iterable[str]) -> PinyinTable:
        """The table for the knowledge base whose Han text is ``texts`` (loads pypinyin)."""
        from pypinyin.phrases_dict import phrases_dict
        from pypinyin.pinyin_dict import pinyin_dict

        characters = {chr(code): toneless(readings.split(",")[0]) for code, readings in pinyin_dict.items()}
        phrases: dict[str, tuple[str, ...]] = {}
        for text in texts:
            for size in range(2, _MAX_PHRASE + 1):
                for start in range(len(text) - size + 1):
                    phrase = text[start : start + size]
                    readings = phrases_dict.get(phrase)
                    if readings is None or phrase in phrases or len(readings) != size:
                        continue
                    in_context = tuple(toneless(reading[0]) for reading in readings)
                    if in_context != tuple(characters.get(char, char) for char in phrase):
                        phrases[phrase] = in_context
        syllables = frozenset(characters.values()) | {s for reading in phrases.values() for s in reading}
        return cls(characters, phrases, frozenset(s for s in syllables if s.isascii() and s.isalpha()))

    def syllables(self, run: str) -> tuple[str, ...]:
        """The syllables of a run of Han characters: phrase readings first (longest match).

        Short runs (most of them) are remembered; long ones are not, so that memory stays
        bounded in bytes, not only in entries, however long the messages.
        """
        return _syllables_cached(self, run) if len(run) <= _CACHED_RUN else _syllables(self, run)

    def segment(self, word: str) -> tuple[str, ...] | None:
        """``"shebaoka"`` → ``("she", "bao", "ka")``; ``None`` when ``word`` is not pinyin.

        Longest syllable first, backtracking when the rest does not split ("xian" is one
        syllable, "xinan" is "xin an", "xinanfu" is "xi nan fu"); tone digits ("she4bao3") are
        dropped.
        """
        word = word.replace("'", "")
        if len(word) > _CACHED_WORD:
            return None  # no one types a pinyin word this long without spaces or apostrophes
        found = _segment(self.syllable_set, word)
        if found is None and word.endswith("r"):  # erhua: "nar" is 哪儿, na + er
            head = _segment(self.syllable_set, word[:-1])
            if head and head[-1] in _ERHUA:
                return (*head, "er")
        return found


@lru_cache(maxsize=8192)
def _syllables_cached(table: PinyinTable, run: str) -> tuple[str, ...]:
    return _syllables(table, run)


def _syllables(table: PinyinTable, run: str) -> tuple[str, ...]:
    out: list[str] = []
    position = 0
    while position < len(run):
        for size in range(min(_MAX_PHRASE, len(run) - position), 1, -1):
            reading = table.phrases.get(run[position : position + size])
            if reading is not None:
                out.extend(reading)
                position += size
                break
        else:
            char = run[position]
            out.append(table.characters.get(char, char))
            position += 1
    return tuple(out)


@lru_cache(maxsize=4096)
def _segment(syllables: frozenset[str], word: str) -> tuple[str, ...] | None:
    if not word:
        return ()
    for size in range(min(_MAX_SYLLABLE, len(word)), 0, -1):
        head = word[:size]
        if head in syllables:
            rest = word[size:]
            if rest[:1] in ("1", "2", "3", "4", "5"):
                rest = rest[1:]
            tail = _segment(syllables, rest)
            if tail is not None:
                return (head, *tail)
    return None

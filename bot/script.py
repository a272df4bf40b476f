"""Which Chinese script a person writes, and replies converted into it.

The knowledge base is written in Simplified Chinese. Someone who writes Traditional
characters gets every reply, choice and notice in Traditional characters, with the
Hong Kong or Taiwan standard forms when their own characters show which (OpenCC's
``s2hk`` / ``s2tw``; OpenCC's own standard ``s2t`` otherwise). The script is a property
of the conversation: a message whose characters are the same in both scripts keeps it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

import opencc

Script = Literal["hans", "hant", "hk", "tw"]
"""Simplified, Traditional (OpenCC standard), Traditional as in Hong Kong, as in Taiwan."""

_CONVERSIONS: dict[Script, str] = {"hant": "s2t", "hk": "s2hk", "tw": "s2tw"}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Characters of written Cantonese and of Hong Kong's standard forms (裏, 綫, 着 where
# Taiwan writes 裡, 線, 著), and those only Taiwan's standard uses.
_HONG_KONG = frozenset("嘅唔係喺咩冇啲佢嘢咗嚟畀俾㗎囉嗰噉乜攞睇諗嘥裏綫着衞")
_TAIWAN = frozenset("裡線著臺啟衛")
_CANTONESE_WORDS = ("點樣", "邊度", "邊個", "幾時", "乜嘢", "咁樣", "使唔使", "得唔得")


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)  # tables load once per process: 5-80 ms each


def script_of(text: str, current: Script = "hans") -> Script:
    """The script of a conversation after a message ``text``; ``current`` before it.

    A character is Traditional when the Traditional→Simplified conversion changes it and
    Simplified when the reverse conversion does; whichever kind is more frequent wins, and
    a message whose characters are the same in both scripts keeps ``current``. The
    Simplified→Traditional table is slow to load, so it is consulted only when it can
    change the outcome: a Traditional conversation and a message without Traditional
    characters.
    """
    han = "".join(_HAN.findall(text))
    if not han:
        return current
    simplified = _converter("t2s").convert(han)
    trad_only = sum(a != b for a, b in zip(han, simplified, strict=False))
    if trad_only == 0:
        if current == "hans":
            return "hans"
        traditional = _converter("s2t").convert(han)
        return "hans" if any(a != b for a, b in zip(han, traditional, strict=False)) else current
    traditional = _converter("s2t").convert(han)
    simp_only = sum(a != b for a, b in zip(han, traditional, strict=False))
    if simp_only >= trad_only:
        return "hans"
    if any(char in _HONG_KONG for char in han) or any(word in han for word in _CANTONESE_WORDS):
        return "hk"
    if any(char in _TAIWAN for char in han):
        return "tw"
    return current if current in ("hk", "tw") else "hant"  # no variant shown: keep the one known


def to_script(text: str, script: Script) -> str:
    """``text`` (Simplified, as the knowledge base is written) in ``script``."""
    config = _CONVERSIONS.get(script)
    return _converter(config).convert(text) if config else text

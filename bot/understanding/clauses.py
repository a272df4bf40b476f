"""Splitting a message where it may turn to another question, and telling questions from details.

People write several things in one message: "你好，请问社保卡激活要带什么", "I got my card
last month and need it for my salary. How do I activate it?", "社保卡在哪激活，激活期限是多久".
A message is cut at sentence marks, at words that start another question (还有, 另外,
"and what…") and at commas; each clause is marked as asking something or not, so that
the dialogue can tell the question ("激活要收费吗") from the details around it ("我上个月领
的卡").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCES = re.compile(
    r"[。！？!?；;\n]+|\.(?:\s+|$)|(?:还有|另外|以及|顺便问一?下|再问一?下|对了)|"
    r"\s(?:then|and also|also|plus)\s|\band (?=(?:what|where|how|when|who|which|can|could|do|does|is|are|should|must)\b)"
)
_COMMA = re.compile(r"[，,、]")
_QUESTION = re.compile(
    r"[?？]|吗|呢$|么|什么|怎么|怎样|咋|如何|哪|多久|多少|几|是否|能不能|可不可以|可以不|行不行|要不要|需不需要|"
    r"是不是|有没有|请问|想问|点样|點樣|边度|邊度|几时|幾時|咩|乜|使唔使|得唔得|係咪|系咪|"
    r"^(?:is|are|can|could|do|does|should|must|may|will|would|am)\b|"
    r"\b(?:what|where|how|when|who|which|why)\b"
)


@dataclass(frozen=True)
class Clause:
    """A stretch of a message, and whether it asks something."""

    text: str
    asks: bool


def asks(text: str) -> bool:
    """Whether ``text`` (folded) asks something: a question mark, a question word or particle."""
    return bool(_QUESTION.search(text.strip()))


def split(folded: str) -> list[Clause]:
    """The clauses of a folded message, in order (one clause when it does not split)."""
    clauses = [
        Clause(piece.strip(), asks(piece))
        for sentence in _SENTENCES.split(folded)
        for piece in _COMMA.split(sentence)
        if piece.strip()
    ]
    return clauses or [Clause(folded.strip(), asks(folded))]

"""Intent matching: which intent a message means, and whether to answer, ask, or decline.

The classifier (:mod:`bot.understanding.model`) scores every message against every
intent, including the explicit out-of-scope, not-covered and small-talk classes. The
decision is made on those probabilities, on principle rather than with special words:

* the most probable class is not an answerable intent → say so (the fallback, the honest
  "not covered" answer, or a small-talk line);
* an answerable intent is probable enough → answer it;
* two topics share most of the probability, neither clearly ahead → ask which was meant;
* otherwise → the most probable non-answer class (not covered, or out of scope).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge import KnowledgeBase
from bot.knowledge.schema import IntentKind
from bot.messages import Language
from bot.understanding.compiled import Compiled
from bot.understanding.normalize import NormalizedText

_BETWEEN_HAN_AND_DIGITS = re.compile(r"(?<=[\d\u4e00-\u9fff])\s+(?=[\d\u4e00-\u9fff])")
"""Spaces between pinyin words, and around numbers in them, are not Chinese's: 上个月 15 号 → 上个月15号."""

ANSWER_THRESHOLD = 0.45
"""Probability an answerable intent needs to be answered outright."""

RIVAL_THRESHOLD = 0.6
"""Probability two topics need together for "did you mean" (each at least :data:`RIVAL_FLOOR`)."""
RIVAL_FLOOR = 0.2

ANSWERABLE: frozenset[IntentKind] = frozenset({"domain", "social"})


@dataclass(frozen=True)
class Match:
    """The matcher's verdict on one message.

    ``intent`` is what to act on: an answerable intent, a non-answer class
    (``not_covered``, ``out_of_scope``, a small-talk intent), or ``None`` for a message
    with nothing to match (an emoji, a number). ``rival`` is set when the dialogue should
    ask whether ``rival`` was meant instead.
    """

    intent: str | None
    confidence: float
    language: Language | None
    ranking: tuple[tuple[str, float], ...] = ()
    rival: str | None = None


class Matcher:
    """Decides what a message means; see the module docstring."""

    def __init__(self, knowledge: KnowledgeBase, compiled: Compiled) -> None:
        self.knowledge = knowledge
        self.compiled = compiled
        self._kinds = {name: spec.kind for name, spec in knowledge.intents.items()}
        self._topics = frozenset(knowledge.topics)

    def normalize(self, text: str) -> NormalizedText:
        """``text`` normalised as the knowledge base was."""
        return self.compiled.featurizer.normalize(text)

    def fold(self, text: str) -> str:
        """``text`` folded as the knowledge base's normaliser does, punctuation kept."""
        return self.compiled.featurizer.normalize.fold(text)

    def normalize_folded(self, folded: str) -> NormalizedText:
        """:meth:`normalize` for text already :meth:`fold`-ed."""
        return self.compiled.featurizer.normalize.normalize_folded(folded)

    def as_chinese(self, folded: str) -> str | None:
        """A :meth:`fold`-ed message typed in pinyin, in Chinese characters (see
        :mod:`bot.understanding.ime`); ``None`` when it is not such a message."""
        stretches = self.compiled.featurizer.normalize.pinyin_stretches(folded)
        if stretches is None:
            return None
        decode = self.compiled.decoder.decode
        out, position = "", 0
        for start, end, syllables in stretches:
            out += folded[position:start]
            out += decode(syllables, after_number=out.rstrip()[-1:].isdigit())
            position = end
        return _BETWEEN_HAN_AND_DIGITS.sub("", out + folded[position:]).strip()

    def units(self, text: NormalizedText) -> list[str]:
        """The units the classifiers weigh for ``text``."""
        return self.compiled.featurizer.units(text)

    def kind(self, intent: str) -> IntentKind:
        """How ``intent`` is answered (see :data:`bot.knowledge.schema.IntentKind`)."""
        return self._kinds[intent]

    def match(self, text: str | NormalizedText) -> Match:
        """What ``text`` means; see the module docstring."""
        normalized = self.normalize(text) if isinstance(text, str) else text
        probabilities = self.compiled.intents.probabilities(self.units(normalized))
        if not probabilities:
            return Match(None, 0.0, normalized.language)
        ranking = tuple(sorted(probabilities.items(), key=lambda item: -item[1]))
        answerable = [(name, p) for name, p in ranking if self._kinds[name] in ANSWERABLE]
        top, p_top = ranking[0]
        language = normalized.language
        if self._kinds[top] not in ANSWERABLE:
            return Match(top, round(p_top, 4), language, tuple(answerable))
        if p_top >= ANSWER_THRESHOLD:
            return Match(top, round(p_top, 4), language, tuple(answerable))
        rival = self._rival(answerable)
        if rival is not None:
            return Match(top, round(p_top, 4), language, tuple(answerable), rival)
        declined = next(name for name, _ in ranking if self._kinds[name] not in ANSWERABLE)
        return Match(declined, round(p_top, 4), language, tuple(answerable))

    def _rival(self, answerable: list[tuple[str, float]]) -> str | None:
        if len(answerable) < 2:
            return None
        (first, p1), (second, p2) = answerable[:2]
        close = p1 + p2 >= RIVAL_THRESHOLD and p2 >= RIVAL_FLOOR
        return second if close and first in self._topics and second in self._topics else None

    def reported(self, match: Match) -> str | None:
        """The intent evaluation and ``chat --json`` report for ``match``."""
        return self.knowledge.reported(match.intent)

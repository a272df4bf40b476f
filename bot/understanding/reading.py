"""Reading a whole message: its questions, its details, and answers to follow-up questions.

People put several things in one message: a greeting and a question, two questions, a
question and the detail that changes its answer. A message is split into clauses (at
sentence marks and words such as 还有 / "and also"); each clause is matched on its own as
well as the whole message, and every topic asked about clearly is answered, in order. A
greeting or thanks next to a question does not hide it.

A short message that asks nothing on its own ("那银行呢", "what about the hospital?") is
*elliptical*: the dialogue reads it against the topic it answered last.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from bot.knowledge import KnowledgeBase, SlotSpec
from bot.knowledge.base import REQUIRED_CONCEPTS
from bot.understanding import clauses
from bot.understanding.compiled import QUESTION, Compiled
from bot.understanding.dates import Implausible, Received
from bot.understanding.matcher import ANSWER_THRESHOLD, ANSWERABLE, Match, Matcher
from bot.understanding.normalize import NormalizedText
from bot.understanding.slots import RolePatterns, financial_account, opens_with_answer, received, starts_with_no

MAX_TOPICS = 3
"""Most topics answered from one message."""

CLAUSE_THRESHOLD = 0.6
"""Probability a clause's topic needs to be answered besides the whole message's: a clause is
short, so it must be surer."""

_ELLIPSIS = re.compile(
    r"^(?:那|那么|还有|那如果|如果是|要是|那要是)|呢$|^(?:and|or|what about|how about|then|so|but)\b|"
    r"\b(?:then|instead|too|either)\??$"
)
ELLIPTICAL_MAX_HAN = 12
ELLIPTICAL_MAX_WORDS = 7
"""An elliptical follow-up is short: a longer message says what it is about."""

ANSWER_THRESHOLD_VALUE = 0.5
"""Probability a value needs to be taken from an answer to a follow-up question."""
ANSWER_THRESHOLD_UNSURE = 0.8
""""I don't know" ends the follow-up with the general answer, so it needs more certainty
than a value: a reply the classifier barely places ("紫色香蕉") is asked about again."""


@dataclass(frozen=True)
class Message:
    """A message in the forms the dialogue works with, made once per turn."""

    text: str
    """As written."""
    folded: str
    """NFKC, case-folded, dialect words in Mandarin, Simplified, stripped: for commands, choices,
    details and dates."""
    normalized: NormalizedText
    """For matching."""


@dataclass(frozen=True)
class Reading:
    """What a new message asks and tells."""

    match: Match
    """The whole message's match (what to say when no topic is asked clearly)."""
    topics: tuple[str, ...]
    """Answerable intents asked about clearly, in order."""
    details: dict[str, bool | str] = field(default_factory=dict)
    """Slot values the message gives (``financial_account``, ``role``, ``received_date``)."""
    elliptical: bool = False


@dataclass(frozen=True)
class AnswerReading:
    """What an answer to a follow-up question means.

    ``outcome``: ``value`` (then ``value`` holds it), ``unsure``, ``aside`` (a question about
    the follow-up itself), ``implausible`` (a date that cannot be; ``notice`` names why),
    ``question`` (a new question instead), or ``none`` (not understood).
    """

    outcome: str
    value: bool | str | None = None
    notice: str | None = None


class Reader:
    """Reads messages for one compiled knowledge base."""

    def __init__(self, knowledge: KnowledgeBase, compiled: Compiled) -> None:
        self.knowledge = knowledge
        self.compiled = compiled
        self.matcher = Matcher(knowledge, compiled)
        people = knowledge.lexicon.get("person", {})
        self.roles = RolePatterns.build(people.get("zh", ()), people.get("en", ()))
        self._value_classes = {
            slot_type: [c for c in compiled.answers.classes if c.startswith(f"{slot_type}=")]
            for slot_type in ("financial", "role", "date")
        }

    # -- new messages ---------------------------------------------------------------------

    def message(self, text: str) -> Message:
        """``text`` folded and normalised, once; pinyin input is folded into characters."""
        folded = self.matcher.fold(text)
        normalized = self.matcher.normalize_folded(folded)
        typed_in_pinyin = normalized.language == "zh" and not normalized.han
        return Message(text, ((typed_in_pinyin and self.matcher.as_chinese(folded)) or folded).strip(), normalized)

    def read(self, message: Message, today: date) -> Reading:
        """The topics and details of a new message."""
        whole = self.matcher.match(message.normalized)
        topics, declined = self._topics(message, whole)
        details = self.details(message.folded, today)
        normalized = message.normalized
        has_content = bool(normalized.runs or normalized.words) and normalized.language is not None
        short = len(normalized.han) <= ELLIPTICAL_MAX_HAN and len(normalized.words) <= ELLIPTICAL_MAX_WORDS
        unclear = not topics or whole.confidence < ANSWER_THRESHOLD or whole.rival is not None
        elliptical = has_content and short and (bool(_ELLIPSIS.search(message.folded.rstrip("?？。.!！"))) or unclear)
        something_else = _is_social(self.matcher, whole) or self._declines(whole) or declined is not None
        return Reading(declined or whole, topics, details, elliptical and not something_else)

    def _topics(self, message: Message, whole: Match) -> tuple[tuple[str, ...], Match | None]:
        """The topics asked about, in order, and the match of a question the bot must decline.

        When some clauses ask and others only tell, the asking ones decide what is asked,
        provided they name what they are about (the card, activation): "我上个月领的卡，激活
        要收费吗" asks about fees, but in "社保卡激活后，多久能用" the question needs its
        first half. A greeting or thanks clause is set aside.
        """
        parts = clauses.split(message.folded)
        if len(parts) == 1:
            return self._whole_topics(whole, []), None
        matches = [(part, self.matcher.match(part.text)) for part in parts]
        kept = [(p, m) for p, m in matches if not _is_social(self.matcher, m)]
        asking = [p.text for p, _ in kept if p.asks]
        if asking and len(asking) < len(kept):
            question = self.matcher.match(" ".join(asking))
            if self._names_its_subject(question, " ".join(asking)):
                if self._declines(question):
                    return (), question
                if self._clear(question):
                    whole = question
        elif len(kept) < len(matches) and kept:  # greeting or thanks set aside
            whole = self.matcher.match(" ".join(p.text for p, _ in kept))
        asked = self._clear_domain(self._asking_about_the_card(kept, whole), CLAUSE_THRESHOLD)
        return self._whole_topics(whole, asked), None

    def _asking_about_the_card(self, kept: list[tuple[clauses.Clause, Match]], whole: Match) -> list[Match]:
        """The asking clauses once the message has said it is about the card (in that clause or
        an earlier one, or the whole message is a domain question): "my visa expires soon,
        what's the deadline" is not a question about the card."""
        named = bool(self._clear_domain([whole], 0.0))
        found = []
        for part, match in kept:
            named = named or self._names_its_subject(match, part.text)
            if part.asks and named:
                found.append(match)
        return found

    def _whole_topics(self, whole: Match, asked: list[str]) -> tuple[str, ...]:
        """The whole question's topic, then those asked clause by clause, in the order asked."""
        topics = self._clear_domain([whole], 0.0)
        topics += [intent for intent in asked if intent not in topics]
        topics.sort(key=lambda intent: asked.index(intent) if intent in asked else -1)
        if not topics and self._clear(whole):
            topics.append(whole.intent)  # type: ignore[arg-type]  # a greeting, thanks, help
        return tuple(topics[:MAX_TOPICS])

    def _names_its_subject(self, match: Match, text: str) -> bool:
        """Whether ``text`` says what it is about: the card, social security or activation."""
        return not self._concepts(self.matcher.normalize(text)).isdisjoint(REQUIRED_CONCEPTS)

    def _concepts(self, normalized: NormalizedText) -> set[str]:
        """The lexicon concepts ``normalized`` names."""
        return {unit[2:] for unit in self.matcher.units(normalized) if unit.startswith("c:")}

    def _clear_domain(self, matches: list[Match], threshold: float) -> list[str]:
        """The domain intents of ``matches`` that are clear and at least ``threshold`` sure, once each."""
        found: list[str] = []
        for match in matches:
            sure = self._clear(match) and match.confidence >= threshold
            if sure and self.matcher.kind(match.intent) == "domain" and match.intent not in found:  # type: ignore[arg-type]
                found.append(match.intent)  # type: ignore[arg-type]
        return found

    def _declines(self, match: Match) -> bool:
        """Whether ``match`` is clearly a question to decline (not covered, out of scope)."""
        kind = self.matcher.kind(match.intent) if match.intent else None
        return kind in ("not_covered", "out_of_scope") and match.confidence >= CLAUSE_THRESHOLD

    def _clear(self, match: Match) -> bool:
        return (
            match.intent is not None
            and self.matcher.kind(match.intent) in ANSWERABLE
            and match.rival is None
            and match.confidence >= ANSWER_THRESHOLD
        )

    def details(self, folded: str, today: date) -> dict[str, bool | str]:
        """Slot values the (folded) text gives, whatever its topic (a date in an entrust question counts)."""
        found: dict[str, bool | str] = {}
        financial = financial_account(folded)
        if financial is not None:
            found["financial_account"] = financial
        role = self.roles.role(folded)
        if role is not None:
            found["role"] = role
        when = received(folded, today)
        if isinstance(when, Received):
            found["received_date"] = when.encode()
        return found

    def mentioned(self, message: Message, concepts: Collection[str]) -> set[str]:
        """Which of the lexicon's ``concepts`` ``message`` names."""
        return self._concepts(message.normalized).intersection(concepts) if concepts else set()

    # -- answers to follow-up questions ----------------------------------------------------

    def read_answer(self, message: Message, slot: SlotSpec, today: date) -> AnswerReading:
        """What ``text`` answers to the follow-up question for ``slot``.

        A question about the follow-up itself ("什么是金融账户？") is an aside even though it
        names the bank functions; otherwise a value the patterns read is taken, then what
        the classifier is sure of.
        """
        folded = message.folded.strip("。.!！~～ ")
        if slot.type == "date":
            when = received(folded, today)
            if isinstance(when, Received):
                return AnswerReading("value", when.encode())
            if isinstance(when, Implausible):
                return AnswerReading("implausible", notice=when.reason)
        classified = self._classified_answer(message.normalized, slot)
        answered_first = slot.type == "financial" and opens_with_answer(folded)
        if (classified.outcome == "aside" and not answered_first) or slot.type == "date":
            return classified
        ruled = financial_account(folded) if slot.type == "financial" else self.roles.role(folded, answering=True)
        if ruled is False and classified.outcome == "unsure" and not starts_with_no(folded):
            return classified  # the negation was of not knowing: "不知道要不要", "not sure, I don't know what…"
        if ruled is not None:
            return AnswerReading("value", ruled)
        return classified

    def _classified_answer(self, normalized: NormalizedText, slot: SlotSpec) -> AnswerReading:
        units = self.matcher.units(normalized)
        allowed = [*self._value_classes[slot.type], "unsure", f"aside:{slot.name}", QUESTION]
        probabilities = self.compiled.answers.probabilities(units, allowed)
        if not probabilities:
            return AnswerReading("none")
        best = max(probabilities, key=probabilities.__getitem__)
        if probabilities[best] < ANSWER_THRESHOLD_VALUE:
            return AnswerReading("none")
        if best == "unsure" and probabilities[best] < ANSWER_THRESHOLD_UNSURE:
            return AnswerReading("none")
        if best in (QUESTION, "unsure"):
            return AnswerReading(best)
        if best.startswith("aside:"):
            return AnswerReading("aside")
        value = best.partition("=")[2]
        return AnswerReading("value", {"True": True, "False": False}.get(value, value))


def _is_social(matcher: Matcher, match: Match) -> bool:
    return match.intent is not None and matcher.kind(match.intent) in ("social", "chitchat")

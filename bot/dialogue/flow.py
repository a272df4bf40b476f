"""One turn of the dialogue: from a message (or command) and the stored state to the replies.

* A pending follow-up question is answered first: a choice, a value in the person's own
  words, "I don't know" (the general answer), a question about the follow-up itself
  (answered; the question stays pending), a date that cannot be (asked again, saying
  why), or a clearly new question (which replaces it). Anything else is asked again with
  a hint, twice at most, then the general answer is given.
* A new message is read for its topics and details: every topic asked about clearly is
  answered in turn (a follow-up question asked where a detail is missing, the next topic
  after it); a short elliptical follow-up is read against the topic answered last; the
  rest is declined honestly — not covered, small talk, or out of scope.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.dialogue.answers import Answers
from bot.knowledge import KnowledgeBase, Prompt
from bot.messages import Command, Language, Reply
from bot.review.entry import mask_numbers
from bot.state import ConversationState, PendingQuestion, TopicContext
from bot.state.base import PendingKind
from bot.understanding.matcher import Match
from bot.understanding.normalize import fold
from bot.understanding.reading import Message, Reader, Reading

MAX_REASKS = 2
"""A follow-up answer that does not fit is re-asked at most this often, then the general answer is given."""

CONTEXT_SECONDS = 10 * 60
"""How long after an answer an elliptical follow-up is read against its topic."""

CANCEL_WORDS = frozenset({"cancel", "取消", "算了", "never mind", "nevermind", "stop"})

LOW_CONFIDENCE = 0.6
"""An answer given with less confidence than this is logged for review."""


@dataclass(frozen=True)
class Event:
    """Something worth an operator's look (see :mod:`bot.review.entry`): the dialogue's part of it."""

    outcome: str
    intent: str | None = None
    guesses: tuple[tuple[str, float], ...] = ()
    ref: str | None = None


@dataclass
class TurnContext:
    """What one turn works on and produces."""

    state: ConversationState
    today: date
    message: Message | None = None
    """The message of this turn, folded and normalised once (``None`` for a command)."""
    replies: list[Reply] = field(default_factory=list)
    intent: str | None = None
    confidence: float = 1.0
    used: dict[str, object] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    """What the review log should know of this turn."""
    answered: list[tuple[str, str]] = field(default_factory=list)
    """(feedback id, topic) of each topic answered, for 👍/👎."""
    explain: set[str] = field(default_factory=set)
    """Slots whose follow-up question opens with what it means (the message named what it turns on)."""
    question: str = ""
    """The question this turn's replies are about, normalised and masked, for the review log:
    this message's text, or, for an answer to a follow-up, the message that asked."""

    @property
    def language(self) -> Language:
        return self.state.language


class Flow:
    """The dialogue's decisions; see the module docstring."""

    def __init__(self, knowledge: KnowledgeBase, reader: Reader, *, review_days: int | None = None) -> None:
        """``review_days``: how long misunderstood questions are kept, said in the welcome and
        help texts (``None``: no review log, nothing said)."""
        self.knowledge = knowledge
        self.reader = reader
        self.answers = Answers(knowledge)
        self.review_days = review_days

    def notice(self, name: str, language: Language) -> str:
        return self.knowledge.system[name][language]

    # -- entry points ---------------------------------------------------------------------

    def respond(self, turn: TurnContext, message: Message | Command) -> None:
        """Produce the replies to ``message``."""
        if isinstance(message, Command):
            self._command(turn, message)
            return
        if message.folded in CANCEL_WORDS:
            self._command(turn, Command.CANCEL)
            return
        pending = turn.state.pending
        if pending is not None and self._known(pending) and self._continue(turn, pending, message):
            return
        self._new_message(turn, message)

    def _known(self, pending: PendingQuestion) -> bool:
        """Whether the knowledge base still has what ``pending`` asks about (it may have been
        reloaded since the question was asked)."""
        intents = self.knowledge.intents
        if pending.kind != "slot":
            return all(value in intents for value in pending.values)
        spec = intents.get(pending.intent or "")
        return spec is not None and any(slot.name == pending.slot for slot in spec.slots)

    def _command(self, turn: TurnContext, command: Command) -> None:
        had_pending = turn.state.pending is not None and turn.state.pending.kind == "slot"
        self._clear(turn)
        if command is Command.CANCEL:
            turn.intent = None
            turn.replies.append(Reply(self.notice("cancelled" if had_pending else "nothing_to_cancel", turn.language)))
            return
        self._answer(turn, "greeting" if command is Command.START else "help", {})

    # -- a pending question ---------------------------------------------------------------------

    def _continue(self, turn: TurnContext, pending: PendingQuestion, message: Message) -> bool:
        """Take ``message`` as the answer to ``pending``; False when it is a new question instead."""
        turn.question = pending.question or turn.question
        choice = _selected_choice(pending, message.folded)
        if pending.kind != "slot":
            if choice is None:
                return False
            intent = str(pending.values[choice])
            slots = dict(turn.state.slots) if pending.kind == "disambiguation" else {}
            if pending.kind == "disambiguation":
                turn.events.append(Event("picked", intent=intent, ref=pending.prompt_id))
            self._clear(turn)
            self._proceed(turn, intent, slots)
            return True
        assert pending.intent is not None and pending.slot is not None
        slot = self.knowledge.slot(pending.intent, pending.slot)
        if choice is not None:
            return self._fill(turn, pending, slot.values[choice])
        reading = self.reader.read_answer(message, slot, turn.today)
        if reading.outcome == "value":
            return self._fill(turn, pending, reading.value)
        if reading.outcome == "unsure":
            return self._fill(turn, pending, None)
        if reading.outcome == "aside":
            return self._ask_again(turn, pending, self._prompt(turn, pending).about, count=False)
        if reading.outcome == "implausible" and reading.notice:
            return self._ask_again(turn, pending, self.notice(reading.notice, turn.language), count=False)
        if self._is_new_question(message, turn.today):
            return False
        turn.events.append(Event("reasked", intent=pending.intent))
        if pending.reasks >= MAX_REASKS:
            return self._fill(turn, pending, None)
        return self._ask_again(turn, pending, self._prompt(turn, pending).hint, count=True)

    def _is_new_question(self, message: Message, today: date) -> bool:
        reading = self.reader.read(message, today)
        return bool(reading.topics) or self.reader.matcher.kind(reading.match.intent or "out_of_scope") == "not_covered"

    def _fill(self, turn: TurnContext, pending: PendingQuestion, value: bool | str | None) -> bool:
        """The pending slot takes ``value`` (``None``: not known, the general answer)."""
        assert pending.intent is not None and pending.slot is not None
        slots = dict(turn.state.slots)
        slots[pending.slot] = value
        turn.state.pending = None
        self._proceed(turn, pending.intent, slots)
        return True

    def _ask_again(self, turn: TurnContext, pending: PendingQuestion, text: str, *, count: bool) -> bool:
        """Ask ``pending`` again: with the hint (``count``: one more re-ask), or after ``text``
        (an explanation: what the question means, why a date cannot be) with the question itself."""
        prompt = self._prompt(turn, pending)
        pending.reasks += count
        pending.choices = list(prompt.choices)  # the language may have changed
        turn.intent = pending.intent
        shown = text if count else f"{text}\n\n{prompt.text}"
        turn.replies.append(Reply(shown, tuple(prompt.choices), pending.prompt_id))
        return True

    def _prompt(self, turn: TurnContext, pending: PendingQuestion) -> Prompt:
        assert pending.intent is not None and pending.slot is not None
        return self.knowledge.responses[pending.intent].prompts[pending.slot][turn.language]

    # -- a new message ------------------------------------------------------------------------

    def _new_message(self, turn: TurnContext, message: Message) -> None:
        self._clear(turn)
        turn.question = mask_numbers(message.normalized.text)
        context = self._fresh_context(turn)
        if context is not None and self._answer_aside(turn, message, context):
            return
        reading = self.reader.read(message, turn.today)
        topics = list(reading.topics)
        if not topics and context is not None and reading.elliptical:
            topics = [context.intent]
        if not topics:
            self._decline(turn, reading.match, reading)
            return
        turn.confidence = reading.match.confidence
        if reading.match.confidence < LOW_CONFIDENCE:
            turn.events.append(Event("low_confidence", intent=topics[0], guesses=reading.match.ranking[:3]))
        slots = dict(context.slots) if context is not None else {}
        slots.update(reading.details)
        self._explained_by_mention(turn, topics, message, slots, given=reading.details)
        ready = [t for t in topics if all(s.name in slots for s in self.knowledge.intents[t].slots)]
        topics = ready + [t for t in topics if t not in ready]  # answers first, then what needs asking
        turn.state.queue = topics[1:]
        turn.state.slots = slots
        self._proceed(turn, topics[0], slots)

    def _explained_by_mention(
        self, turn: TurnContext, topics: list[str], message: Message, slots: dict[str, bool | str | None],
        given: Mapping[str, object],
    ) -> None:  # fmt: skip
        """A message that names what a follow-up question turns on ("能在药店激活吗": a place)
        gets the question with its explanation first: when a pharmacy will do, and when a bank.
        A value kept from the last answer that the named thing does not go with is dropped
        ("那药店呢" after the bank's answer asks about the other case); one ``given`` in this
        message stays."""
        for topic in topics:
            for slot in self.knowledge.intents[topic].slots:
                named = self.reader.mentioned(message, slot.explained_when)
                if not named:
                    continue
                turn.explain.add(slot.name)
                kept = slots.get(slot.name)
                if slot.name not in given and any(slot.explained_when[concept] != kept for concept in named):
                    slots.pop(slot.name, None)

    def _answer_aside(self, turn: TurnContext, message: Message, context: TopicContext) -> bool:
        """A question about a detail of the topic just answered ("what is a power of attorney?"):
        what the follow-up question for that detail means."""
        for slot in self.knowledge.intents[context.intent].slots:
            if self.reader.read_answer(message, slot, turn.today).outcome == "aside":
                prompt = self.knowledge.responses[context.intent].prompts[slot.name][turn.language]
                turn.intent = context.intent
                turn.replies.append(Reply(prompt.about))
                turn.state.context = context
                return True
        return False

    def _fresh_context(self, turn: TurnContext) -> TopicContext | None:
        context = turn.state.context
        if context is None or time.time() - context.at > CONTEXT_SECONDS:
            return None
        return context

    def _decline(self, turn: TurnContext, match: Match, reading: Reading) -> None:
        """No topic to answer: did-you-mean, not covered, small talk, or the fallback."""
        turn.confidence = match.confidence
        guesses = match.ranking[:3]
        if match.rival is not None and match.intent is not None:
            turn.intent = match.intent
            turn.state.slots = dict(reading.details)
            self._choice_question(turn, "disambiguation", self.notice("disambiguation", turn.language),
                                  [match.intent, match.rival])  # fmt: skip
            turn.events.append(Event("did_you_mean", guesses=guesses, ref=turn.state.pending.prompt_id))  # type: ignore[union-attr]
            return
        kind = self.reader.matcher.kind(match.intent) if match.intent else None
        if match.intent is not None and kind in ("not_covered", "chitchat", "social"):
            if kind == "not_covered":
                turn.events.append(Event("not_covered", guesses=guesses))
            self._answer(turn, match.intent, {})
            return
        if match.intent is None and match.language is None:
            self._answer(turn, "acknowledgement", {})  # an emoji, a thumbs-up
            return
        turn.intent = None
        turn.events.append(Event("fallback", guesses=guesses))
        self._choice_question(turn, "menu", self.notice("fallback", turn.language), list(self.knowledge.topics))

    # -- answering ----------------------------------------------------------------------------

    def _proceed(self, turn: TurnContext, intent: str, slots: dict[str, bool | str | None]) -> None:
        """Ask for the first missing slot of ``intent``, or answer it (then the next queued topic)."""
        turn.intent = turn.intent or intent
        for slot in self.knowledge.intents[intent].slots:
            if slot.name not in slots:
                turn.state.slots = slots
                self._ask(turn, intent, slot.name)
                return
        self._answer(turn, intent, slots)
        while turn.state.queue and turn.state.pending is None:
            self._proceed(turn, turn.state.queue.pop(0), dict(slots))

    def _ask(self, turn: TurnContext, intent: str, slot: str) -> None:
        prompt = self.knowledge.responses[intent].prompts[slot][turn.language]
        turn.state.pending = PendingQuestion(
            kind="slot", prompt_id=secrets.token_hex(4), intent=intent, slot=slot, choices=list(prompt.choices),
            question=turn.question,
        )  # fmt: skip
        text = f"{prompt.about}\n\n{prompt.text}" if slot in turn.explain else prompt.text
        turn.replies.append(Reply(text, tuple(prompt.choices), turn.state.pending.prompt_id))

    def _answer(self, turn: TurnContext, intent: str, slots: dict[str, bool | str | None]) -> None:
        turn.intent = turn.intent or intent
        text = self.answers.text(intent, turn.language, slots, turn.today)
        if not turn.answered and not turn.used:  # the turn reports the first topic's details
            turn.used = self.answers.used_slots(intent, slots)
        turn.state.pending = None
        turn.state.slots = {}
        kind = self.knowledge.intents[intent].kind
        if kind == "domain":
            turn.state.context = TopicContext(intent=intent, slots=slots)
        if intent in ("greeting", "help"):
            if self.review_days is not None:
                text += "\n" + self.notice("review_notice", turn.language).format(days=self.review_days)
            self._choice_question(turn, "menu", text, list(self.knowledge.topics))
        elif kind == "domain" and self.review_days is not None:  # votes go to the review log
            feedback = secrets.token_hex(4)
            turn.answered.append((feedback, intent))
            turn.replies.append(Reply(text, feedback=feedback))
        else:
            turn.replies.append(Reply(text))

    def _choice_question(self, turn: TurnContext, kind: PendingKind, text: str, intents: list[str]) -> None:
        """Reply ``text`` with the topics ``intents`` as choices: a tap (or a number) asks that question."""
        labels = [self.knowledge.responses[intent].label[turn.language] for intent in intents]
        pending = PendingQuestion(
            kind=kind,
            prompt_id=secrets.token_hex(4),
            choices=labels,
            values=intents,
            question=turn.question,
        )
        turn.state.pending = pending
        turn.replies.append(Reply(text, tuple(labels), pending.prompt_id))

    @staticmethod
    def _clear(turn: TurnContext) -> None:
        turn.state.pending = None
        turn.state.slots = {}
        turn.state.queue = []


def _selected_choice(pending: PendingQuestion, folded: str) -> int | None:
    """Index of the choice the (folded) text names, by its label or its 1-based number."""
    typed = "".join(folded.split()).strip("。.!！?？")
    if typed.isdigit() and 1 <= int(typed) <= len(pending.choices):
        return int(typed) - 1
    labels = ["".join(fold(choice).split()) for choice in pending.choices]
    return labels.index(typed) if typed in labels else None

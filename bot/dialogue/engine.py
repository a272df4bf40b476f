"""The dialogue engine: the one entry point channels use; it knows nothing of Telegram or WeChat.

Each turn runs under the conversation's lock, loads the conversation state from the
store, lets :class:`bot.dialogue.flow.Flow` decide the replies, and saves the state for
the idle period: the pending question, the topic answered last, the person's language and
script. Replies come out in the person's script (Traditional writers read Traditional).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bot.dialogue.flow import Flow, TurnContext
from bot.knowledge import KnowledgeBase
from bot.messages import Command, Language, Locale, Reply, Turn
from bot.review.entry import ReviewEntry, mask_numbers
from bot.review.log import ReviewLog
from bot.script import script_of, to_script
from bot.state import ConversationState, StateStore, keys
from bot.understanding.compiled import Compiled, compile_knowledge
from bot.understanding.reading import Reader

log = logging.getLogger(__name__)

CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    """Today in mainland China, whatever the server's time zone (deadlines are counted there)."""
    return datetime.now(CHINA).date()


class Engine:
    """Answers messages of conversations kept in a :class:`~bot.state.StateStore`."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        store: StateStore,
        *,
        compiled: Compiled | None = None,
        today: Callable[[], date] = china_today,
        idle_seconds: float = 30 * 60,
        review: ReviewLog | None = None,
    ) -> None:
        """``compiled``: the compiled knowledge base (see :mod:`bot.understanding.compiled`);
        compiled here when not given (slow: tests and tools pass the cached one).
        ``review``: where misunderstood messages and votes are logged (nowhere when ``None``)."""
        self.knowledge = knowledge
        self.store = store
        self.review = review
        self.reader = Reader(knowledge, compiled or compile_knowledge(knowledge))
        self.flow = Flow(knowledge, self.reader)
        self.attach_review(review)
        self._today = today
        self._idle_seconds = idle_seconds

    def reload(self, knowledge: KnowledgeBase, compiled: Compiled) -> None:
        """Answer from now on with ``knowledge`` (validated and compiled by the caller).

        Conversations stay in the store: a pending follow-up question whose intent or slot
        the new knowledge base no longer has is dropped when its answer comes.
        """
        reader = Reader(knowledge, compiled)
        flow = Flow(knowledge, reader, review_days=self.flow.review_days)
        self.knowledge, self.reader, self.flow = knowledge, reader, flow

    def attach_review(self, review: ReviewLog | None) -> None:
        """Log misunderstood messages and votes to ``review`` (``None``: nowhere); the welcome
        and help texts then say for how long they are kept."""
        self.review = review
        self.flow.review_days = round(review.keep_seconds / 86400) if review is not None else None

    # -- public API ----------------------------------------------------------------------

    async def handle(
        self, key: str, message: str | Command, *, hint: Language | None = None, channel: str | None = None
    ) -> Turn:
        """Answer one text message (or a :class:`Command`) of conversation ``key``.

        ``hint`` is the channel's guess of the person's language (Telegram's client
        language), used only when neither the message nor the conversation tells.
        ``channel`` names the channel in the review log (default: the key's prefix).
        """
        async with self.store.lock(key):
            turn = await self._load(key, message, hint)
            self.flow.respond(turn, turn.message or message)  # type: ignore[arg-type]
            result = await self._save(key, turn)
        await self._log(key, turn, channel)
        return result

    async def choose(self, key: str, prompt_id: str, index: int) -> Turn | None:
        """Select choice ``index`` (0-based) of pending question ``prompt_id``, exactly as typing it would.

        ``None`` when that question is no longer pending: already answered, replaced by a
        newer one, expired, or asked of someone else (the key differs).
        """
        async with self.store.lock(key):
            turn = await self._load(key, "", None)
            pending = turn.state.pending
            if pending is None or pending.prompt_id != prompt_id or not 0 <= index < len(pending.choices):
                return None
            self.flow.respond(turn, self.reader.message(pending.choices[index]))
            result = await self._save(key, turn)
        await self._log(key, turn, None)
        return result

    async def feedback(
        self, key: str, feedback: str, vote: Literal["up", "down"], *, channel: str | None = None
    ) -> bool:
        """A 👍 or 👎 on the answer ``feedback`` identifies, from conversation ``key``.

        False (and nothing logged) when that answer is unknown or expired, or was given in
        another conversation: in a group, only the asker's vote counts. Voting again logs
        the new vote; the review counts the last one.
        """
        record = await self.store.tokens.recall(keys.answer_feedback(feedback))
        if record is None or self.review is None:
            return False
        answer = _AnswerRecord.model_validate_json(record)
        if answer.owner != _owner(key):
            return False
        entry = ReviewEntry(
            channel=channel or _channel_of(key), language=answer.language, outcome=vote, text=answer.text,
            intent=answer.intent, ref=feedback,
        )  # fmt: skip
        await self._add(entry)
        return True

    async def locale(self, key: str, hint: Language | None = None) -> Locale:
        """The language and script of conversation ``key``, for a channel's own notices.

        Never raises: when the store cannot tell (unknown conversation, or the store is
        down and the notice is ``unavailable``) it is ``hint``, else Simplified Chinese.
        """
        try:
            state = await self.store.get(key)
        except Exception as error:  # a notice must not fail because the state is unreachable
            log.warning("locale_lookup_failed error=%s", type(error).__name__)
            state = None
        if state is None or self._expired(state):
            return Locale(hint or "zh")
        return Locale(state.language, state.script)

    def notice(self, name: str, locale: Locale | Language) -> str:
        """A fixed system text from ``responses/_system.yaml`` (e.g. ``non_text``, ``stale_choice``)."""
        locale = locale if isinstance(locale, Locale) else Locale(locale)
        return to_script(self.knowledge.system[name][locale.language], locale.script)

    def classify(self, text: str) -> dict[str, object]:
        """What ``text`` asks, without any conversation: the contract of ``faqbot classify``.

        ``intent`` is the reported intent (``None``: out of scope, not covered, small talk),
        ``did_you_mean`` the two topics the bot would ask between, ``slots`` the details given.
        """
        today = self._today()
        reading = self.reader.read(self.reader.message(text), today)
        match = reading.match
        primary = reading.topics[0] if reading.topics else match.intent
        rival = [match.intent, match.rival] if not reading.topics and match.rival else None
        return {
            "text": text,
            "intent": self.knowledge.reported(primary),
            "confidence": match.confidence,
            "language": match.language or "zh",
            "slots": self.flow.answers.reported_details(dict(reading.details)) if primary else {},
            "did_you_mean": rival,
        }

    # -- the review log ----------------------------------------------------------------------

    async def _log(self, key: str, turn: TurnContext, channel: str | None) -> None:
        """Log the turn's events, and keep what 👍/👎 on its answers will need (never failing the turn)."""
        if self.review is None:
            return
        message = turn.message
        text = turn.question or (message.normalized.text if message is not None else "")
        language = turn.state.language
        channel = channel or _channel_of(key)
        for event in turn.events:
            shown = "" if event.outcome == "picked" else text
            entry = ReviewEntry.of_message(
                shown, channel=channel, language=language, outcome=event.outcome, intent=event.intent,
                guesses=list(event.guesses), ref=event.ref,
            )  # fmt: skip
            await self._add(entry)
        for feedback, intent in turn.answered:
            record = _AnswerRecord(owner=_owner(key), intent=intent, language=language, text=mask_numbers(text)[:500])
            try:
                await self.store.tokens.remember(
                    keys.answer_feedback(feedback), record.model_dump_json(), FEEDBACK_SECONDS
                )
            except Exception as error:
                log.warning("feedback_not_kept error=%s", type(error).__name__)

    async def _add(self, entry: ReviewEntry) -> None:
        assert self.review is not None
        try:
            await self.review.add(entry)
        except Exception as error:  # the log must never cost an answer
            log.warning("review_log_failed outcome=%s error=%s", entry.outcome, type(error).__name__)

    # -- state -----------------------------------------------------------------------------

    def _expired(self, state: ConversationState) -> bool:
        return time.time() - state.updated_at > self._idle_seconds

    async def _load(self, key: str, message: str | Command, hint: Language | None) -> TurnContext:
        state = await self.store.get(key)
        if state is None or self._expired(state):
            state = ConversationState(language=hint or "zh")
        read = None
        if isinstance(message, str):
            read = self.reader.message(message)
            if read.normalized.language is not None:
                state.language = read.normalized.language
            state.script = script_of(message, state.script)
        return TurnContext(state=state, today=self._today(), message=read)

    async def _save(self, key: str, turn: TurnContext) -> Turn:
        state = turn.state
        state.updated_at = time.time()
        await self.store.put(key, state)
        pending = state.pending
        awaiting = pending.slot if pending is not None and pending.kind == "slot" else None
        return Turn(
            intent=self.knowledge.reported(turn.intent),
            language=state.language,
            replies=tuple(_in_script(reply, state.script) for reply in turn.replies),
            awaiting=awaiting,
            confidence=turn.confidence,
            slots=turn.used,
            script=state.script,
        )


def _in_script(reply: Reply, script: str) -> Reply:
    if script == "hans":
        return reply
    return Reply(
        to_script(reply.text, script),  # type: ignore[arg-type]
        tuple(to_script(choice, script) for choice in reply.choices),  # type: ignore[arg-type]
        reply.prompt_id,
        reply.feedback,
    )


FEEDBACK_SECONDS = 7 * 24 * 3600
"""How long an answer can be voted on."""


class _AnswerRecord(BaseModel):
    """What a vote on an answer needs: whose it was (a keyed digest), its topic, the question."""

    owner: str
    intent: str
    language: Language
    text: str


def _owner(key: str) -> str:
    """A digest of the conversation key: enough to compare, useless to identify anyone."""
    return hashlib.sha256(b"faqbot feedback\0" + key.encode()).hexdigest()[:16]


def _channel_of(key: str) -> str:
    return key.partition(":")[0] or "unknown"

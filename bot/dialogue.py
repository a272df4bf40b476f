"""The dialogue engine: one message in, the replies out, with follow-up questions in between.

Channels call :meth:`Engine.handle` (and :meth:`Engine.choose` for buttons); the engine
knows nothing of Telegram or WeChat. Each turn runs under the conversation's lock, loads
the pending question (if any) from the state store, and saves what the next message needs.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from bot import render
from bot.knowledge import KnowledgeBase
from bot.matcher import Match, Matcher
from bot.messages import Command, Language, Locale, Reply, Turn
from bot.normalize import fold, normalize
from bot.script import detect_script, to_script
from bot.slots import extract
from bot.state import ConversationState, PendingQuestion, StateStore

MAX_REASKS = 2
"""A follow-up answer that does not fit is re-asked at most this often, then the general answer is given."""

CANCEL_WORDS = frozenset({"cancel", "取消", "算了", "never mind", "nevermind", "stop"})

log = logging.getLogger(__name__)


@dataclass
class _Context:
    """What one turn works on: the stored state, the language, and today's date."""

    state: ConversationState
    language: Language
    today: date
    replies: list[Reply] = field(default_factory=list)
    intent: str | None = None
    match: Match | None = None


class Engine:
    """The one entry point channels use. Transport-neutral: no Telegram or WeChat here."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        store: StateStore,
        *,
        today: Callable[[], date] = date.today,
        idle_seconds: float = 30 * 60,
    ) -> None:
        self.knowledge = knowledge
        self.store = store
        self.matcher = Matcher.from_knowledge(knowledge)
        self._today = today
        self._idle_seconds = idle_seconds
        self._topics = list(knowledge.topics)

    # -- public API ----------------------------------------------------------------------

    async def handle(self, key: str, message: str | Command, *, hint: Language | None = None) -> Turn:
        """Answer one text message (or a :class:`Command`) of conversation ``key``.

        ``hint`` is the channel's guess of the person's language (Telegram's client
        language), used only when neither the message nor the conversation tells.
        """
        async with self.store.lock(key):
            context = await self._load(key, message, hint)
            self._respond(context, message)
            return await self._save(key, context)

    async def choose(self, key: str, prompt_id: str, index: int) -> Turn | None:
        """Select choice ``index`` (0-based) of pending question ``prompt_id``, exactly as typing it would.

        ``None`` when that question is no longer pending: already answered, replaced by a
        newer one, expired, or asked of someone else (the key differs).
        """
        async with self.store.lock(key):
            context = await self._load(key, "", None)
            pending = context.state.pending
            if pending is None or pending.prompt_id != prompt_id or not 0 <= index < len(pending.choices):
                return None
            self._respond(context, pending.choices[index])
            return await self._save(key, context)

    async def locale(self, key: str, hint: Language | None = None) -> Locale:
        """The language and script of conversation ``key``, for a channel's own notices.

        Never raises: when the store cannot tell (unknown conversation, or the store is
        down and the notice is ``unavailable``) it is ``hint``, else Simplified Chinese.
        """
        try:
            state = await self.store.get(key)
        except Exception:  # a notice must not fail because the state is unreachable
            log.warning("locale_lookup_failed", exc_info=True)
            state = None
        if state is None or self._expired(state):
            return Locale(hint or "zh")
        return Locale(state.language, state.script)

    def notice(self, name: str, locale: Locale | Language) -> str:
        """A fixed system text from ``responses/_system.yaml`` (e.g. ``non_text``, ``stale_choice``)."""
        locale = locale if isinstance(locale, Locale) else Locale(locale)
        return to_script(self.knowledge.system[name][locale.language], locale.script)

    def classify(self, text: str) -> dict[str, object]:
        """Intent, confidence, language and slots of one message, without any conversation."""
        match = self.matcher.match(text)
        slots = self._extract_slots(match.intent, text, self._today()) if match.intent else {}
        return {
            "text": text,
            "intent": match.intent,
            "confidence": match.confidence,
            "language": match.language or "zh",
            "slots": {name: value for name, value in slots.items() if value is not None},
        }

    # -- state -----------------------------------------------------------------------------

    def _expired(self, state: ConversationState) -> bool:
        return time.time() - state.updated_at > self._idle_seconds

    async def _load(self, key: str, message: str | Command, hint: Language | None) -> _Context:
        state = await self.store.get(key)
        if state is None or self._expired(state):
            state = ConversationState(language=hint or "zh")
        if isinstance(message, str):
            normalized = normalize(message)
            if normalized.language is not None:
                state.language = normalized.language
            state.script = detect_script(message) or state.script
        return _Context(state=state, language=state.language, today=self._today())

    async def _save(self, key: str, context: _Context) -> Turn:
        """Keep the state for the idle period: the pending question, language and script."""
        state = context.state
        state.language = context.language
        state.updated_at = time.time()
        await self.store.put(key, state)
        awaiting = state.pending.slot if state.pending and state.pending.kind == "slot" else None
        match = context.match
        replies = tuple(
            Reply(to_script(r.text, state.script), tuple(to_script(c, state.script) for c in r.choices), r.prompt_id)
            for r in context.replies
        )
        return Turn(
            intent=context.intent,
            language=context.language,
            replies=replies,
            awaiting=awaiting,
            confidence=match.confidence if match else 1.0,
            slots=dict(state.slots) if state.pending else {},
            script=state.script,
        )

    # -- the dialogue ------------------------------------------------------------------------

    def _respond(self, context: _Context, message: str | Command) -> None:
        if message is Command.START:
            self._clear(context)
            self._answer(context, "greeting")
            return
        if message is Command.HELP:
            self._clear(context)
            self._answer(context, "help")
            return
        text = "" if isinstance(message, Command) else message
        command = fold(text).strip()
        if message is Command.CANCEL or command in CANCEL_WORDS:
            had_pending = context.state.pending is not None and context.state.pending.kind == "slot"
            self._clear(context)
            context.replies.append(
                Reply(self.notice("cancelled" if had_pending else "nothing_to_cancel", context.language))
            )
            return
        pending = context.state.pending
        if pending is not None and self._continue(context, pending, text):
            return
        self._clear(context)
        self._new_question(context, text)

    def _continue(self, context: _Context, pending: PendingQuestion, text: str) -> bool:
        """Treat ``text`` as the answer to ``pending``; False when it is a new question instead."""
        choice = self._selected_choice(pending, text)
        if pending.kind != "slot":
            if choice is None:
                return False
            intent = str(pending.values[choice])
            self._clear(context, keep_slots=pending.kind == "disambiguation")
            self._proceed(context, intent)
            return True

        assert pending.intent is not None and pending.slot is not None
        slot = self.knowledge.slot(pending.intent, pending.slot)
        if choice is not None:
            value: bool | str | None = slot.values[choice]
            filled = True
        else:
            value = extract(slot.type, text, context.today)
            filled = value is not None
        if filled:
            context.state.slots[pending.slot] = value
            context.state.pending = None
            self._proceed(context, pending.intent)
            return True

        match = self.matcher.match(text)
        if match.intent is not None:
            context.match = match
            return False  # the person changed topic: the new question wins
        if pending.reasks >= MAX_REASKS:
            context.state.pending = None
            self._answer(context, pending.intent)
            return True
        pending.reasks += 1
        prompt = self.knowledge.responses[pending.intent].prompts[pending.slot][context.language]
        pending.choices = list(prompt.choices)  # the hint may be in the other language now
        context.intent = pending.intent
        context.replies.append(Reply(prompt.hint, tuple(prompt.choices), pending.prompt_id))
        return True

    @staticmethod
    def _selected_choice(pending: PendingQuestion, text: str) -> int | None:
        """Index of the choice ``text`` names, by its label or its 1-based number."""
        typed = normalize(text).text
        if typed.isdigit() and 1 <= int(typed) <= len(pending.choices):
            return int(typed) - 1
        labels = [normalize(choice).text for choice in pending.choices]
        return labels.index(typed) if typed in labels else None

    def _new_question(self, context: _Context, text: str) -> None:
        match = context.match or self.matcher.match(text)  # a failed follow-up answer was matched already
        context.match = match
        if match.intent is None:
            self._fallback(context)
            return
        context.state.slots = self._extract_slots(match.intent, text, context.today)
        rival = match.rival
        if rival in self._topics and match.intent in self._topics:
            self._ask_which(context, [match.intent, rival])
            return
        self._proceed(context, match.intent)

    def _extract_slots(self, intent: str, text: str, today: date) -> dict[str, bool | str | None]:
        found = {slot.name: extract(slot.type, text, today) for slot in self.knowledge.intents[intent].slots}
        return {name: value for name, value in found.items() if value is not None}

    def _proceed(self, context: _Context, intent: str) -> None:
        """Ask for the first missing slot of ``intent``, or answer it."""
        context.intent = intent
        for slot in self.knowledge.intents[intent].slots:
            if slot.name not in context.state.slots:
                prompt = self.knowledge.responses[intent].prompts[slot.name][context.language]
                pending = PendingQuestion(
                    kind="slot",
                    prompt_id=secrets.token_hex(4),
                    intent=intent,
                    slot=slot.name,
                    choices=list(prompt.choices),
                )
                context.state.pending = pending
                context.replies.append(Reply(prompt.text, tuple(prompt.choices), pending.prompt_id))
                return
        self._answer(context, intent)

    def _answer(self, context: _Context, intent: str) -> None:
        context.intent = intent
        values = render.variables(self.knowledge, intent, context.state.slots, context.today)
        text = render.answer(self.knowledge, intent, context.language, values)
        self._clear(context)
        if intent in ("greeting", "help"):
            self._offer_menu(context, text)
        else:
            context.replies.append(Reply(text))

    def _fallback(self, context: _Context) -> None:
        context.intent = None
        self._offer_menu(context, self.notice("fallback", context.language))

    def _offer_menu(self, context: _Context, text: str) -> None:
        """Reply ``text`` with the topics as choices: a tap (or a number) asks that question."""
        self._set_choice_question(context, "menu", text, self._topics)

    def _ask_which(self, context: _Context, intents: list[str]) -> None:
        self._set_choice_question(context, "disambiguation", self.notice("disambiguation", context.language), intents)

    def _set_choice_question(self, context: _Context, kind: str, text: str, intents: list[str]) -> None:
        labels = [self.knowledge.responses[intent].label[context.language] for intent in intents]
        pending = PendingQuestion(kind=kind, prompt_id=secrets.token_hex(4), choices=labels, values=intents)
        context.state.pending = pending
        context.replies.append(Reply(text, tuple(labels), pending.prompt_id))

    @staticmethod
    def _clear(context: _Context, *, keep_slots: bool = False) -> None:
        context.state.pending = None
        if not keep_slots:
            context.state.slots = {}

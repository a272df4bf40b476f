"""PLACEHOLDER being replaced by the real engine (core issue) — interface is final."""

from __future__ import annotations

from bot.messages import Language, Reply, Turn
from bot.state import StateStore


class Engine:
    """The one entry point channels use. Transport-neutral: no Telegram or WeChat here."""

    def __init__(self, knowledge: object, store: StateStore) -> None:
        self.store = store

    async def handle(self, key: str, text: str, *, language: Language | None = None) -> Turn:
        """Answer one text message of conversation ``key`` (``language`` is a hint for
        texts with no language of their own, such as ``/start`` or ``1``)."""
        return Turn(intent=None, language=language or "zh", replies=(Reply(f"echo: {text}"),))

    async def choose(self, key: str, prompt_id: str, index: int) -> Turn | None:
        """Select choice ``index`` (0-based) of the pending question ``prompt_id``, exactly as
        typing it would. ``None`` when that question is no longer pending (stale button)."""
        return None

    async def welcome(self, key: str, language: Language) -> Turn:
        """Greeting plus the topics as choices (Telegram /start, WeChat subscribe)."""
        return Turn(intent="greeting", language=language, replies=(Reply("welcome", ("a", "b"), "p1"),))

    def notice(self, name: str, language: Language) -> str:
        """A fixed system text from responses/ (e.g. ``non_text``, ``stale_choice``)."""
        return f"[{name}:{language}]"

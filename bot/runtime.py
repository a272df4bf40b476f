"""Wiring shared by every command: settings → knowledge base + state store → engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.dialogue import Engine, china_today
from bot.review.log import ReviewLog
from bot.settings import Settings
from bot.state import MemoryStore, StateStore
from bot.understanding.compiled import load


def build_engine(
    settings: Settings,
    store: StateStore | None = None,
    *,
    today: Callable[[], date] = china_today,
    review: ReviewLog | None = None,
) -> Engine:
    """The engine for ``settings``; raises :class:`bot.knowledge.KnowledgeError` on a broken knowledge base.

    The knowledge base comes compiled from the cache when it has not changed.
    """
    knowledge, compiled = load(settings.faqbot_kb_dir)
    return Engine(
        knowledge,
        store or MemoryStore(),
        compiled=compiled,
        today=today,
        idle_seconds=settings.faqbot_state_idle_minutes * 60,
        review=review,
    )

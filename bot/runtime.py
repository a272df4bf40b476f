"""Wiring shared by every command: settings → knowledge base + state store → engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.dialogue import Engine
from bot.knowledge import load_knowledge
from bot.settings import Settings
from bot.state import MemoryStore, StateStore


def build_engine(
    settings: Settings, store: StateStore | None = None, *, today: Callable[[], date] = date.today
) -> Engine:
    """The engine for ``settings``; raises :class:`bot.knowledge.KnowledgeError` on a broken knowledge base."""
    return Engine(
        load_knowledge(settings.faqbot_kb_dir),
        store or MemoryStore(),
        today=today,
        idle_seconds=settings.faqbot_state_idle_minutes * 60,
    )

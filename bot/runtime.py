"""Wiring shared by every command: settings → knowledge base + state store → engine."""

from __future__ import annotations

from bot.dialogue import Engine
from bot.settings import Settings
from bot.state import MemoryStore, StateStore


def build_engine(settings: Settings, store: StateStore | None = None) -> Engine:
    """The engine for ``settings`` (PLACEHOLDER until the core issue lands: memory store, no KB)."""
    return Engine(knowledge=None, store=store or MemoryStore())

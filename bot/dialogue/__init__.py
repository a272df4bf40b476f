"""The dialogue: :class:`Engine` (what channels call) and :mod:`bot.dialogue.flow` (its decisions)."""

from bot.dialogue.engine import Engine, china_today
from bot.dialogue.flow import CANCEL_WORDS, MAX_REASKS

__all__ = ["CANCEL_WORDS", "MAX_REASKS", "Engine", "china_today"]

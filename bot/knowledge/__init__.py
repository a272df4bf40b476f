"""The knowledge base: ``intents/`` (what people say) and ``responses/`` (what the bot answers).

* :mod:`bot.knowledge.schema` — the shape of each file;
* :mod:`bot.knowledge.base` — the loaded knowledge base as the engine uses it;
* :mod:`bot.knowledge.loader` — reading the files, problems as ``file:line``;
* :mod:`bot.knowledge.checks` — checks across files and of the names the code relies on.

Reading and checking YAML is needed only to compile a changed knowledge base, so those
modules load on first use (a compiled knowledge base comes from the cache).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.knowledge.base import LANGUAGES, Example, KnowledgeBase, KnowledgeError
from bot.knowledge.schema import IntentSpec, Prompt, ResponseSpec, SlotSpec, Variant

if TYPE_CHECKING:
    from bot.knowledge.checks import DEADLINE_STATUSES, OUT_OF_SCOPE, SYSTEM_TEXTS, load_knowledge

_FROM_CHECKS = ("DEADLINE_STATUSES", "OUT_OF_SCOPE", "SYSTEM_TEXTS", "load_knowledge")

__all__ = [
    "DEADLINE_STATUSES",
    "LANGUAGES",
    "OUT_OF_SCOPE",
    "SYSTEM_TEXTS",
    "Example",
    "IntentSpec",
    "KnowledgeBase",
    "KnowledgeError",
    "Prompt",
    "ResponseSpec",
    "SlotSpec",
    "Variant",
    "load_knowledge",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_CHECKS:
        from bot.knowledge import checks

        return getattr(checks, name)
    raise AttributeError(f"module 'bot.knowledge' has no attribute {name!r}")

"""The knowledge base: ``intents/`` (what people say) and ``responses/`` (what the bot answers).

* :mod:`bot.knowledge.schema` — the shape of each file;
* :mod:`bot.knowledge.loader` — reading the files, problems as ``file:line``;
* :mod:`bot.knowledge.checks` — checks across files and of the names the code relies on.
"""

from bot.knowledge.checks import DEADLINE_STATUSES, OUT_OF_SCOPE, SYSTEM_TEXTS, load_knowledge
from bot.knowledge.loader import LANGUAGES, Example, KnowledgeBase, KnowledgeError
from bot.knowledge.schema import IntentSpec, Prompt, ResponseSpec, SlotSpec, Variant

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

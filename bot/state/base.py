"""The state a conversation keeps between messages (the interfaces of the stores are in
:mod:`bot.state.interfaces`)."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

PendingKind = Literal["slot", "disambiguation", "menu"]


class StateStoreError(ValueError):
    """A state store URL that cannot be used: malformed, unsupported, or its server silent.

    A ``ValueError`` because it is a configuration mistake the operator must fix, not
    a transient fault to retry. The message is a single line that names the scheme and
    the problem and never contains credentials, so the CLI can print it as is.
    """


class PendingQuestion(BaseModel):
    """A question the bot asked and is waiting to have answered.

    For ``"disambiguation"`` and ``"menu"``, ``values`` are the intent ids the ``choices``
    stand for; a slot question's choices map to the slot's values in the knowledge base.
    """

    kind: PendingKind
    prompt_id: str
    intent: str | None = None
    slot: str | None = None
    choices: list[str] = Field(default_factory=list)
    values: list[str] = Field(default_factory=list)
    reasks: int = 0


class ConversationState(BaseModel):
    """Everything the dialogue remembers about one conversation, and nothing more.

    It is kept for the idle period after the last message (the store expires it), so
    that the person's language and script, and the pending question, carry over.
    """

    language: Literal["zh", "en"] = "zh"
    script: Literal["hans", "hant", "hk", "tw"] = "hans"
    pending: PendingQuestion | None = None
    slots: dict[str, bool | str | None] = Field(default_factory=dict)
    updated_at: float = Field(default_factory=time.time)

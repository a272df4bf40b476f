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
    question: str = ""
    """The message that led to this question, normalised and its numbers masked: what the
    review log shows for the answer that follows (a vote on it, a re-ask)."""


class TopicContext(BaseModel):
    """The topic answered last and the details it used, so that an elliptical follow-up
    ("那银行呢", "what about the hospital?") is read against it for a few minutes."""

    intent: str
    slots: dict[str, bool | str | None] = Field(default_factory=dict)
    at: float = Field(default_factory=time.time)


class ConversationState(BaseModel):
    """Everything the dialogue remembers about one conversation, and nothing more.

    It is kept for the idle period after the last message (the store expires it), so
    that the person's language and script, and the pending question, carry over.
    """

    language: Literal["zh", "en"] = "zh"
    script: Literal["hans", "hant", "hk", "tw"] = "hans"
    pending: PendingQuestion | None = None
    slots: dict[str, bool | str | None] = Field(default_factory=dict)
    queue: list[str] = Field(default_factory=list)
    """Further topics the last message asked about, answered once the pending question is."""
    context: TopicContext | None = None
    updated_at: float = Field(default_factory=time.time)

"""The shape of each knowledge-base file, as pydantic models (validated with exact locations).

Intent files follow Rasa's habits (an intent with examples, responses with variables) so
FAQ editors feel at home. Models are frozen: the loaded knowledge base is never mutated.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.messages import Language

SlotType = Literal["financial", "role", "date"]

IntentKind = Literal["domain", "social", "chitchat", "not_covered", "out_of_scope"]
"""How an intent is answered and reported:

* ``domain`` — an answer from the source document, with the legal footer;
* ``social`` — greeting, thanks, help, a request for a person: answered, reported by name;
* ``chitchat`` — other small talk: one short line, reported as out of scope;
* ``not_covered`` — about the card, but the source says nothing: the honest answer,
  reported as out of scope;
* ``out_of_scope`` — about something else: the fallback.
"""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SlotSpec(Strict):
    """A detail that changes the answer, asked for when the first message lacks it."""

    name: str
    type: SlotType
    values: list[bool | str | None] = Field(min_length=1, description="what each offered choice means, in order")
    explained_when: dict[str, bool | str] = Field(
        default_factory=dict,
        description="lexicon concepts whose mention makes the follow-up question open with what it means (about), "
        "each with the value it goes with",
    )


class IntentSpec(Strict):
    """One intent file: what people say when they mean this intent."""

    intent: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: IntentKind = "domain"
    reports_as: str | None = Field(None, description="the intent evaluation and chat --json report instead")
    footer: bool = Field(True, description="domain answers end with the legal footer unless false")
    anchors: list[str] = Field(
        default_factory=list,
        description="lexicon concepts that tie a message to this intent even when it names neither the card nor activation",
    )
    examples: dict[Language, list[str]]
    slots: list[SlotSpec] = Field(default_factory=list)

    @field_validator("examples")
    @classmethod
    def _non_empty(cls, examples: dict[Language, list[str]]) -> dict[Language, list[str]]:
        for language, texts in examples.items():
            if not texts:
                raise ValueError(f"no examples for {language!r}")
            if any(not isinstance(text, str) or not text.strip() for text in texts):
                raise ValueError(f"an empty example under {language!r}")
        return examples


class Prompt(Strict):
    """A follow-up question: its text, the choices offered, the hint used when re-asking, and
    ``about``: what the question means, for someone who asks about it instead of answering."""

    text: str = Field(min_length=1)
    choices: list[str] = Field(min_length=1)
    hint: str = Field(min_length=1)
    about: str = Field(min_length=1)


class Variant(Strict):
    """One answer text, used when every ``when`` condition holds (the first match wins)."""

    when: dict[str, bool | str] = Field(default_factory=dict)
    text: str = Field(min_length=1)


class ResponseSpec(Strict):
    """One response file: an intent's label, answers and follow-up prompts per language."""

    intent: str
    label: dict[Language, str]
    answers: dict[Language, list[Variant]]
    prompts: dict[str, dict[Language, Prompt]] = Field(default_factory=dict)
    local: bool = Field(False, description="add the operator's local contacts (responses/local.yaml) to the answer")


class LexiconSpec(Strict):
    """Concepts: words meaning the same thing for matching, per language."""

    lexicon: dict[str, dict[Language, list[str]]]


class DialectSpec(Strict):
    """Dialect words and the Mandarin they are read as."""

    dialect: dict[str, str]


class LanguageExamples(Strict):
    """Examples in both languages."""

    zh: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)


class SlotValuesSpec(Strict):
    """Natural answers to the follow-up questions (``intents/_slots.yaml``)."""

    values: dict[SlotType, dict[bool | str, LanguageExamples]]
    unsure: LanguageExamples
    asides: dict[str, LanguageExamples] = Field(default_factory=dict)


class SystemSpec(Strict):
    """Fixed texts of the dialogue (fallback, footer, notices for channels)."""

    system: dict[str, dict[Language, str]]
    topics: list[str] = Field(default_factory=list, description="menu order of the topics")


class Localized(Strict):
    """One text in both languages."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class LocalContacts(Strict):
    """The deploying organisation's local contacts; every field optional."""

    bureau: Localized | None = None
    phone: str | None = None
    address: Localized | None = None
    hours: Localized | None = None
    hr_contact: Localized | None = None


class LocalSpec(Strict):
    """``responses/local.yaml`` (optional): shown, labelled as local information, under the
    not-covered answer, the answer to a request for a person and region-dependent answers."""

    local: LocalContacts

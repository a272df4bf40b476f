"""A verified, decrypted robot callback (JSON) as typed values.

Formats: 接收消息 (path 100719: text, image, mixed 图文混排, voice, file, quote 引用, the
stream refresh) and 接收事件 (path 101027: enter_chat, template_card_event,
feedback_event). A message type added later is :class:`NonText` and an unknown event an
:class:`Event`, not an error; what the documents always send, missing, is :class:`CallbackError`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ButtonPress", "Callback", "CallbackError", "Event", "Feedback", "NonText", "Origin", "Refresh", "Text"]

_VOTES: dict[object, Literal["up", "down", "cancel"]] = {1: "up", 2: "down", 3: "cancel"}  # 准确, 不准确, 取消
_EDGE_MENTIONS = re.compile(r"^\s*@\S+(?:\s+|$)|(?:^|\s+)@\S+\s*$")


class CallbackError(ValueError):
    """Not a robot callback; the message names the field, never its value."""


@dataclass(frozen=True)
class Origin:
    msgid: str  # "开发者需据此进行事件排重"
    user_id: str
    chat_id: str | None  # group chats only
    response_url: str | None = None  # one active reply within an hour (path 101138)

    @property
    def conversation_key(self) -> str:
        """The engine's key: one conversation per member of each group, as on Telegram."""
        return f"wecom:{self.chat_id}:{self.user_id}" if self.chat_id else f"wecom:{self.user_id}"


@dataclass(frozen=True)
class Text:
    """Text to answer (group @mention removed), a mixed message's text parts, or a voice
    transcript; ``quoted`` is the text of a quoted message (the payload does not say whose)."""

    kind: str
    text: str
    quoted: str | None = None


@dataclass(frozen=True)
class NonText:
    kind: str  # image, file, video, image-only mixed, voice without transcript, unknown


@dataclass(frozen=True)
class Refresh:
    stream_id: str  # 流式消息刷新: WeCom asks for the stream's current content


@dataclass(frozen=True)
class ButtonPress:
    event_key: str
    task_id: str
    selected: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (question_key, option ids) of dropdowns


@dataclass(frozen=True)
class Feedback:
    feedback_id: str  # the id the reply carried; the user's free text is not kept
    vote: Literal["up", "down", "cancel"]


@dataclass(frozen=True)
class Event:
    kind: str  # enter_chat, or an event this channel ignores


@dataclass(frozen=True)
class Callback:
    origin: Origin
    content: Text | NonText | Refresh | ButtonPress | Feedback | Event


def strip_mention(text: str, names: tuple[str, ...] = ()) -> str:
    """``text`` without the robot's @mention: each ``@name`` of ``names``, else an @word at
    the start and one at the end (the callback does not carry the robot's name)."""
    for name in names:
        text = re.sub(rf"\s*@{re.escape(name)}(?=\s|$)\s*", " ", text)
    return (text if names else _EDGE_MENTIONS.sub(" ", text)).strip()


def _get(obj: Any, path: str, kind: type = str) -> Any:
    """``obj[a][b]…`` for ``path`` "a.b…", of ``kind`` (a non-empty str by default)."""
    for key in path.split("."):
        if not isinstance(obj, dict):
            raise CallbackError(f"{path} is missing")
        obj = obj.get(key)
    if not isinstance(obj, kind) or obj == "":
        raise CallbackError(f"{path} is missing")
    return obj


def _text_of(kind: str, part: dict[str, Any]) -> str | None:
    """The text a text, voice or mixed part carries (mixed: its text items, joined)."""
    if kind in ("text", "voice"):
        content = (part.get(kind) or {}).get("content")
        if not isinstance(content, str):
            raise CallbackError(f"{kind}.content is missing")
        return content
    if kind != "mixed":
        return None
    mixed = part.get("mixed")
    mixed = json.loads(mixed) if isinstance(mixed, str) else mixed  # seen as a JSON string in the wild
    items = _get(mixed, "msg_item", list) if isinstance(mixed, dict) else _get(None, "mixed.msg_item", list)
    return "\n".join(_get(i, "text.content") for i in items if isinstance(i, dict) and i.get("msgtype") == "text")


def _content(data: dict[str, Any], names: tuple[str, ...]) -> Text | NonText | Refresh | ButtonPress | Feedback | Event:
    kind = _get(data, "msgtype")
    if kind == "stream":
        return Refresh(_get(data, "stream.id"))
    if kind == "event":
        event = _get(data, "event.eventtype")
        if event == "template_card_event":
            card = _get(data, "event.template_card_event", dict)
            items = (card.get("selected_items") or {}).get("selected_item") or []
            selected = tuple((str(i.get("question_key")), tuple(map(str, (i.get("option_ids") or {}).get("option_id") or [])))
                             for i in items if isinstance(i, dict))  # fmt: skip
            key = card.get("event_key") or _get(card, "eventkey")  # the sample says event_key, the table eventkey
            return ButtonPress(str(key), str(card.get("task_id") or ""), selected)
        if event == "feedback_event":
            vote = _VOTES.get(_get(data, "event.feedback_event", dict).get("type"))
            if vote is None:
                raise CallbackError("event.feedback_event.type is not 1, 2 or 3")
            return Feedback(_get(data, "event.feedback_event.id"), vote)
        return Event(event)
    text = _text_of(kind, data)
    if text is None or (not text.strip() and kind != "text"):  # a bare @mention is still text
        return NonText(kind)
    quote: dict[str, Any] = data["quote"] if isinstance(data.get("quote"), dict) else {}
    quoted = _text_of(str(quote.get("msgtype")), quote) if quote.get(str(quote.get("msgtype"))) else None
    if data.get("chattype") == "group" and kind != "voice":
        text = strip_mention(text, names)
    return Text(kind, text.strip(), quoted)


def parse_callback(plaintext: str, *, robot_names: tuple[str, ...] = ()) -> Callback:
    """A :class:`Callback` from decrypted JSON; :class:`CallbackError` when malformed."""
    try:
        data = json.loads(plaintext)
    except ValueError:
        raise CallbackError("not JSON") from None
    if not isinstance(data, dict):
        raise CallbackError("not a JSON object")
    chat_type = data.get("chattype", "single")  # enter_chat's sample has none: single chats only
    if chat_type not in ("single", "group"):
        raise CallbackError("chattype is not single or group")
    origin = Origin(
        msgid=_get(data, "msgid"),
        user_id=_get(data, "from.userid"),
        chat_id=_get(data, "chatid") if chat_type == "group" else None,
        response_url=url if isinstance(url := data.get("response_url"), str) and url else None,
    )
    try:
        return Callback(origin, _content(data, robot_names))
    except (ValueError, AttributeError, TypeError) as exc:  # a wrongly typed part: JSON string, list…
        raise exc if isinstance(exc, CallbackError) else CallbackError(f"{type(exc).__name__} in content") from None

"""A robot callback as typed values: 接收消息 (path 100719: text, image, mixed 图文混排, voice,
file, quote 引用, stream refresh) and 接收事件 (path 101027: enter_chat, template_card_event,
feedback_event). A message type added later is answered as non-text, an unknown event not at
all; what the documents always send, missing, is a :class:`CallbackError`. A quote (引用)
needs nothing of its own: in a group the robot sees only messages that @mention it, so a
quote of the bot is answered by what the member wrote, like any message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.channels.common.passive import Incoming
from bot.state import keys

_VOTES: dict[object, Literal["up", "down"] | None] = {1: "up", 2: "down", 3: None}  # 准确, 不准确, 取消
_EDGE_MENTIONS = re.compile(r"^\s*@\S+(?:\s+|$)|(?:^|\s+)@\S+\s*$")


class CallbackError(ValueError):
    """Not a robot callback; the message names the field, never its value."""


@dataclass(frozen=True)
class ButtonPress:
    event_key: str
    selected: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (question_key, option ids) of dropdowns


@dataclass(frozen=True)
class Callback:
    """What the shared answering needs (:class:`Incoming`), and what only the robot has."""

    incoming: Incoming  # a press, a vote or a refresh is silent: the channel handles it
    response_url: str | None = None  # one active reply within an hour (path 101138)
    refresh: str | None = None  # 流式消息刷新: the id of the stream WeCom asks for
    press: ButtonPress | None = None
    vote: tuple[str, Literal["up", "down"]] | None = None  # (feedback id, vote); a vote taken back is silent


def strip_mention(text: str, names: tuple[str, ...] = ()) -> str:
    """``text`` without the robot's @mention: each ``@name`` of ``names``, else an @word at
    the start and one at the end (the callback does not carry the robot's name)."""
    for name in names:
        text = re.sub(rf"\s*@{re.escape(name)}(?=\s|$)\s*", " ", text)
    return (text if names else _EDGE_MENTIONS.sub(" ", text)).strip()


def _get(obj: Any, path: str, kind: type = str, *, empty: bool = False) -> Any:
    """``obj[a][b]…`` for ``path`` "a.b…", of ``kind`` (a non-empty str by default)."""
    for key in path.split("."):
        obj = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(obj, kind) or (obj == "" and not empty):
        raise CallbackError(f"{path} is missing")
    return obj


def _text_of(kind: str, data: dict[str, Any]) -> str | None:
    """The text a text, voice or mixed message carries (mixed: its text items, joined)."""
    if kind in ("text", "voice"):
        return str(_get(data, f"{kind}.content", empty=True))
    if kind != "mixed":
        return None
    mixed = data.get("mixed")
    mixed = json.loads(mixed) if isinstance(mixed, str) else mixed  # seen as a JSON string in the wild
    items = _get({"mixed": mixed}, "mixed.msg_item", list)
    return "\n".join(_get(i, "text.content") for i in items if isinstance(i, dict) and i.get("msgtype") == "text")


def _event(data: dict[str, Any], incoming: Incoming, url: str | None) -> Callback:
    kind = _get(data, "event.eventtype")
    incoming = replace(incoming, kind=kind, start=kind == "enter_chat", silent=kind != "enter_chat")
    if kind == "template_card_event":
        card = _get(data, "event.template_card_event", dict)
        items = [i for i in (card.get("selected_items") or {}).get("selected_item") or [] if isinstance(i, dict)]
        options = [(i.get("option_ids") or {}).get("option_id") or [] for i in items]
        selected = tuple((str(i.get("question_key")), tuple(map(str, o))) for i, o in zip(items, options, strict=True))
        key = card.get("event_key") or _get(card, "eventkey")  # the sample says event_key, the table eventkey
        return Callback(incoming, url, press=ButtonPress(str(key), selected))
    if kind == "feedback_event":
        number = _get(data, "event.feedback_event", dict).get("type")
        if number not in _VOTES:
            raise CallbackError("event.feedback_event.type is not 1, 2 or 3")
        vote = _VOTES[number]
        return Callback(incoming, url, vote=(_get(data, "event.feedback_event.id"), vote) if vote else None)
    return Callback(incoming, url)


def _callback(data: dict[str, Any], incoming: Incoming, url: str | None, names: tuple[str, ...]) -> Callback:
    if incoming.kind == "stream":
        return Callback(replace(incoming, silent=True), url, refresh=_get(data, "stream.id"))
    if incoming.kind == "event":
        return _event(data, incoming, url)
    text = _text_of(incoming.kind, data)
    if text is None or (not text.strip() and incoming.kind != "text"):  # non-text (a bare @mention is text)
        return Callback(incoming, url)
    text = strip_mention(text, names) if incoming.group and incoming.kind != "voice" else text.strip()
    return Callback(replace(incoming, text=text, start=not text), url)  # the @mention alone: the topics


def parse_callback(body: bytes, open_: Callable[[str], str], robot_names: tuple[str, ...] = ()) -> Callback:
    """The :class:`Callback` in a POST's ``body``, ``{"encrypt": …}`` (path 101033) whose
    ciphertext ``open_`` verifies and decrypts; :class:`CallbackError` when malformed."""
    try:
        data = json.loads(open_(str(_get(json.loads(body), "encrypt"))))
        chat_type = data.get("chattype", "single")  # enter_chat's sample has none: single chats only
        if chat_type not in ("single", "group"):
            raise CallbackError("chattype is not single or group")
        user, msgid, kind = _get(data, "from.userid"), _get(data, "msgid"), _get(data, "msgtype")
        chat = _get(data, "chatid") if chat_type == "group" else None
        url = _get(data, "response_url") if data.get("response_url") else None
        incoming = Incoming(keys.wecom_callback(user, msgid), keys.wecom_conversation(user, chat), user, kind)
        return _callback(data, replace(incoming, group=chat is not None), url, robot_names)
    except (ValueError, AttributeError, TypeError) as exc:  # not JSON, not an object, a part wrongly typed…
        raise CallbackError(exc.args[0] if isinstance(exc, CallbackError) else type(exc).__name__) from None

"""An engine :class:`~bot.messages.Turn` as the robot's reply JSON (before encryption). 被动回复消息
(path 101031): an answer is a finished ``stream`` (markdown, ≤ 20480 UTF-8 bytes,
one ``feedback.id`` ≤ 256 bytes), with choices a ``stream_with_template_card`` whose card is
``button_interaction`` (模板卡片类型, path 101032: ≤ 6 buttons, a dropdown of ≤ 10 options,
keys ≤ 1024 bytes, a task id never reused, of ``[0-9A-Za-z_-@]`` ≤ 128 bytes). The welcome is
``text`` or ``template_card``; through ``response_url`` (path 101138) an answer is ``markdown``.
Fixed texts are the engine's notices in the turn's locale: ``notice(name)``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.channels.common.choices import choice_data, parse_choice_data, plain_text
from bot.channels.common.text import compact_json, fit_markdown, shorten
from bot.channels.wecom.envelope import ButtonPress
from bot.messages import Reply, Turn

MAX_CONTENT_BYTES, MAX_FEEDBACK_BYTES = 20480, 256
MAX_BUTTONS, MAX_OPTIONS = 6, 10
LABEL_CHARS, TITLE_CHARS, SUBTITLE_CHARS = 10, 26, 112  # "建议不超过…个字"
_PREFIX = "faq:"  # a button's key is faq:<prompt id>:<index>, the dropdown's confirm button's faq:<prompt id>:pick
Notice = Callable[[str], str]


def _listed(reply: Reply) -> bool:
    """Whether the choices must be spelled out in the text: too many or too long for buttons."""
    return len(reply.choices) > MAX_BUTTONS or any(len(c) > LABEL_CHARS for c in reply.choices)


def _carded(turn: Turn) -> Reply | None:
    """The reply whose choices become the card: the last one asking (earlier ones are stale)."""
    asking = [r for r in turn.replies if r.choices and r.prompt_id and len(r.choices) <= MAX_OPTIONS]
    return asking[-1] if asking else None


def _body(turn: Turn, notice: Notice, carded: Reply | None) -> str:
    """The turn's text, choices numbered (under ``reply_with_number``) unless buttons carry their labels."""
    shown = tuple(replace(r, choices=()) if r is carded and not _listed(r) else r for r in turn.replies)
    return plain_text(replace(turn, replies=shown), notice("reply_with_number"))


def _card(reply: Reply, notice: Notice) -> dict[str, Any]:
    prompt, listed = str(reply.prompt_id), _listed(reply)
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": shorten(notice("card_title"), TITLE_CHARS)},
    }
    if len(reply.choices) <= MAX_BUTTONS:
        card["button_list"] = [{"text": str(i + 1) if listed else c, "key": _PREFIX + choice_data(prompt, i)}
                               for i, c in enumerate(reply.choices)]  # fmt: skip
    else:
        options = [{"id": str(i), "text": shorten(f"{i + 1}. {c}", LABEL_CHARS)} for i, c in enumerate(reply.choices)]
        card["button_selection"] = {"question_key": _PREFIX + prompt, "option_list": options}
        card["button_list"] = [{"text": shorten(notice("card_confirm"), LABEL_CHARS), "key": f"{_PREFIX}{prompt}:pick"}]
    return card | {"task_id": f"faq_{secrets.token_hex(16)}"}  # never reused: "同一个机器人任务id不能重复"


def parse_press(press: ButtonPress) -> tuple[str, int] | None:
    """``(prompt_id, index)`` of a press on one of these cards; ``None`` for any other key."""
    prompt, _, index = press.event_key.removeprefix(_PREFIX).rpartition(":")
    if index == "pick":
        picked = [ids for key, ids in press.selected if key == _PREFIX + prompt]
        index = picked[0][0] if len(picked) == 1 and len(picked[0]) == 1 else ""
    return parse_choice_data(f"{prompt}:{index}") if press.event_key.startswith(_PREFIX) else None


def feedback_ids(value: str) -> list[str]:
    """The engine's feedback ids in a reply's ``feedback.id`` (one reply may answer several topics)."""
    return [part for part in value.split(".") if part]


def _with_feedback(message: dict[str, Any], turn: Turn) -> dict[str, Any]:
    ids = [r.feedback for r in turn.replies if r.feedback]
    while ids and len(".".join(ids).encode()) > MAX_FEEDBACK_BYTES:
        ids.pop()
    return message | {"feedback": {"id": ".".join(ids)}} if ids else message


def stream_reply(turn: Turn, notice: Notice, *, stream_id: str) -> tuple[str, str]:
    """The finished stream answering ``turn`` (with the card of its choices), and the text
    left over when it is longer than a reply may be (cut, with the ``more`` notice)."""
    carded = _carded(turn)
    content, rest = fit_markdown(_body(turn, notice, carded), notice("more"), MAX_CONTENT_BYTES)
    stream = _with_feedback({"id": stream_id, "finish": True, "content": content}, turn)
    if carded is None:
        return compact_json({"msgtype": "stream", "stream": stream}), rest
    card = _card(carded, notice)
    return compact_json({"msgtype": "stream_with_template_card", "stream": stream, "template_card": card}), rest


def empty_stream(stream_id: str, *, finish: bool) -> str:
    """A stream with no content: unfinished, WeCom asks for it again (流式消息刷新, ≤ 6 minutes)."""
    return compact_json({"msgtype": "stream", "stream": {"id": stream_id, "finish": finish}})


def markdown_reply(turn: Turn, notice: Notice) -> tuple[str, str]:
    """The answer as a ``response_url`` markdown message (choices numbered: no cards in groups)."""
    content, rest = fit_markdown(_body(turn, notice, None), notice("more"), MAX_CONTENT_BYTES)
    return compact_json({"msgtype": "markdown", "markdown": _with_feedback({"content": content}, turn)}), rest


def welcome_reply(turn: Turn, notice: Notice) -> str:
    """The enter_chat reply: a card when the greeting fits its subtitle, else plain text."""
    carded, greeting = _carded(turn), "\n".join(r.text.strip() for r in turn.replies if r.text.strip())
    if carded is None or (_listed(carded) and len(carded.choices) <= MAX_BUTTONS) or len(greeting) > SUBTITLE_CHARS:
        return compact_json({"msgtype": "text", "text": {"content": _body(turn, notice, None)}})
    return compact_json(
        {"msgtype": "template_card", "template_card": _card(carded, notice) | {"sub_title_text": greeting}}
    )

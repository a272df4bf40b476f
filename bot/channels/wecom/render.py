"""An engine :class:`~bot.messages.Turn` as the robot's reply JSON (before encryption).

被动回复消息 (path 101031): an answer is a ``stream`` with ``finish`` true (its content is
markdown, at most 20480 UTF-8 bytes, with one ``feedback.id`` of at most 256 bytes); with
choices it is ``stream_with_template_card`` and the card a ``button_interaction`` one
(模板卡片类型, path 101032: at most 6 buttons, a dropdown of at most 10 options, keys up
to 1024 bytes, a task id of letters, digits and ``_-@`` up to 128 bytes, unique per
robot). The welcome (enter_chat) is ``text`` or ``template_card``; a reply through
``response_url`` (主动回复消息, path 101138) is ``markdown``, cards there being for single chats only.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from bot.channels.wechat.replies import split_content
from bot.channels.wecom.envelope import ButtonPress
from bot.messages import Reply, Turn

__all__ = ["Texts", "dumps", "feedback_ids", "markdown", "markdown_reply", "parse_press", "pending_stream",
           "stream_reply", "welcome_reply"]  # fmt: skip

MAX_CONTENT_BYTES, MAX_FEEDBACK_BYTES = 20480, 256
MAX_BUTTONS, MAX_OPTIONS = 6, 10
LABEL_CHARS, TITLE_CHARS, SUBTITLE_CHARS = 10, 26, 112  # "建议不超过…个字"
_MARKUP = re.compile(r"([\\`*_~<>\[\]|])|^\s*(#)", re.MULTILINE)
_ITEM = re.compile(r"\d+\. ")


@dataclass(frozen=True)
class Texts:
    """The fixed texts around a turn, in its locale (the engine's notices)."""

    choices_header: str  # above numbered choices ("reply_with_number")
    more: str  # after a cut answer ("more")
    card_title: str  # the card's main title
    confirm: str  # the dropdown's button


def dumps(payload: dict[str, Any]) -> str:
    """Compact UTF-8 JSON, the plaintext :meth:`WeComCrypto.encrypt_reply` takes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def markdown(text: str) -> str:
    """Plain ``text`` that reads the same as markdown: markup characters escaped, and each
    line its own paragraph (a lone newline may not break a markdown line), list items excepted."""
    out: list[str] = []
    for line in _MARKUP.sub(lambda m: "\\" + (m.group(1) or m.group(2)), text).splitlines():
        if line := line.strip():  # no leading spaces: they would make code blocks
            out += [("\n" if _ITEM.match(out[-1]) and _ITEM.match(line) else "\n\n"), line] if out else [line]
    return "".join(out)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(reply: Reply) -> bool:
    """Whether the choices must be spelled out in the text: too many or too long for buttons."""
    return len(reply.choices) > MAX_BUTTONS or any(len(c) > LABEL_CHARS for c in reply.choices)


def _carded(turn: Turn) -> Reply | None:
    """The reply whose choices become the card: the last one asking (earlier ones are stale)."""
    asking = [r for r in turn.replies if r.choices and r.prompt_id and len(r.choices) <= MAX_OPTIONS]
    return asking[-1] if asking else None


def _body(turn: Turn, texts: Texts, carded: Reply | None) -> str:
    blocks = []
    for reply in turn.replies:
        block = [reply.text.strip()] if reply.text.strip() else []
        if reply.choices and (reply is not carded or _listed(reply)):
            block.append(
                "\n".join([texts.choices_header.strip(), *(f"{i}. {c}" for i, c in enumerate(reply.choices, 1))])
            )
        blocks.append("\n".join(block))
    return "\n\n".join(b for b in blocks if b)


def _card(reply: Reply, texts: Texts) -> dict[str, Any]:
    prompt, listed = str(reply.prompt_id), _listed(reply)
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": _cut(texts.card_title, TITLE_CHARS)},
    }
    if len(reply.choices) <= MAX_BUTTONS:
        card["button_list"] = [
            {"text": str(i + 1) if listed else c, "key": f"faq:{prompt}:{i}"} for i, c in enumerate(reply.choices)
        ]
    else:
        options = [{"id": str(i), "text": _cut(f"{i + 1}. {c}", LABEL_CHARS)} for i, c in enumerate(reply.choices)]
        card["button_selection"] = {"question_key": f"faq:{prompt}", "option_list": options}
        card["button_list"] = [{"text": _cut(texts.confirm, LABEL_CHARS), "key": f"faq:{prompt}:pick"}]
    if not re.fullmatch(r"[0-9A-Za-z_\-@]{1,100}", prompt):
        raise ValueError("a prompt id must be letters and digits to make a task id")
    card["task_id"] = f"faq_{prompt}_{secrets.token_hex(8)}"  # unique per robot, ≤ 128 bytes
    return card


def parse_press(press: ButtonPress) -> tuple[str, int] | None:
    """``(prompt_id, index)`` of a press on one of these cards; ``None`` for any other key."""
    prefix, prompt, index = [*press.event_key.split(":"), "", ""][:3]
    if index == "pick":
        index = next((ids[0] for key, ids in press.selected if key == f"faq:{prompt}" and len(ids) == 1), "")
    if prefix != "faq" or not prompt or not (index.isascii() and index.isdigit()):
        return None
    return prompt, int(index)


def feedback_ids(value: str) -> list[str]:
    """The engine's feedback ids in a reply's ``feedback.id`` (one reply may answer several topics)."""
    return [part for part in value.split(".") if part]


def _feedback(turn: Turn) -> dict[str, str] | None:
    ids = [r.feedback for r in turn.replies if r.feedback]
    while ids and len(".".join(ids).encode()) > MAX_FEEDBACK_BYTES:
        ids.pop()
    return {"id": ".".join(ids)} if ids else None


def _fit(text: str, texts: Texts) -> tuple[str, str]:
    """``(markdown part, plain rest)``: as much of ``text`` as fits in the content limit."""
    limit = MAX_CONTENT_BYTES
    while True:
        part, rest = split_content(text, texts.more, limit)
        content = markdown(part)
        if len(content.encode()) <= MAX_CONTENT_BYTES:
            return content, rest
        limit -= len(content.encode()) - MAX_CONTENT_BYTES + 64


def stream_reply(turn: Turn, texts: Texts, *, stream_id: str) -> tuple[dict[str, Any], str]:
    """The finished stream answering ``turn`` (with the card of its choices) and the text
    left over when it is longer than a reply may be."""
    carded = _carded(turn)
    content, rest = _fit(_body(turn, texts, carded), texts)
    stream: dict[str, Any] = {"id": stream_id, "finish": True, "content": content}
    if (feedback := _feedback(turn)) is not None:
        stream["feedback"] = feedback
    if carded is None:
        return {"msgtype": "stream", "stream": stream}, rest
    return {"msgtype": "stream_with_template_card", "stream": stream, "template_card": _card(carded, texts)}, rest


def pending_stream(stream_id: str) -> dict[str, Any]:
    """An unfinished stream: WeCom then asks for it again (流式消息刷新) for up to 6 minutes."""
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": False}}


def markdown_reply(turn: Turn, texts: Texts) -> tuple[dict[str, Any], str]:
    """The answer as a ``response_url`` markdown message (choices numbered: no cards in groups)."""
    content, rest = _fit(_body(turn, texts, None), texts)
    message: dict[str, Any] = {"content": content}
    if (feedback := _feedback(turn)) is not None:
        message["feedback"] = feedback
    return {"msgtype": "markdown", "markdown": message}, rest


def welcome_reply(turn: Turn, texts: Texts) -> dict[str, Any]:
    """The enter_chat reply: a card when the greeting fits its subtitle, else plain text."""
    carded, greeting = _carded(turn), "\n".join(r.text.strip() for r in turn.replies if r.text.strip())
    if carded is None or (_listed(carded) and len(carded.choices) <= MAX_BUTTONS) or len(greeting) > SUBTITLE_CHARS:
        return {"msgtype": "text", "text": {"content": _body(turn, texts, None)}}
    return {"msgtype": "template_card", "template_card": _card(carded, texts) | {"sub_title_text": greeting}}

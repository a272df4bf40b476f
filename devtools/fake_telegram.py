"""A small fake of the Telegram Bot API for end-to-end tests, served on 127.0.0.1.

Point an Application at it with ``base_url(fake.base_url)``. It keeps the chats'
messages (so replies and button presses carry realistic ``reply_to_message`` and
``message`` objects), hands queued updates to ``getUpdates`` (long polling), records
every call in :attr:`FakeTelegram.calls`, validates what real Telegram validates
(message length, ``callback_data`` size, empty text, reply targets), and can fail the
next call of a method with a 429 RetryAfter or a 502 to prove retries.

Builders return update dicts; :meth:`enqueue` feeds them to polling, or a test POSTs
them to a webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TOKEN = "123456789:AAEfakefakefakefakefakefakefake_-0123"
BOT_ID = 123456789
BOT_USERNAME = "SheBaoFaqBot"

JSON_FIELDS = {"reply_markup", "reply_parameters", "allowed_updates", "entities", "link_preview_options"}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "message_thread_id",
    "offset",
    "limit",
    "timeout",
    "reply_to_message_id",
    "max_connections",
    "cache_time",
}
BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content"}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Call:
    """One Bot API request the fake received."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


class FakeTelegram:
    """The fake server and the state of its chats."""

    def __init__(self, token: str = TOKEN, bot_username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "社保卡 FAQ",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1000
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._failures: dict[str, list[Failure]] = {}
        self._down_until: dict[str, float] = {}
        self.latency: dict[str, float] = {}
        """Seconds each call of a method takes (a slow Bot API)."""
        self._changed = asyncio.Condition()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    # ------------------------------------------------------------------ server

    @property
    def base_url(self) -> str:
        """What ``TELEGRAM_BASE_URL`` / ``ApplicationBuilder.base_url`` should be."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            async with self._changed:
                self._changed.notify_all()
            await self._task

    async def _endpoint(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        params = await self._params(request)
        if token != self.token:
            return _error(401, "Unauthorized")
        self.calls.append(Call(method, params))
        async with self._changed:
            self._changed.notify_all()
        if self.latency.get(method):
            await asyncio.sleep(self.latency[method])
        if time.monotonic() < self._down_until.get(method, 0.0):
            return _error(502, "Bad Gateway")
        failures = self._failures.get(method)
        if failures:
            failure = failures.pop(0)
            extra = {"parameters": {"retry_after": failure.retry_after}} if failure.retry_after else {}
            return _error(failure.status, failure.description, **extra)
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params)
        except BadRequest as exc:
            return _error(400, f"Bad Request: {exc}")
        finally:
            async with self._changed:  # waiters look again once the call has had its effect
                self._changed.notify_all()
        return _json({"ok": True, "result": result})

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        body = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            return json.loads(body or "{}")
        params: dict[str, Any] = dict(parse_qsl(body, keep_blank_values=True))
        params.update(request.query_params)
        for name, value in list(params.items()):
            if name in JSON_FIELDS:
                params[name] = json.loads(value)
            elif name in INT_FIELDS:
                params[name] = int(value)
            elif name in BOOL_FIELDS:
                params[name] = value in ("true", "True", "1")
        return params

    # ------------------------------------------------------------------ test controls

    def fail_next(self, method: str, *, status: int = 429, retry_after: int | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (429 needs ``retry_after``)."""
        description = f"Too Many Requests: retry after {retry_after}" if status == 429 else "Bad Gateway"
        self._failures.setdefault(method, []).extend(Failure(status, description, retry_after) for _ in range(times))

    def fail_for(self, method: str, seconds: float) -> None:
        """Answer every call of ``method`` with 502 Bad Gateway for ``seconds`` (an outage)."""
        self._down_until[method] = time.monotonic() + seconds

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Enqueued updates ``getUpdates`` has not had confirmed yet."""
        return list(self._updates)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Snapshots of the messages the bot sent (``sendMessage`` results), oldest first."""
        return [
            copy.deepcopy(m)
            for m in self._messages.values()
            if m["from"]["id"] == BOT_ID and (chat_id is None or m["chat"]["id"] == chat_id)
        ]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A snapshot of a message as it is now (edits included)."""
        return copy.deepcopy(self._messages[(chat_id, message_id)])

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the bot has sent ``count`` messages to ``chat_id``; return them all."""
        await self.wait_until(lambda: len(self.sent(chat_id)) >= count, timeout)
        return self.sent(chat_id)

    async def wait_calls(self, method: str, count: int, timeout: float = 10.0) -> list[Call]:
        await self.wait_until(lambda: len(self.calls_of(method)) >= count, timeout)
        return self.calls_of(method)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout)

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until no call has arrived for ``quiet`` seconds (for asserting silence)."""
        while True:
            last = self.calls[-1].at if self.calls else 0.0
            await asyncio.sleep(quiet)
            if (self.calls[-1].at if self.calls else 0.0) == last:
                return

    # ------------------------------------------------------------------ building updates

    @staticmethod
    def user(
        user_id: int, first_name: str = "Ann", language_code: str | None = "en", username: str | None = None
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        if username:
            user["username"] = username
        return user

    def private_chat(self, user: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        self._chats[chat["id"]] = chat
        return chat

    def group_chat(self, chat_id: int, title: str = "社保卡互助群", *, forum: bool = False) -> dict[str, Any]:
        assert chat_id < 0
        chat: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": title}
        if forum:
            chat["is_forum"] = True
        self._chats[chat_id] = chat
        return chat

    def _new_message(self, chat: dict[str, Any], sender: dict[str, Any], **fields: Any) -> dict[str, Any]:
        message_id = self._message_ids.get(chat["id"], 0) + 1
        self._message_ids[chat["id"]] = message_id
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": sender, **fields}
        self._messages[(chat["id"], message_id)] = message
        return message

    def _quote(self, chat_id: int, message_id: int) -> dict[str, Any]:
        quoted = copy.deepcopy(self._messages[(chat_id, message_id)])
        quoted.pop("reply_to_message", None)  # Telegram does not nest replies
        return quoted

    def _thread_fields(self, chat: dict[str, Any], thread_id: int | None, reply_to: int | None) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if reply_to is not None:
            fields["reply_to_message"] = self._quote(chat["id"], reply_to)
        if thread_id is not None:
            fields["message_thread_id"] = thread_id
            if chat.get("is_forum"):
                fields["is_topic_message"] = True
                if reply_to is None:  # in a topic, Telegram "replies" to the topic's first message
                    fields["reply_to_message"] = self._quote(chat["id"], thread_id)
        return fields

    def open_topic(self, chat: dict[str, Any], creator: dict[str, Any], name: str = "激活") -> int:
        """Create a forum topic (its service message id is the thread id)."""
        message = self._new_message(chat, creator, forum_topic_created={"name": name, "icon_color": 7322096})
        message["message_thread_id"] = message["message_id"]
        message["is_topic_message"] = True
        return message["message_id"]

    def _update(self, **payload: Any) -> dict[str, Any]:
        self._next_update_id += 1
        return {"update_id": self._next_update_id, **payload}

    def text_update(
        self,
        chat: dict[str, Any],
        user: dict[str, Any],
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A text message update, with the entities Telegram would attach."""
        entities = []
        if text.startswith("/"):
            command = re.match(r"/\S+", text)
            assert command
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group())})
        for match in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
            before = text[match.start() - 1] if match.start() else " "
            if not before.isalnum() and before not in "_/":  # "/ask@Bot" is part of the command
                entities.append(
                    {"type": "mention", "offset": utf16_len(text[: match.start()]), "length": utf16_len(match.group())}
                )
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        fields.update(self._thread_fields(chat, thread_id, reply_to))
        return self._update(message=self._new_message(chat, user, **fields))

    def edited_update(self, update: dict[str, Any], text: str) -> dict[str, Any]:
        """``update``'s message edited to ``text`` (Telegram's ``edited_message``)."""
        message = {**update["message"], "text": text, "edit_date": int(time.time())}
        return self._update(edited_message=message)

    def sticker_update(
        self, chat: dict[str, Any], user: dict[str, Any], *, reply_to: int | None = None
    ) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAIBVGZ",
            "file_unique_id": "AgADVGZ",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        fields = {"sticker": sticker, **self._thread_fields(chat, None, reply_to)}
        return self._update(message=self._new_message(chat, user, **fields))

    def photo_update(self, chat: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        photo = [
            {"file_id": "AgACAgIAAxkBAAIB", "file_unique_id": "AQADx", "width": 90, "height": 90, "file_size": 1200}
        ]
        return self._update(message=self._new_message(chat, user, photo=photo))

    def voice_update(self, chat: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        voice = {"file_id": "AwACAgIAAxkBAAIB", "file_unique_id": "AgADv", "duration": 3, "mime_type": "audio/ogg"}
        return self._update(message=self._new_message(chat, user, voice=voice))

    def join_update(self, chat: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        return self._update(message=self._new_message(chat, user, new_chat_members=[user]))

    def press_update(self, user: dict[str, Any], message: dict[str, Any], data: str) -> dict[str, Any]:
        """``user`` pressing the inline button with ``data`` under the bot's ``message``."""
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        assert data in [b["callback_data"] for b in buttons], f"no button {data!r}"
        current = self._messages[(message["chat"]["id"], message["message_id"])]
        self._next_update_id += 1
        query = {
            "id": f"cq{self._next_update_id}",
            "from": user,
            "chat_instance": str(message["chat"]["id"] * 7),
            "message": copy.deepcopy(current),
            "data": data,
        }
        return {"update_id": self._next_update_id, "callback_query": query}

    async def enqueue(self, *updates: dict[str, Any]) -> None:
        """Make ``updates`` available to ``getUpdates``."""
        self._updates.extend(updates)
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ Bot API methods

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            async with self._changed:
                self._changed.notify_all()
        allowed = params.get("allowed_updates")

        def ready() -> bool:
            return bool(self._updates) or bool(self._server and self._server.should_exit)

        timeout = float(params.get("timeout", 0))
        if not ready() and timeout:
            with contextlib.suppress(TimeoutError):
                await self.wait_until(ready, timeout)
        batch = self._updates[: int(params.get("limit", 100))]
        if allowed:
            batch = [u for u in batch if any(kind in u for kind in allowed)]
        return batch

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise BadRequest("bad webhook: HTTPS url must be provided for webhook")
        self.webhook = params
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chats.get(params["chat_id"])
        if chat is None:
            raise BadRequest("chat not found")
        text = params.get("text", "")
        if not text.strip():
            raise BadRequest("message text is empty")
        if utf16_len(text) > 4096:
            raise BadRequest("message is too long")
        markup = params.get("reply_markup")
        if markup is not None:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if len(button.get("callback_data", "").encode()) > 64 or not button.get("text"):
                        raise BadRequest("BUTTON_DATA_INVALID")
        reply_to = (params.get("reply_parameters") or {}).get("message_id", params.get("reply_to_message_id"))
        if reply_to is not None and (chat["id"], reply_to) not in self._messages:
            if not (params.get("reply_parameters") or {}).get("allow_sending_without_reply"):
                raise BadRequest("message to be replied not found")
            reply_to = None
        thread_id = params.get("message_thread_id")
        fields: dict[str, Any] = {"text": text}
        if markup is not None:
            fields["reply_markup"] = markup
        fields.update(self._thread_fields(chat, thread_id, reply_to))
        return self._new_message(chat, self.bot_user(), **fields)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if len(params.get("text", "")) > 200:
            raise BadRequest("MESSAGE_TOO_LONG")
        return True

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params["chat_id"], params["message_id"])
        if key not in self._messages:
            raise BadRequest("message to edit not found")
        message = self._messages[key]
        markup = params.get("reply_markup")
        if markup == message.get("reply_markup") or (not markup and "reply_markup" not in message):
            raise BadRequest("message is not modified")
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def bot_user(self) -> dict[str, Any]:
        return {k: self.bot[k] for k in ("id", "is_bot", "first_name", "username")}


class BadRequest(Exception):
    """Raised by a fake method: answered as Telegram's 400 Bad Request."""


def _json(content: Any, status: int = 200) -> Response:
    """JSON as Telegram writes it: ASCII with escapes (so lone surrogates travel as ``\\ud800``)."""
    return Response(json.dumps(content), status_code=status, media_type="application/json")


def _error(status: int, description: str, **extra: Any) -> Response:
    return _json({"ok": False, "error_code": status, "description": description, **extra}, status)

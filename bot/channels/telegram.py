"""The Telegram channel: private chats and group FAQ answers, by long polling or webhook.

The channel only carries text between Telegram and :class:`bot.dialogue.Engine`; every
answer, follow-up question and notice comes from the engine. What lives here is the
Telegram side of it:

* private chats: each text message goes to the engine; a follow-up question's choices
  become an inline keyboard whose buttons call :meth:`Engine.choose`;
* groups: the bot speaks only when addressed (an @mention, a reply to one of its
  messages, ``/ask …``), or with ``FAQBOT_GROUP_AUTO_ANSWER`` when the engine is sure;
  each member has a conversation of their own (key ``tg:<chat>:<user>``);
* plain-text sending (no parse mode, so nothing needs escaping), split at 4096 units,
  rate-limited by :class:`~telegram.ext.AIORateLimiter` and retried on network errors;
* logs carry no message text and no chat or user id, only a keyed hash of a chat id
  (:func:`bot.channels.log_ids.user_ref`).

``faqbot run`` calls :func:`run_polling`; ``faqbot serve`` builds the same
:class:`~telegram.ext.Application` without an updater (see :mod:`bot.web`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.log_ids import log_key, user_ref
from bot.channels.telegram_logging import configure_logging, quiet_library_logs
from bot.channels.telegram_text import (
    Span,
    choice_data,
    language_of_code,
    parse_choice_data,
    remove_spans,
    split_message,
    text_after,
)
from bot.dialogue import Engine
from bot.knowledge import load_knowledge
from bot.messages import Command, Language, Reply, Turn
from bot.settings import Settings
from bot.state import StateStore, StateStoreError, open_store

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The update types the handlers below understand; polling and setWebhook ask for exactly these.
ALLOWED_UPDATES: list[str] = [Update.MESSAGE, Update.CALLBACK_QUERY]
#: What a bot token looks like (``<bot id>:<secret>``).
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
#: Group auto-answer: how sure the engine must be, and intents never worth interrupting for.
#: The matcher's confidences top out around 0.85 for FAQ questions; on
#: tests/data/heldout.jsonl, 0.5 answers about a quarter of the FAQ questions and none
#: wrongly (0.45 already answers one wrongly). Re-check when the matcher is re-tuned.
AUTO_ANSWER_MIN_CONFIDENCE = 0.5
AUTO_ANSWER_SKIPPED_INTENTS = frozenset({"greeting", "thanks", "help"})
#: Sends are tried this many times on network errors, waiting SEND_BACKOFF_SECONDS·2ⁿ between.
SEND_ATTEMPTS = 4
SEND_BACKOFF_SECONDS = 0.5
#: How often AIORateLimiter retries a request Telegram answered with 429 RetryAfter.
RATE_LIMIT_RETRIES = 3
#: Updates processed at the same time (different chats; one chat is processed in order).
MAX_CONCURRENT_UPDATES = 64
#: How long the owner of a group keyboard is remembered.
BUTTON_MEMORY_SECONDS = 7 * 24 * 3600

_SERVICES_KEY = "faqbot"


class ConfigurationError(Exception):
    """A deployment setting is missing or malformed; the message is one line for the user."""


def bot_token(settings: Settings) -> str:
    """The configured bot token, checked for shape (never echoed in the error)."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ConfigurationError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
    token = settings.telegram_bot_token.get_secret_value().strip()
    if not TOKEN_PATTERN.fullmatch(token):
        raise ConfigurationError(
            "TELEGRAM_BOT_TOKEN is malformed (expected '<digits>:<secret>' as issued by @BotFather)"
        )
    return token


def file_base_url(base_url: str) -> str:
    """The file download URL that goes with a Bot API ``base_url``.

    ``http://host:8081/bot`` → ``http://host:8081/file/bot`` (the Local Bot API Server and
    api.telegram.org layout); a URL with a ``{token}`` placeholder is treated the same way.
    """
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    if "/bot{token}" in base_url:
        return base_url.replace("/bot{token}", "/file/bot{token}", 1)
    return base_url


@dataclass
class Services:
    """What the handlers need, kept in ``application.bot_data``."""

    engine: Engine
    store: StateStore
    group_auto_answer: bool = False
    log_key: bytes = field(kw_only=True)  # chat ids are logged only as user_ref(chat_id, log_key)


def attach_services(application: Application, services: Services) -> None:
    """Make ``services`` available to the handlers of ``application``."""
    application.bot_data[_SERVICES_KEY] = services


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services = context.application.bot_data.get(_SERVICES_KEY)
    if not isinstance(services, Services):
        raise RuntimeError("the Telegram application has no engine attached")
    return services


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates of different chats concurrently and those of one chat in order.

    One slow send (a 429 wait, a network retry) then holds up only its own chat, while
    a user's messages still reach the engine in the order they were written.
    """

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:
                del self._users[chat.id]
                self._locks.pop(chat.id, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


# --------------------------------------------------------------------------- helpers


def conversation_key(chat_id: int, user_id: int) -> str:
    """The engine's conversation key: one per member of each chat."""
    return f"tg:{chat_id}:{user_id}"


def _sender_id(message: Message) -> int:
    if message.from_user is not None:
        return message.from_user.id
    if message.sender_chat is not None:  # anonymous admins, linked channels
        return message.sender_chat.id
    return message.chat.id


def _message_key(message: Message) -> str:
    return conversation_key(message.chat.id, _sender_id(message))


def _is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def _client_language(user: User | None) -> Language:
    """The user's Telegram client language: the engine's hint for a new conversation."""
    return language_of_code(user.language_code if user else None)


async def _with_retries(send: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, retrying network errors (not Telegram's refusals) with backoff.

    429 RetryAfter is retried by the rate limiter; BadRequest is a NetworkError subclass
    in python-telegram-bot but repeating it would not help.
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await send()
        except BadRequest:
            raise
        except NetworkError as exc:  # includes TimedOut
            if attempt == SEND_ATTEMPTS:
                raise
            delay = SEND_BACKOFF_SECONDS * 2 ** (attempt - 1)
            logger.warning("send_retry attempt=%d error=%s delay=%.1fs", attempt, type(exc).__name__, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Target:
    """Where replies go: a chat, the message they answer (groups) and its forum topic."""

    chat_id: int
    reply_to: int | None = None
    thread_id: int | None = None
    owner: str | None = None  # the conversation whose buttons these are (groups)

    @classmethod
    def answering(cls, message: Message, key: str) -> Target:
        """Reply to ``message``: plainly in a private chat, quoting it in a group."""
        if _is_private(message):
            return cls(message.chat.id)
        thread = message.message_thread_id if message.is_topic_message else None
        return cls(message.chat.id, message.message_id, thread, key)


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """One button per choice, each carrying ``<prompt_id>:<index>`` (the engine gives every
    reply with choices a prompt id)."""
    if not reply.choices or reply.prompt_id is None:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=choice_data(reply.prompt_id, index))]
            for index, label in enumerate(reply.choices)
        ]
    )


async def send_turn(context: ContextTypes.DEFAULT_TYPE, target: Target, turn: Turn) -> list[Message]:
    """Send every reply of ``turn`` to ``target``; choices become an inline keyboard on the
    last piece of their reply."""
    store = _services(context).store
    sent: list[Message] = []
    for reply in turn.replies:
        markup = _keyboard(reply)
        chunks = split_message(reply.text)
        for number, chunk in enumerate(chunks, 1):
            message = await send_text(context, target, chunk, markup if number == len(chunks) else None)
            sent.append(message)
        if markup is not None and target.owner is not None and chunks:
            await store.remember(
                f"telegram:owner:{target.chat_id}:{sent[-1].message_id}",
                target.owner,
                BUTTON_MEMORY_SECONDS,
            )
    return sent


async def send_text(
    context: ContextTypes.DEFAULT_TYPE,
    target: Target,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send one plain-text message (no parse mode: the text is shown exactly as given)."""
    reply_parameters = (
        ReplyParameters(target.reply_to, allow_sending_without_reply=True) if target.reply_to is not None else None
    )
    return await _with_retries(
        lambda: context.bot.send_message(
            chat_id=target.chat_id,
            text=text,
            message_thread_id=target.thread_id,
            reply_parameters=reply_parameters,
            reply_markup=markup,
        )
    )


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, message_text: str | Command) -> None:
    """Hand the text (or command) to the engine for the sender of the update's message and
    send the turn. An empty text (a bare ``/ask`` or ``@Bot``) gets the welcome."""
    message = update.effective_message
    assert message is not None
    services = _services(context)
    key = _message_key(message)
    hint = _client_language(message.from_user)
    turn = await services.engine.handle(key, message_text or Command.START, hint=hint)
    await send_turn(context, Target.answering(message, key), turn)


def _is_reply_to_bot(message: Message, bot_id: int) -> bool:
    """A reply to one of the bot's messages (not a forum topic's implicit reply to its
    opening service message)."""
    replied = message.reply_to_message
    return (
        replied is not None
        and replied.forum_topic_created is None
        and replied.from_user is not None
        and replied.from_user.id == bot_id
    )


def _mentions_of_bot(message: Message, username: str, bot_id: int) -> list[Span]:
    """Where ``message`` mentions the bot (``@username`` or a text mention of it)."""
    spans = []
    wanted = f"@{username}".lower()
    for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        is_bot = (
            text.lower() == wanted
            if entity.type == MessageEntity.MENTION
            else entity.user is not None and entity.user.id == bot_id
        )
        if is_bot:
            spans.append(Span(entity.offset, entity.length))
    return spans


# --------------------------------------------------------------------------- handlers


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: the greeting with the topics as buttons, in the user's Telegram language."""
    message = update.effective_message
    assert message is not None
    await _answer(update, context, Command.START)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: the engine's help text."""
    await _answer(update, context, Command.HELP)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: drop the pending follow-up question, if any."""
    await _answer(update, context, Command.CANCEL)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question> (also /ask@BotName): a question, in a group or a private chat.
    A bare /ask shows the topics."""
    message = update.effective_message
    assert message is not None and message.text is not None
    command = next((e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None)
    question = text_after(message.text, Span(command.offset, command.length)) if command else ""
    await _answer(update, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat (other commands included) goes to the engine."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await _answer(update, context, message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text in a group: answered when the bot is addressed, or (auto-answer) when the engine
    is confident and the question is a real FAQ question."""
    message = update.effective_message
    assert message is not None and message.text is not None
    bot = context.bot
    mentions = _mentions_of_bot(message, bot.username, bot.id)
    if mentions or _is_reply_to_bot(message, bot.id):
        await _answer(update, context, remove_spans(message.text, mentions))  # "@Bot" alone: the topics
        return
    if _services(context).group_auto_answer:
        await _auto_answer(update, context, message)


def confident_enough(classified: Mapping[str, object]) -> bool:
    """Whether an unaddressed group message is a FAQ question the engine is sure about,
    judged from :meth:`Engine.classify` (which reads and writes no conversation state)."""
    intent, confidence = classified.get("intent"), classified.get("confidence")
    return (
        isinstance(intent, str)
        and intent not in AUTO_ANSWER_SKIPPED_INTENTS
        and isinstance(confidence, (int, float))
        and confidence >= AUTO_ANSWER_MIN_CONFIDENCE
    )


async def _auto_answer(update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message) -> None:
    """Answer an unaddressed group message only when :func:`confident_enough`; anything
    else never reaches the engine's conversations."""
    assert message.text is not None
    if confident_enough(_services(context).engine.classify(message.text)):
        await _answer(update, context, message.text)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice…: ask for the question in writing (in a group only when the
    sticker answers the bot)."""
    message = update.effective_message
    assert message is not None
    if not _is_private(message) and not _is_reply_to_bot(message, context.bot.id):
        return
    services = _services(context)
    key = _message_key(message)
    locale = await services.engine.locale(key, _client_language(message.from_user))
    text = services.engine.notice("non_text", locale)
    await send_text(context, Target.answering(message, key), text)


async def choice_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline button: select that choice of the pending question, as typing it would.

    Always answers the callback query (even when something fails, so the button stops
    spinning); a button of a question that is no longer open, or pressed by a member
    other than the one asked, gets the ``stale_choice`` notice instead of an answer.
    """
    query = update.callback_query
    assert query is not None
    answered = False

    async def answer(text: str | None = None) -> None:
        nonlocal answered
        answered = True
        await _with_retries(lambda: query.answer(text))

    try:
        await _select_choice(context, query.from_user, query.message, query.data, answer)
    finally:
        if not answered:
            with contextlib.suppress(TelegramError):
                await query.answer()


async def _select_choice(
    context: ContextTypes.DEFAULT_TYPE,
    presser_user: User,
    question: MaybeInaccessibleMessage | None,
    data: str | None,
    answer: Callable[..., Awaitable[None]],
) -> None:
    services = _services(context)
    chat_id = question.chat.id if question is not None else presser_user.id
    presser = conversation_key(chat_id, presser_user.id)

    async def refuse() -> None:
        locale = await services.engine.locale(presser, _client_language(presser_user))
        await answer(services.engine.notice("stale_choice", locale))

    parsed = parse_choice_data(data)
    if parsed is None or question is None:
        await refuse()
        return
    prompt_id, index = parsed
    owner = await services.store.recall(f"telegram:owner:{chat_id}:{question.message_id}")
    if owner is None and isinstance(question, Message) and question.reply_to_message is not None:
        asker = question.reply_to_message  # groups: the bot's question quotes the asker
        if asker.from_user is None or asker.from_user.id != context.bot.id:
            owner = conversation_key(chat_id, _sender_id(asker))
    if owner is not None and owner != presser:
        await refuse()  # someone else's question: their buttons stay
        return

    turn = await services.engine.choose(presser, prompt_id, index)
    if turn is None:
        await refuse()
        await _drop_keyboard(context, chat_id, question.message_id)
        return
    await answer()
    await _drop_keyboard(context, chat_id, question.message_id)
    if isinstance(question, Message) and not _is_private(question):
        thread = question.message_thread_id if question.is_topic_message else None
        target = Target(chat_id, question.message_id, thread, presser)
    else:
        target = Target(chat_id)
    await send_turn(context, target, turn)


async def _drop_keyboard(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int) -> None:
    """Remove the buttons of an answered question (best effort)."""
    try:
        await context.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
    except TelegramError as exc:
        chat = user_ref(chat_id, _services(context).log_key)  # a private chat's id is the user's
        logger.info("keyboard_not_removed chat=%s error=%s", chat, type(exc).__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every failure with its update id and error class; the bot keeps serving."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    logger.error(
        "update_failed update_id=%s error=%s",
        update_id,
        type(error).__name__,
        exc_info=error,
        extra={"update_id": update_id},
    )


def add_handlers(application: Application) -> None:
    """Register the handlers above (order matters: commands first)."""
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("cancel", cancel))
    application.add_handler(CommandHandler("ask", ask))
    application.add_handler(CallbackQueryHandler(choice_pressed))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.TEXT, private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, group_text))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & ~filters.TEXT & ~filters.StatusUpdate.ALL, non_text)
    )
    application.add_error_handler(on_error)


# --------------------------------------------------------------------------- wiring


async def open_engine(settings: Settings) -> tuple[Engine, StateStore]:
    """The state store named by ``FAQBOT_STATE_URL`` and the engine using it."""
    from bot.runtime import build_engine

    store = await open_store(settings.faqbot_state_url, idle_ttl_seconds=settings.faqbot_state_idle_minutes * 60)
    try:
        return build_engine(settings, store), store
    except BaseException:
        await store.close()
        raise


def build_application(
    settings: Settings,
    *,
    engine: Engine | None = None,
    store: StateStore | None = None,
    polling: bool = True,
) -> Application:
    """The python-telegram-bot Application of this deployment.

    With ``engine`` and ``store`` given they are attached right away (webhook server,
    tests); otherwise ``post_init`` opens the store and builds the engine, and
    ``post_shutdown`` closes the store (``faqbot run``). ``polling=False`` builds it
    without an updater: updates are then put on ``application.update_queue``.
    Raises :class:`ConfigurationError` for a missing or malformed token.
    """
    token = bot_token(settings)
    quiet_library_logs()
    builder = (
        ApplicationBuilder()
        .token(token)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(PerChatUpdateProcessor())
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url).base_file_url(file_base_url(settings.telegram_base_url))
    if not polling:
        builder = builder.updater(None)
    if engine is None or store is None:

        async def post_init(application: Application) -> None:
            opened_engine, opened_store = await open_engine(settings)
            attach_services(
                application,
                Services(opened_engine, opened_store, settings.faqbot_group_auto_answer, log_key=log_key(token)),
            )

        async def post_shutdown(application: Application) -> None:
            services = application.bot_data.get(_SERVICES_KEY)
            if isinstance(services, Services):
                await services.store.close()

        builder = builder.post_init(post_init).post_shutdown(post_shutdown)
    application = builder.build()
    if engine is not None and store is not None:
        attach_services(application, Services(engine, store, settings.faqbot_group_auto_answer, log_key=log_key(token)))
    add_handlers(application)
    return application


async def check_token(settings: Settings) -> None:
    """Ask Telegram who the token belongs to (getMe): raises InvalidToken when Telegram
    rejects it and NetworkError when it cannot be reached (see :func:`_exit_reason`)."""
    token = bot_token(settings)
    base_url = settings.telegram_base_url
    bot = Bot(token, base_url=base_url, base_file_url=file_base_url(base_url)) if base_url else Bot(token)
    async with bot:
        pass


def _exit_reason(exc: Exception) -> tuple[int, str]:
    """The exit code and the one-line message of ``faqbot run`` for a failure that ends it."""
    if isinstance(exc, InvalidToken):
        return 2, "Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)"
    if isinstance(exc, NetworkError):
        return 1, f"cannot reach the Telegram Bot API ({type(exc).__name__})"
    return 2, str(exc)  # ConfigurationError, StateStoreError: one line of their own


def run_polling(settings: Settings) -> int:
    """``faqbot run``: serve Telegram by long polling until interrupted. Returns the exit code."""
    load_knowledge(settings.faqbot_kb_dir)  # refuse a broken knowledge base before touching the network
    try:
        token = bot_token(settings)
        application = build_application(settings)
        asyncio.run(check_token(settings))
        configure_logging(settings.faqbot_log_level, secrets=[token])
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    except (ConfigurationError, StateStoreError, InvalidToken, NetworkError) as exc:
        code, reason = _exit_reason(exc)
        print(f"faqbot run: {reason}", file=sys.stderr)
        return code
    return 0

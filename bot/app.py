"""App wiring shared by every command: settings → state store + engine, configuration errors.

``faqbot chat``/``classify``/``eval``/``check`` build an engine on a memory store
(:func:`bot.runtime.build_engine`); ``faqbot run`` and ``faqbot serve`` open the store named
by ``FAQBOT_STATE_URL`` with :func:`open_engine`. Whatever the operator must fix is raised
as :class:`ConfigurationError` with a one-line message and ends the command with exit code 2.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from pydantic import SecretStr, ValidationError

from bot.dialogue import Engine
from bot.logs import event
from bot.settings import Settings
from bot.state import RedisPool, StateStore, StateStoreError, open_store

EXIT_CONFIGURATION = 2

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """A deployment setting is missing or malformed; the message is one line for the user."""


def load_settings() -> Settings:
    """The settings from the environment and ``.env``; :class:`ConfigurationError` naming the
    first bad variable (its value is shown unless it is a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """One line for the first problem of a settings validation error."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    name = str(first["loc"][0]) if first["loc"] else "settings"
    secret = Settings.model_fields.get(name) is not None and "SecretStr" in str(Settings.model_fields[name].annotation)
    given = "" if secret or "input" not in first else f" (got {str(first['input'])[:40]!r})"
    more = f"; and {len(errors) - 1} more problem(s)" if len(errors) > 1 else ""
    return f"{name.upper()}: {first['msg']}{given}{more}"


def redis_pool(settings: Settings) -> RedisPool:
    """The per-worker Redis connection pool the settings ask for."""
    return RedisPool(size=settings.faqbot_redis_pool_size, wait_seconds=settings.faqbot_redis_pool_wait_seconds)


async def open_state(settings: Settings) -> StateStore:
    """The backend named by ``FAQBOT_STATE_URL``; :class:`ConfigurationError` when unusable."""
    try:
        return await open_store(
            settings.faqbot_state_url,
            idle_ttl_seconds=settings.faqbot_state_idle_minutes * 60,
            pool=redis_pool(settings),
        )
    except StateStoreError as exc:
        raise ConfigurationError(str(exc)) from None


async def open_engine(settings: Settings, engine: Engine | None = None) -> tuple[Engine, StateStore]:
    """The state store named by ``FAQBOT_STATE_URL`` and the engine using it.

    ``engine``, built beforehand (in the parent process of ``faqbot serve``), is attached to
    the store instead of building another one: the engine is built once per process.
    """
    from bot.review.log import review_log_for
    from bot.runtime import build_engine

    store = await open_state(settings)
    review = review_log_for(store, settings.faqbot_review_days) if settings.faqbot_review else None
    if engine is not None:
        engine.store = store
        engine.attach_review(review)
        return engine, store
    try:
        return build_engine(settings, store, review=review), store
    except BaseException:
        await store.close()
        raise


def reload_on_hangup(engine: Engine, settings: Settings) -> None:
    """Reload the knowledge base into ``engine`` on SIGHUP, in the running event loop.

    The new knowledge base is validated and compiled (from the cache when it is there) off
    the event loop; a broken one is refused with one log line and the engine keeps the
    knowledge it has. Conversations are untouched.
    """
    loop = asyncio.get_running_loop()
    busy = asyncio.Lock()

    async def reload() -> None:
        from bot.knowledge import KnowledgeError
        from bot.understanding.compiled import load

        if busy.locked():
            return  # a reload is under way: it reads the files as they are now
        async with busy:
            try:
                knowledge, compiled = await asyncio.to_thread(load, settings.faqbot_kb_dir)
            except KnowledgeError as error:
                event(
                    log,
                    logging.ERROR,
                    "knowledge.reload_refused",
                    problems=len(error.problems),
                    first=error.problems[0],
                )
                return
            engine.reload(knowledge, compiled)
            event(
                log,
                logging.INFO,
                "knowledge.reloaded",
                intents=len(knowledge.intents),
                examples=len(knowledge.examples),
            )

    loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reload()))


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value of ``settings``, for the log redaction filter."""
    values: list[SecretStr | None] = [
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.wechat_token,
        settings.wechat_aes_key,
        settings.wecom_token,
        settings.wecom_aes_key,
    ]
    return [value.get_secret_value() for value in values if value is not None and value.get_secret_value()]

"""``faqbot serve``: the one HTTP entry point of the webhook channels.

A single Starlette app, served by uvicorn:

* ``POST /telegram`` — Telegram webhook updates (mounted when ``TELEGRAM_BOT_TOKEN`` is set,
  which then requires ``TELEGRAM_WEBHOOK_SECRET``);
* the WeChat routes from :func:`bot.channels.wechat.wechat_routes` (when ``WECHAT_TOKEN`` is set);
* ``GET /healthz`` — liveness for the reverse proxy / orchestrator.

The lifespan opens the state store, builds the engine and starts the python-telegram-bot
Application without an updater; the webhook endpoint checks the request and puts the
update on the Application's queue, so Telegram gets its 200 without waiting for sends.
With ``--workers N`` each worker process builds its own app through :func:`app_from_env`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.ext import Application
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.channels.telegram import (
    ALLOWED_UPDATES,
    ConfigurationError,
    bot_token,
    build_application,
    open_engine,
)
from bot.channels.telegram_logging import configure_logging
from bot.dialogue import Engine
from bot.settings import Settings
from bot.state import StateStore, StateStoreError

logger = logging.getLogger(__name__)

#: Largest webhook body accepted (Telegram updates are a few KiB).
MAX_BODY_BYTES = 1024 * 1024
#: How long an update id is remembered as processed (Telegram gives up after 24 h).
UPDATE_ID_TTL_SECONDS = 24 * 3600
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram's rule for ``secret_token``.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class _TooLarge(Exception):
    pass


def check_settings(settings: Settings) -> None:
    """Raise :class:`ConfigurationError` (one line) when there is nothing to serve, or a
    Telegram setting is missing (the webhook secret is required) or malformed."""
    telegram = settings.telegram_bot_token is not None
    if not telegram and settings.wechat_token is None:
        raise ConfigurationError("nothing to serve: set TELEGRAM_BOT_TOKEN and/or WECHAT_TOKEN")
    if telegram:
        bot_token(settings)
        secret = settings.telegram_webhook_secret
        if secret is None or not secret.get_secret_value():
            raise ConfigurationError(
                "TELEGRAM_WEBHOOK_SECRET is required for the webhook: set it to a random value "
                "(e.g. openssl rand -hex 32) so that forged updates are refused"
            )
        if not SECRET_PATTERN.fullmatch(secret.get_secret_value()):
            raise ConfigurationError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        url = settings.telegram_webhook_url
        if url is not None and not url.startswith("https://"):
            logger.warning("TELEGRAM_WEBHOOK_URL is not https://; Telegram only calls HTTPS webhooks")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _text(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status)


async def telegram_webhook(request: Request) -> Response:
    """Accept one Telegram update: 403 missing or wrong secret, 413 too large, 400 not an update,
    200 otherwise (a repeated ``update_id`` is acknowledged and not processed again)."""
    settings: Settings = request.app.state.settings
    application: Application | None = request.app.state.telegram
    store: StateStore = request.app.state.store
    if application is None:
        return _text(503, "not ready")
    try:
        secret = settings.telegram_webhook_secret  # required by check_settings; fail closed anyway
        given = request.headers.get(SECRET_HEADER, "").encode()
        if secret is None or not hmac.compare_digest(given, secret.get_secret_value().encode()):
            return _text(403, "forbidden")
        try:
            body = await _read_body(request, MAX_BODY_BYTES)
        except _TooLarge:
            return _text(413, "request body too large")
        try:
            data: Any = json.loads(body)
        except ValueError:
            return _text(400, "malformed JSON")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return _text(400, "not a Telegram update")
        try:
            update = Update.de_json(data, application.bot)
        except Exception:
            logger.warning("webhook_bad_update update_id=%s", update_id)
            return _text(400, "not a Telegram update")
        if not await store.claim(f"telegram:update:{update_id}", UPDATE_ID_TTL_SECONDS):
            logger.info("webhook_duplicate update_id=%s", update_id)
            return _text(200, "ok")
        await application.update_queue.put(update)
        return _text(200, "ok")
    except Exception:
        logger.exception("webhook_failed")
        return _text(500, "internal error")


async def healthz(request: Request) -> Response:
    """200 with the mounted channels while serving."""
    application: Application | None = request.app.state.telegram
    channels = [name for name, on in request.app.state.channels.items() if on]
    healthy = application is None or application.running
    return JSONResponse(
        {"status": "ok" if healthy else "starting", "channels": channels},
        status_code=200 if healthy else 503,
    )


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    store: StateStore | None = None,
) -> Starlette:
    """The ASGI app of ``faqbot serve``.

    ``engine`` and ``store`` are opened from ``settings`` at start-up unless given (tests).
    On start-up it starts the Telegram Application and, when ``TELEGRAM_WEBHOOK_URL`` is
    set, registers the webhook with its secret and the handled update types.
    Raises :class:`ConfigurationError` when nothing is configured or a setting is missing
    or malformed (see :func:`check_settings`).
    """
    check_settings(settings)
    telegram_on = settings.telegram_bot_token is not None
    wechat_on = settings.wechat_token is not None
    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    if telegram_on:
        routes.append(Route("/telegram", telegram_webhook, methods=["POST"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_store = engine is None or store is None
        if own_store:
            opened_engine, opened_store = await open_engine(settings)
        else:
            assert engine is not None and store is not None
            opened_engine, opened_store = engine, store
        application: Application | None = None
        app.state.store = opened_store
        app.state.engine = opened_engine
        try:
            if wechat_on:
                from bot.channels.wechat import wechat_routes

                app.router.routes.extend(wechat_routes(settings, opened_engine, opened_store))
            if telegram_on:
                application = build_application(settings, engine=opened_engine, store=opened_store, polling=False)
                await application.initialize()
                await application.start()
                app.state.telegram = application
                if settings.telegram_webhook_url:
                    secret = settings.telegram_webhook_secret
                    assert secret is not None  # check_settings
                    await application.bot.set_webhook(
                        settings.telegram_webhook_url,
                        secret_token=secret.get_secret_value(),
                        allowed_updates=ALLOWED_UPDATES,
                    )
                    logger.info("webhook_set allowed_updates=%s", ",".join(ALLOWED_UPDATES))
            yield
        finally:
            app.state.telegram = None
            if application is not None:
                if application.running:
                    await application.stop()  # processes the updates already accepted
                await application.shutdown()
            if own_store:
                await opened_store.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.telegram = None
    app.state.channels = {"telegram": telegram_on, "wechat": wechat_on}
    return app


def app_from_env() -> Starlette:
    """uvicorn factory (``bot.web:app_from_env``) for ``--workers N``: settings from the
    environment, logging with secrets redacted."""
    settings = Settings()
    configure_logging(settings.faqbot_log_level, _secrets(settings))
    return create_app(settings)


def _secrets(settings: Settings) -> list[str]:
    return [
        secret.get_secret_value()
        for secret in (
            settings.telegram_bot_token,
            settings.telegram_webhook_secret,
            settings.wechat_token,
            settings.wechat_aes_key,
        )
        if secret is not None
    ]


async def _preflight(settings: Settings) -> None:
    """Open the store and build every channel once, so that configuration mistakes end
    ``faqbot serve`` with one line instead of a failed worker start-up."""
    try:
        engine, store = await open_engine(settings)
    except StateStoreError as exc:
        raise ConfigurationError(str(exc)) from None
    try:
        if settings.wechat_token is not None:
            from bot.channels.wechat import WeChatConfigError, wechat_routes

            try:
                wechat_routes(settings, engine, store)
            except WeChatConfigError as exc:
                raise ConfigurationError(str(exc)) from None
    finally:
        await store.close()


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with Nagle's algorithm off on every connection.

    With ``--workers N`` uvicorn binds the listening socket itself without
    ``IPPROTO_TCP``, so asyncio leaves ``TCP_NODELAY`` unset on accepted connections and
    each keep-alive response waits ~40 ms for the client's delayed ACK
    (https://github.com/Kludex/uvicorn/issues/3149).
    """

    def connection_made(self, transport: asyncio.Transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1) -> int:
    """``faqbot serve``: run the app under uvicorn until interrupted. Returns the exit code."""
    import uvicorn

    try:
        check_settings(settings)
        if workers > 1 and not settings.faqbot_state_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                "--workers N needs FAQBOT_STATE_URL=redis://…: SQLite and memory state is not shared between processes"
            )
        asyncio.run(_preflight(settings))
    except ConfigurationError as exc:
        print(f"faqbot serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.faqbot_log_level, _secrets(settings))
    if workers > 1:
        uvicorn.run(
            "bot.web:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_config=None,
            http=NoDelayH11Protocol,
            access_log=False,  # its lines carry WeChat's query string: openid, signature
        )
    else:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            proxy_headers=True,
            log_config=None,
            http=NoDelayH11Protocol,
            access_log=False,
        )
    return 0

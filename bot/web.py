"""``faqbot serve``'s ASGI app: the webhook channels, ``/healthz`` and ``/metrics``.

* ``POST /telegram`` — Telegram updates (when ``TELEGRAM_BOT_TOKEN`` is set, which then
  requires ``TELEGRAM_WEBHOOK_SECRET``);
* ``GET/POST /wechat`` — the WeChat Official Account (when ``WECHAT_TOKEN`` is set);
* ``GET/POST /wecom`` — the WeCom intelligent robot (when ``WECOM_TOKEN`` and ``WECOM_AES_KEY`` are set);
* ``GET /healthz`` — 200 when the state store answers a write and the channels run; 503
  naming what is down otherwise;
* ``GET /metrics`` — Prometheus text format, all workers together.

The lifespan opens the state store, builds the engine (unless the parent process built it,
see :mod:`bot.server`), starts the channels, and on shutdown lets the Telegram updates
being processed finish within the stop budget (the rest stay queued in the store).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import metrics
from bot.app import ConfigurationError, load_settings, open_engine, reload_on_hangup, secrets_of
from bot.dialogue import Engine
from bot.logs import configure_logging, event
from bot.settings import Settings
from bot.state import StateStore, StoreUnavailable

log = logging.getLogger(__name__)

GRACEFUL_REQUESTS_SECONDS = 5.0
"""Of the stop budget, how long requests in flight may take (uvicorn's graceful shutdown)."""


def check_settings(settings: Settings) -> None:
    """Raise :class:`ConfigurationError` (one line) when there is nothing to serve, or a
    channel's setting is missing (the Telegram webhook secret is required) or malformed."""
    if settings.telegram_bot_token is None and settings.wechat_token is None and not _wecom(settings):
        raise ConfigurationError("nothing to serve: set TELEGRAM_BOT_TOKEN, WECHAT_TOKEN and/or WECOM_TOKEN")
    if settings.telegram_bot_token is not None:
        from bot.channels.telegram.config import bot_token, webhook_secret

        bot_token(settings)
        webhook_secret(settings)
        url = settings.telegram_webhook_url
        if url is not None and not url.startswith("https://"):
            event(log, logging.WARNING, "telegram.webhook_url_not_https")
    if settings.wechat_token is not None:
        from bot.channels.wechat.envelope import wechat_keys

        wechat_keys(settings)
    if _wecom(settings):
        from bot.channels.wecom.channel import wecom_keys

        wecom_keys(settings)


def _wecom(settings: Settings) -> bool:
    """Whether the WeCom robot is configured (either of its settings is: both are needed)."""
    return settings.wecom_token is not None or settings.wecom_aes_key is not None


async def healthz(request: Request) -> Response:
    """200 when the store takes a write and every channel runs; 503 saying what is down."""
    state = request.app.state
    checks: dict[str, str] = {}
    store: StateStore | None = state.store
    if store is None:
        checks["store"] = "starting"
    else:
        try:
            await store.check()
            checks["store"] = "ok"
        except StoreUnavailable as exc:
            checks["store"] = str(exc)
    telegram = state.telegram
    if state.channels["telegram"]:
        checks["telegram"] = "ok" if telegram is not None and telegram.started else "starting"
    for name in ("wechat", "wecom"):
        if state.channels[name]:
            checks[name] = "ok" if name in state.mounted else "starting"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks, "channels": _channels(request)}
    return JSONResponse(body, status_code=200 if healthy else 503)


def _channels(request: Request) -> list[str]:
    return [name for name, on in request.app.state.channels.items() if on]


async def metrics_endpoint(request: Request) -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


async def telegram_endpoint(request: Request) -> Response:
    """Hands the request to the Telegram channel once it runs (503 before: Telegram retries)."""
    handler = request.app.state.telegram_route
    if handler is None:
        return PlainTextResponse("not ready", status_code=503, headers={"Retry-After": "5"})
    response: Response = await handler(request)
    return response


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    store: StateStore | None = None,
) -> Starlette:
    """The ASGI app of ``faqbot serve``; :class:`ConfigurationError` when nothing is
    configured or a setting is missing or malformed (see :func:`check_settings`).

    ``store`` (tests) is used instead of opening ``FAQBOT_STATE_URL``; ``engine`` is used
    instead of building one (attached to the opened store when ``store`` is not given).
    """
    check_settings(settings)
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    if settings.telegram_bot_token is not None:
        routes.append(Route("/telegram", telegram_endpoint, methods=["POST"]))
    app = Starlette(routes=routes, lifespan=_lifespan(settings, engine, store))
    app.state.settings = settings
    app.state.store = None
    app.state.telegram = None
    app.state.telegram_route = None
    app.state.mounted = set()
    app.state.channels = {
        "telegram": settings.telegram_bot_token is not None,
        "wechat": settings.wechat_token is not None,
        "wecom": _wecom(settings),
    }
    return app


def _lifespan(settings: Settings, engine: Engine | None, store: StateStore | None) -> Any:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from bot.server import install_accept_error_throttle

        install_accept_error_throttle(asyncio.get_running_loop())
        own_store = store is None
        if store is None:
            opened_engine, opened_store = await open_engine(settings, engine)
        else:
            opened_engine, opened_store = engine or _build(settings, store), store
        app.state.store = opened_store
        reload_on_hangup(opened_engine, settings)
        try:
            await _start_channels(app, settings, opened_engine, opened_store)
            yield
        finally:
            await _stop_channels(app, settings)
            if own_store:
                await opened_store.close()
            metrics.worker_stopped(os.getpid())

    return lifespan


def _build(settings: Settings, store: StateStore) -> Engine:
    from bot.runtime import build_engine

    return build_engine(settings, store)


async def _start_channels(app: Starlette, settings: Settings, engine: Engine, store: StateStore) -> None:
    if settings.wechat_token is not None:
        from bot.channels.wechat import WeChatChannel

        app.router.routes.extend(WeChatChannel(settings, engine, store).routes())
        app.state.mounted.add("wechat")
    if _wecom(settings):
        from bot.channels.wecom.channel import WeComChannel

        app.router.routes.extend(WeComChannel(settings, engine, store).routes())
        app.state.mounted.add("wecom")
    if settings.telegram_bot_token is not None:
        from bot.channels.telegram import TelegramChannel
        from bot.channels.telegram.config import webhook_secret

        channel = TelegramChannel(settings, engine, store)
        app.state.telegram = channel
        await channel.start()
        secret = webhook_secret(settings)
        app.state.telegram_route = channel.endpoint(secret)
        if settings.telegram_webhook_url:
            await channel.register_webhook(settings.telegram_webhook_url, secret)


async def _stop_channels(app: Starlette, settings: Settings) -> None:
    app.state.telegram_route = None
    channel = app.state.telegram
    if channel is not None:
        app.state.telegram = None
        await channel.stop(max(1.0, settings.faqbot_stop_timeout_seconds - GRACEFUL_REQUESTS_SECONDS))


def app_from_env() -> Starlette:
    """uvicorn factory (``bot.web:app_from_env``) for ``--workers N``: settings from the
    environment, logging with secrets redacted, the connection guard configured."""
    from bot.server import configure_guard

    settings = load_settings()
    configure_logging(settings.faqbot_log_level, secrets_of(settings))
    configure_guard(settings)
    return create_app(settings)

"""Telegram settings checked at start-up, and the Bot API client built from them."""

from __future__ import annotations

import re

from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.app import ConfigurationError
from bot.settings import Settings

#: The update types the channel handles; polling and setWebhook ask for exactly these,
#: and the webhook ignores any other (edited messages among them).
ALLOWED_UPDATES: list[str] = ["message", "callback_query"]
#: What a bot token looks like (``<bot id>:<secret>``).
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
#: Telegram's rule for ``secret_token``.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: How often AIORateLimiter retries a request Telegram answered with 429 RetryAfter.
RATE_LIMIT_RETRIES = 3
#: Concurrent connections to the Bot API.
CONNECTION_POOL_SIZE = 64


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


def webhook_secret(settings: Settings) -> str:
    """The webhook secret, required by ``faqbot serve`` (forged updates are refused with it)."""
    secret = settings.telegram_webhook_secret
    if secret is None or not secret.get_secret_value():
        raise ConfigurationError(
            "TELEGRAM_WEBHOOK_SECRET is required for the webhook: set it to a random value "
            "(e.g. openssl rand -hex 32) so that forged updates are refused"
        )
    if not SECRET_PATTERN.fullmatch(secret.get_secret_value()):
        raise ConfigurationError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
    return secret.get_secret_value()


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


def build_bot(settings: Settings) -> ExtBot[int]:
    """The Bot API client: sends paced under Telegram's limits (about 30 messages/s overall,
    20 a minute per group) by :class:`AIORateLimiter`, which also waits out 429s."""
    base = settings.telegram_base_url or "https://api.telegram.org/bot"
    bot: ExtBot[int] = ExtBot(
        bot_token(settings),
        base_url=base,
        base_file_url=file_base_url(base),
        request=HTTPXRequest(connection_pool_size=CONNECTION_POOL_SIZE),
        get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=15.0),
        rate_limiter=AIORateLimiter(max_retries=RATE_LIMIT_RETRIES),
    )
    return bot

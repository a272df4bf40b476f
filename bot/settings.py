"""Deployment settings, read from the environment (and a ``.env`` file when present).

Every setting is documented in ``.env.example`` and docs/operations.md. Secrets are typed
``SecretStr`` so that they never appear in logs or reprs. Numbers are bounded and must be
finite: ``nan`` or ``inf`` is refused here rather than failing the first message.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All knobs of a deployment; defaults suit a local run.

    An empty variable (``TELEGRAM_BOT_TOKEN=`` as in ``.env.example``) counts as unset.
    """

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # Knowledge base
    faqbot_kb_dir: Path = Field(default=PROJECT_ROOT, description="folder holding intents/ and responses/")

    # Conversation state
    faqbot_state_url: str = "sqlite:///data/state.db"
    faqbot_state_idle_minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60, allow_inf_nan=False)
    faqbot_redis_pool_size: int = Field(default=32, ge=1, le=10_000)
    faqbot_redis_pool_wait_seconds: float = Field(default=5.0, gt=0, le=60, allow_inf_nan=False)

    # Flood limits: questions per member per minute (0 = no limit)
    faqbot_flood_group_per_minute: int = Field(default=3, ge=0, le=10_000)
    faqbot_flood_private_per_minute: int = Field(default=10, ge=0, le=10_000)

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    faqbot_group_auto_answer: bool = False
    faqbot_telegram_backlog: int = Field(default=10_000, ge=1, le=10_000_000)

    # WeChat Official Account
    wechat_token: SecretStr | None = None
    wechat_app_id: str | None = None
    wechat_aes_key: SecretStr | None = None

    # WeCom (企业微信) intelligent robot, API mode
    wecom_token: SecretStr | None = None
    wecom_aes_key: SecretStr | None = None
    wecom_bot_name: str | None = None

    # Review log (questions the bot could not answer, anonymised; see docs/review.md)
    faqbot_review: bool = True
    faqbot_review_days: int = Field(default=90, ge=1, le=3650)

    # HTTP server (faqbot serve)
    faqbot_http_request_timeout_seconds: float = Field(default=10.0, gt=0, le=600, allow_inf_nan=False)
    faqbot_http_keepalive_seconds: float = Field(default=5.0, gt=0, le=600, allow_inf_nan=False)
    faqbot_max_connections: int = Field(default=1000, ge=16, le=1_000_000)
    faqbot_stop_timeout_seconds: float = Field(default=20.0, ge=1, le=80, allow_inf_nan=False)

    # Logging
    faqbot_log_level: str = Field(default="INFO", pattern=r"(?i)^(debug|info|warning|error|critical)$")


def secret(value: SecretStr | None) -> str:
    """A secret setting's value without surrounding spaces; ``""`` when unset."""
    return value.get_secret_value().strip() if value is not None else ""

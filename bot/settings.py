"""Deployment settings, read from the environment (and a ``.env`` file when present).

Every setting is documented in ``.env.example``. Secrets are typed ``SecretStr`` so
that they never appear in logs or reprs.
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
    faqbot_state_idle_minutes: float = 30.0

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    faqbot_group_auto_answer: bool = False

    # WeChat Official Account
    wechat_token: SecretStr | None = None
    wechat_app_id: str | None = None
    wechat_aes_key: SecretStr | None = None

    # Review log (questions the bot could not answer, anonymised; see docs/review.md)
    faqbot_review: bool = True
    faqbot_review_days: int = Field(default=90, ge=1, le=3650)

    # Logging
    faqbot_log_level: str = "INFO"

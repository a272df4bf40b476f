"""Social-security-card FAQ bot: a bilingual engine with terminal, Telegram and WeChat channels."""

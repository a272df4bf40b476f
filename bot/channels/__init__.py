"""Messaging channels (Telegram, WeChat) that carry the engine's replies to users."""

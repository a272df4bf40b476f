"""The Telegram channel: private chats and group FAQ answers, by webhook or long polling.

The channel carries text between Telegram and :class:`bot.dialogue.Engine`; every answer,
follow-up question and notice comes from the engine. Split by job:

* :mod:`.config` — settings checks and the Bot API client;
* :mod:`.intake` — ``POST /telegram`` and polled updates: routed, stored in the inbox;
* :mod:`.routing` — what an update asks of the bot (only new messages and button presses);
* :mod:`.groups` — addressing in groups, button owners, auto-answers;
* :mod:`.handlers` — the flood check, the turn, the replies of one update;
* :mod:`.sending` — the outbox of an update, sent with retries;
* :mod:`.app` — the pieces assembled; ``faqbot run``.

Logs carry no message text and no chat or user id, only a keyed hash of a chat id
(:func:`bot.channels.common.ids.user_ref`).
"""

from bot.channels.telegram.app import TelegramChannel, run_polling
from bot.channels.telegram.config import ALLOWED_UPDATES

__all__ = ["ALLOWED_UPDATES", "TelegramChannel", "run_polling"]

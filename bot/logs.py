"""Logging for every command: structured lines, and secrets kept out of every line.

Lines are ``<event> key=value …`` (:func:`event`), the fields also attached to the record
as ``record.fields`` for JSON formatters. They carry no message text, no user or chat id
(channels pass a keyed hash, :mod:`bot.channels.common.ids`) and no secret.

The Bot API puts the token in every request URL, and ``httpx`` logs request URLs at
INFO level: that logger is turned down to WARNING, and a filter on the root handlers
replaces any configured secret that still shows up in a record with ``***``.
python-telegram-bot logs whole updates and request parameters (chat ids, users' messages)
at DEBUG level: its loggers are kept at INFO, even with ``FAQBOT_LOG_LEVEL=DEBUG``.
uvicorn's access log (request lines carry WeChat's query string: OpenIDs, signatures) is off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: Logger → the lowest level it may log at.
_NOISY_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "hpack": logging.INFO,
    "asyncio": logging.INFO,
}
_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Replaces secrets in a record's rendered message (and drops its arguments)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("faqbot.redact")
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "***")
        return True


class OncePerMinute(logging.Filter):
    """Lets a record with a given message through at most once a minute: a client sending
    garbage at a high rate must not flood the log with uvicorn's per-request warnings."""

    PERIOD_SECONDS = 60.0

    def __init__(self, messages: Iterable[str]) -> None:
        super().__init__("faqbot.once-per-minute")
        self.messages = frozenset(messages)
        self.last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in self.messages:
            return True
        now = time.monotonic()
        if now - self.last.get(str(record.msg), -self.PERIOD_SECONDS) < self.PERIOD_SECONDS:
            return False
        self.last[str(record.msg)] = now
        return True


_THROTTLED_UVICORN = OncePerMinute(["Invalid HTTP request received.", "Exceeded concurrency limit."])


def quiet_library_logs() -> None:
    """Keep ``httpx``/``httpcore`` request lines (which carry the bot token) out of INFO logs,
    and python-telegram-bot's DEBUG lines (which carry chat ids and messages) out of all logs."""
    for name, lowest in _NOISY_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level < lowest:
            logger.setLevel(lowest)
    uvicorn = logging.getLogger("uvicorn.error")
    if _THROTTLED_UVICORN not in uvicorn.filters:
        uvicorn.addFilter(_THROTTLED_UVICORN)


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Log to stderr at ``level`` (unless logging is already set up) and redact ``secrets``."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    quiet_library_logs()
    redactor = RedactingFilter(secrets)
    for handler in root.handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactingFilter)]
        handler.addFilter(redactor)


_repeats: dict[str, tuple[float, int]] = {}  # throttle key -> (when last logged, suppressed since)


def event(logger: logging.Logger, level: int, name: str, /, **fields: object) -> None:
    """One structured log line, ``name key=value …``; no message text or raw ids in ``fields``."""
    if logger.isEnabledFor(level):
        rendered = " ".join(f"{key}={value}" for key, value in fields.items())
        logger.log(level, "%s %s", name, rendered, extra={"fields": {"event": name, **fields}})


def event_once_a_minute(key: str, logger: logging.Logger, level: int, name: str, /, **fields: object) -> None:
    """:func:`event`, written at most once a minute per ``key`` (e.g. the event and its
    reason), with ``suppressed=N`` counting the lines left out meanwhile: requests anyone
    can send (unsigned, malformed) cannot flood the log."""
    now = time.monotonic()
    last, suppressed = _repeats.get(key, (-OncePerMinute.PERIOD_SECONDS, 0))
    if now - last < OncePerMinute.PERIOD_SECONDS:
        _repeats[key] = (last, suppressed + 1)
        return
    _repeats[key] = (now, 0)
    event(logger, level, name, **fields, **({"suppressed": suppressed} if suppressed else {}))

"""Prometheus metrics (``GET /metrics``), aggregated over all workers of ``faqbot serve``.

With ``--workers N`` every worker writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` (``faqbot serve`` creates a fresh folder for each run) and
whichever worker answers the scrape adds them up. Labels are channels, outcomes and error
classes only: no user, chat, message or intent text.

Turn results: ``answer`` (an intent answered, or a command), ``follow_up`` (the bot asked
for a detail), ``fallback`` (the engine was not sure what was asked — ``intent`` is
``None`` — and offered the topics, or "did you mean A or B?") and ``not_covered``
(recognised as outside the knowledge base: ``intent`` is ``None`` with confidence 0).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

from bot.messages import Turn

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TURNS = Counter("faqbot_turns", "Engine turns by channel and result.", ["channel", "result"])
TURN_SECONDS = Histogram("faqbot_turn_seconds", "Time of one engine turn.", ["channel"], buckets=_LATENCY_BUCKETS)
NOTICES = Counter("faqbot_notices", "Fixed notices sent instead of a turn.", ["channel", "notice"])
ERRORS = Counter("faqbot_errors", "Failures, by channel and kind.", ["channel", "kind"])
REQUESTS = Counter("faqbot_http_requests", "Webhook requests by route and status.", ["route", "status"])
REQUEST_SECONDS = Histogram(
    "faqbot_http_request_seconds", "Webhook request handling time.", ["route"], buckets=_LATENCY_BUCKETS
)
UPDATES = Counter("faqbot_telegram_updates", "Telegram updates by what became of them.", ["outcome"])
BACKLOG = Gauge("faqbot_telegram_backlog", "Telegram updates queued, as last seen.", multiprocess_mode="max")
CONNECTIONS_CLOSED = Counter("faqbot_http_connections_closed", "Connections the server closed itself.", ["reason"])


def turn_result(turn: Turn) -> str:
    """``answer``, ``follow_up``, ``fallback`` or ``not_covered`` (see the module docstring)."""
    if turn.intent is None:
        return "not_covered" if turn.confidence == 0.0 else "fallback"
    return "follow_up" if turn.awaiting is not None else "answer"


def observe_turn(channel: str, turn: Turn, seconds: float) -> None:
    _child(TURNS, channel, turn_result(turn)).inc()
    _child(TURN_SECONDS, channel).observe(seconds)


_children: dict[tuple[object, ...], Any] = {}


def _child(metric: Counter | Histogram, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once (it is on every request's path)."""
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def render() -> tuple[bytes, str]:
    """The exposition text (all workers' metrics in multi-process mode) and its content type."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def worker_stopped(pid: int) -> None:
    """Forget a stopped worker's live gauges (multi-process mode)."""
    if os.environ.get(MULTIPROCESS_ENV):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]

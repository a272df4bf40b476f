"""Token-bucket arithmetic for the stores that run it in Python (memory, SQLite).

The Redis store runs the same rule in a Lua script (:mod:`bot.state.redis_scripts`), so
that all workers draw from one bucket atomically.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.state.interfaces import Admission


@dataclass(frozen=True)
class Bucket:
    """A bucket's state: tokens left at ``at`` (Unix seconds), and whether the refusal
    notice has been given since the last allowed take."""

    tokens: float
    at: float
    noticed: bool = False


def take_token(bucket: Bucket | None, now: float, capacity: int, per_seconds: float) -> tuple[Admission, Bucket]:
    """Refill ``bucket`` up to ``now`` and take one token: the decision and the new state."""
    rate = capacity / per_seconds
    if bucket is None:
        bucket = Bucket(float(capacity), now)
    tokens = min(float(capacity), bucket.tokens + max(0.0, now - bucket.at) * rate)
    if tokens >= 1.0:
        return Admission.ALLOWED, Bucket(tokens - 1.0, now)
    if bucket.noticed:
        return Admission.REFUSED, Bucket(tokens, now, True)
    return Admission.REFUSED_NOTIFY, Bucket(tokens, now, True)


def refill_seconds(bucket: Bucket, capacity: int, per_seconds: float) -> float:
    """How long until ``bucket`` is full again (its state may be forgotten then)."""
    return max(0.0, capacity - bucket.tokens) * per_seconds / capacity + 1.0

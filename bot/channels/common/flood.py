"""Per-member flood limits: a token bucket per (chat, member) in the shared token store.

In groups the default is 3 questions per member per minute: a member who asks more gets
one short notice and is then ignored until the bucket refills, while everyone else is
answered as usual. Private chats have a limit of their own (10 a minute by default), so
that one person's hundreds of messages cannot hold up the others. The buckets live in the
state store, so all workers count together.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from bot.state import Admission, TokenStore, keys

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class FloodLimits:
    """Questions per member per minute; 0 turns a limit off."""

    group_per_minute: int = 3
    private_per_minute: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> FloodLimits:
        return cls(settings.faqbot_flood_group_per_minute, settings.faqbot_flood_private_per_minute)


class FloodGuard:
    """Decides, before the engine, whether a member's message is answered."""

    def __init__(self, tokens: TokenStore, limits: FloodLimits) -> None:
        self.tokens = tokens
        self.limits = limits

    async def admit(self, conversation: str, *, group: bool) -> Admission:
        """Take one question from the bucket of ``conversation`` (a member of one chat)."""
        per_minute = self.limits.group_per_minute if group else self.limits.private_per_minute
        if per_minute <= 0:
            return Admission.ALLOWED
        return await self.tokens.take(keys.flood_bucket(conversation), per_minute, WINDOW_SECONDS)

"""``faqbot review``: what an operator reads weekly.

Misunderstood messages (fallbacks, not-covered answers, "did you mean", re-asked
follow-ups, low-confidence answers, 👎) are grouped by similarity with rapidfuzz, largest
group first; each group shows how often it came, a few of its texts, the bot's best
guesses and what people picked when asked "did you mean". Votes are counted per topic
(the last vote on each answer).
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot.review.entry import REVIEWED, ReviewEntry

SIMILAR = 72.0
"""rapidfuzz ratio (0-100) at which two messages belong to one group."""
EXAMPLES = 3
"""Texts shown per group."""

_DURATION = re.compile(r"^(\d+)\s*([hdw])$")
_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def since_of(text: str, now: float | None = None) -> float:
    """``"7d"``, ``"24h"``, ``"2w"`` → the Unix time that long ago; ``ValueError`` otherwise."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ValueError(f"not a duration like 7d, 24h or 2w: {text!r}")
    return (now or time.time()) - int(match.group(1)) * _SECONDS[match.group(2)]


@dataclass
class Group:
    """Similar misunderstood messages."""

    texts: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    guesses: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    picked: Counter[str] = field(default_factory=Counter)
    refs: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.texts)

    def add(self, entry: ReviewEntry) -> None:
        self.texts.append(entry.text)
        self.outcomes[entry.outcome] += 1
        for intent, probability in entry.guesses:
            self.guesses[intent] += probability
        if entry.intent and entry.outcome in ("down", "low_confidence"):
            self.guesses[entry.intent] += 1.0
        if entry.ref:
            self.refs.add(entry.ref)

    def best_guesses(self) -> list[tuple[str, float]]:
        ranked = sorted(self.guesses.items(), key=lambda item: -item[1])[:3]
        return [(intent, round(total / self.count, 3)) for intent, total in ranked]

    def suggestion(self) -> str:
        """The intent these texts most likely belong to: what people picked; else what the bot
        declined them as (not covered, out of scope) when that is what most got; else its best guess."""
        if self.picked:
            return self.picked.most_common(1)[0][0]
        for outcome, intent in (("not_covered", "not_covered"), ("fallback", "out_of_scope")):
            if self.outcomes[outcome] * 2 >= self.count:
                return intent
        guesses = self.best_guesses()
        return guesses[0][0] if guesses else "out_of_scope"

    def as_dict(self) -> dict[str, Any]:
        distinct = list(dict.fromkeys(self.texts))
        return {
            "count": self.count,
            "examples": distinct[:EXAMPLES],
            "texts": distinct,
            "outcomes": dict(self.outcomes),
            "guesses": self.best_guesses(),
            "picked": dict(self.picked),
            "suggested_intent": self.suggestion(),
        }


def group_entries(entries: list[ReviewEntry]) -> list[Group]:
    """Misunderstood messages grouped by similarity, largest group first."""
    groups: list[tuple[str, Group]] = []
    picks = {e.ref: e.intent for e in entries if e.outcome == "picked" and e.ref and e.intent}
    last_votes = _last_votes(entries)
    for entry in entries:
        if entry.outcome not in REVIEWED or not entry.text:
            continue
        if entry.outcome == "down" and last_votes.get(entry.ref or "") is not entry:
            continue  # the vote was changed since
        home = next((g for head, g in groups if fuzz.ratio(head, entry.text) >= SIMILAR), None)
        if home is None:
            home = Group()
            groups.append((entry.text, home))
        home.add(entry)
    for _, group in groups:
        group.picked.update(picks[ref] for ref in group.refs if ref in picks)
    return sorted((g for _, g in groups), key=lambda g: -g.count)


def _last_votes(entries: list[ReviewEntry]) -> dict[str, ReviewEntry]:
    last: dict[str, ReviewEntry] = {}
    for entry in entries:
        if entry.outcome in ("up", "down") and entry.ref:
            last[entry.ref] = entry
    return last


def votes(entries: list[ReviewEntry]) -> dict[str, dict[str, int]]:
    """👍 and 👎 per topic, counting only the last vote on each answer."""
    last = _last_votes(entries)
    tally: dict[str, dict[str, int]] = defaultdict(lambda: {"up": 0, "down": 0})
    for entry in last.values():
        tally[entry.intent or "?"][entry.outcome] += 1
    return dict(sorted(tally.items()))


def review(entries: list[ReviewEntry]) -> dict[str, Any]:
    """The whole review as data (``faqbot review --json``)."""
    return {
        "entries": len(entries),
        "groups": [group.as_dict() for group in group_entries(entries)],
        "votes": votes(entries),
    }


def format_review(data: dict[str, Any], *, limit: int = 30) -> str:
    """The review for a person: groups first, votes last."""
    lines = [f"{data['entries']} entries; {len(data['groups'])} groups of misunderstood messages"]
    for number, group in enumerate(data["groups"][:limit], start=1):
        outcomes = ", ".join(f"{name} {count}" for name, count in group["outcomes"].items())
        guesses = ", ".join(f"{intent} {p:.2f}" for intent, p in group["guesses"]) or "none"
        lines.append(f"\n#{number} ×{group['count']} ({outcomes}) → suggested: {group['suggested_intent']}")
        lines += [f"    “{text}”" for text in group["examples"]]
        lines.append(f"    best guesses: {guesses}")
        if group["picked"]:
            lines.append("    people picked: " + ", ".join(f"{k} {v}" for k, v in group["picked"].items()))
    if len(data["groups"]) > limit:
        lines.append(f"\n… {len(data['groups']) - limit} more groups (see --json)")
    if data["votes"]:
        lines.append("\nvotes per topic (last vote on each answer):")
        lines += [f"    {intent:22} 👍 {v['up']:>4}   👎 {v['down']:>4}" for intent, v in data["votes"].items()]
    return "\n".join(lines)

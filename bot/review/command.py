"""``faqbot review``: the review, and its export, apply and purge actions."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from bot.app import ConfigurationError, open_state
from bot.dialogue.engine import CHINA
from bot.knowledge import KnowledgeError
from bot.review.entry import ReviewEntry
from bot.review.log import review_log_for
from bot.review.report import format_review, review, since_of
from bot.settings import PROJECT_ROOT, Settings

EXIT_USAGE = 2


def run_review(args: argparse.Namespace, settings: Settings) -> int:
    """Run the review command; the exit code (2 for a usage problem, 1 when --apply refuses)."""
    if args.apply:
        return _apply(Path(args.apply), settings, force=args.force)
    try:
        since = since_of(args.since)
    except ValueError as error:
        print(f"faqbot review: {error}", file=sys.stderr)
        return EXIT_USAGE

    async def read() -> tuple[int | None, list[ReviewEntry]]:
        store = await open_state(settings)
        log = review_log_for(store, settings.faqbot_review_days)
        try:
            if args.purge:
                before = datetime.combine(args.before, datetime.min.time(), CHINA).timestamp() if args.before else None
                return await log.purge(before), []
            return None, await log.entries(since)
        finally:
            await store.close()

    try:
        purged, entries = asyncio.run(read())
    except ConfigurationError as error:
        print(f"faqbot review: {error}", file=sys.stderr)
        return EXIT_USAGE
    if purged is not None:
        print(f"deleted {purged} review entries")
        return 0
    data = review(entries)
    if args.export:
        from bot.review.apply import export

        written = export(data["groups"], Path(args.export))
        print(f"wrote {written} groups to {args.export}: set each group's intent (or skip), then --apply it")
        return 0
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_review(data))
    return 0


def _apply(path: Path, settings: Settings, *, force: bool) -> int:
    from bot.review.apply import GuardSets, apply

    try:
        applied = apply(settings.faqbot_kb_dir, path, GuardSets.default(PROJECT_ROOT), force=force)
    except (OSError, ValueError) as error:
        print(f"faqbot review: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KnowledgeError as error:
        print("faqbot review: the changed knowledge base is invalid; nothing written:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    print("guard (before → after):")
    for name, figure in applied.before.items():
        after = len(applied.after[name].right) if name in applied.after else 0
        mark = "  worse" if name in applied.worse else ""
        print(f"  {name:36} {len(figure.right):>4}/{figure.total:<4} → {after:>4}/{figure.total:<4}{mark}")
    added = ", ".join(f"{name} +{count}" for name, count in applied.added.items()) or "nothing new"
    if applied.written:
        print(f"added: {added}" + (" (forced despite a worse figure)" if applied.worse else ""))
        return 0
    if not applied.added:
        print("nothing to add: every text is already an example")
        return 0
    print(f"refused: {len(applied.worse)} figure(s) worse; nothing written (--force to write anyway)")
    return 1

"""The ``faqbot`` command line: local chat, classification, evaluation, checks, and the servers.

The output formats of ``chat --json``, ``classify`` and ``eval --json`` are a contract other
tools depend on; keep them stable.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from bot.app import ConfigurationError, describe, load_settings
from bot.dialogue import Engine
from bot.knowledge import KnowledgeError, load_knowledge
from bot.messages import Command, Turn
from bot.settings import Settings

EXIT_USAGE = 2

_TERMINAL_COMMANDS = {"/start": Command.START, "/help": Command.HELP, "/cancel": Command.CANCEL}
"""The terminal's slash commands (any other text is a message)."""


def _iso_date(value: str) -> date:
    """argparse type for ``--today``: a clear usage error instead of a traceback."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in the form YYYY-MM-DD: {value!r}") from None


def _today(fixed: date | None) -> Callable[[], date]:
    return (lambda: fixed) if fixed else date.today


def _engine(args: argparse.Namespace) -> Engine:
    from bot.runtime import build_engine

    return build_engine(Settings(), today=_today(getattr(args, "today", None)))


def _lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\n")


def _print_turn(turn: Turn) -> None:
    for reply in turn.replies:
        print(reply.text)
        for number, choice in enumerate(reply.choices, start=1):
            print(f"  [{number}] {choice}")
    print()


def _chat(args: argparse.Namespace) -> int:
    engine = _engine(args)
    interactive = sys.stdin.isatty() and not args.json

    async def converse() -> None:
        if interactive:
            print("faqbot — ask about activating your social security card (社保卡). Ctrl-D to leave.\n")
        while True:
            if interactive:
                try:
                    text = await asyncio.to_thread(input, "> ")
                except EOFError:
                    print()
                    return
            else:
                text = sys.stdin.readline()
                if not text:
                    return
                text = text.rstrip("\n")
            turn = await engine.handle("terminal", _TERMINAL_COMMANDS.get(text.strip().lower(), text))
            if args.json:
                print(json.dumps(turn.as_json(text), ensure_ascii=False), flush=True)
            else:
                _print_turn(turn)

    asyncio.run(converse())
    return 0


def _classify(args: argparse.Namespace) -> int:
    engine = _engine(args)
    for text in args.text or _lines():
        print(json.dumps(engine.classify(text), ensure_ascii=False), flush=True)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from bot.evaluation import evaluate, format_report

    engine = _engine(args)
    try:
        report = evaluate(engine, Path(args.file))
    except (OSError, ValueError) as error:
        print(f"faqbot eval: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = Settings()
    knowledge = load_knowledge(settings.faqbot_kb_dir)
    examples = len(knowledge.examples)
    print(
        f"knowledge base OK: {len(knowledge.intents)} intents, {examples} examples, {len(knowledge.lexicon)} concepts"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot.channels.telegram import run_polling

    return run_polling(load_settings())


def _serve(args: argparse.Namespace) -> int:
    from bot.server import serve

    return serve(load_settings(), host=args.host, port=args.port, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and shell completion)."""
    parser = argparse.ArgumentParser(
        prog="faqbot", description="Social-security-card activation FAQ bot (社保卡激活问答)."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", help="chat in the terminal (no token, no network)")
    chat.add_argument("--json", action="store_true", help="one JSON object per input line")
    chat.add_argument("--today", metavar="YYYY-MM-DD", type=_iso_date, help="fix today's date (for deadlines)")
    chat.set_defaults(func=_chat)

    classify = commands.add_parser("classify", help="print intent, confidence, language and slots per line")
    classify.add_argument("text", nargs="*", help="messages (default: read lines from standard input)")
    classify.add_argument("--today", metavar="YYYY-MM-DD", type=_iso_date, help="fix today's date (for relative dates)")
    classify.set_defaults(func=_classify)

    evaluate = commands.add_parser("eval", help="measure accuracy on a labelled JSONL file")
    evaluate.add_argument("file", help="JSONL with text, intents, lang and optional slots")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--today", metavar="YYYY-MM-DD", type=_iso_date, help="fix today's date (for relative dates)")
    evaluate.set_defaults(func=_eval)

    check = commands.add_parser("check", help="validate intents/ and responses/")
    check.set_defaults(func=_check)

    run = commands.add_parser("run", help="serve Telegram by long polling")
    run.set_defaults(func=_run)

    serve = commands.add_parser("serve", help="serve webhooks (Telegram, WeChat) over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (share state through Redis)")
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``faqbot`` console script."""
    _tolerant_input()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KnowledgeError as error:
        print(f"faqbot: the knowledge base is invalid ({len(error.problems)} problem(s)):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigurationError, ValidationError) as error:
        reason = describe(error) if isinstance(error, ValidationError) else str(error)
        print(f"faqbot {args.command}: {reason}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _tolerant_input() -> None:
    """Undecodable input (invalid UTF-8 on stdin, stray bytes in arguments) becomes U+FFFD
    instead of a traceback that skips the remaining lines."""
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="replace")
    sys.argv[1:] = [arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for arg in sys.argv[1:]]


if __name__ == "__main__":
    sys.exit(main())

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
from bot.knowledge import KnowledgeError
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
    from bot.dialogue import china_today

    return (lambda: fixed) if fixed else china_today


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


def _clocked_engine(args: argparse.Namespace) -> tuple[Engine, list[date]]:
    """An engine in memory whose today is ``clock[0]`` (evaluation lines and tests set their own)."""
    from bot.dialogue import china_today
    from bot.runtime import build_engine

    clock = [args.today or china_today()]
    return build_engine(Settings(), today=lambda: clock[0]), clock


def _eval(args: argparse.Namespace) -> int:
    from bot.evaluation.answers import evaluate_answers, format_answers_report
    from bot.evaluation.questions import evaluate, format_report

    engine, clock = _clocked_engine(args)
    path = Path(args.file)
    try:
        if _is_answers_file(path):
            answers = asyncio.run(evaluate_answers(engine, clock, path.read_text(encoding="utf-8").splitlines(), path))
            data, text = answers.as_dict(), format_answers_report(answers)
        else:
            report = evaluate(engine, path, clock)
            data, text = report.as_dict(), format_report(report)
    except (OSError, ValueError) as error:
        print(f"faqbot eval: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else text)
    return 0


def _is_answers_file(path: Path) -> bool:
    """Whether ``path`` holds answers to follow-up questions (``ask``/``answer``) rather than questions."""
    with path.open(encoding="utf-8") as lines:
        first = next((line for line in lines if line.strip()), "{}")
    try:
        row = json.loads(first)
    except ValueError:
        return False
    return isinstance(row, dict) and "answer" in row and "ask" in row


def _test(args: argparse.Namespace) -> int:
    from bot.evaluation.conversations import format_outcome, load_conversations, run_conversations

    paths = _conversation_files([Path(p) for p in args.paths])
    try:
        conversations = [conversation for path in paths for conversation in load_conversations(path)]
    except (OSError, ValueError) as error:
        print(f"faqbot test: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not conversations:
        print("faqbot test: no conversations found", file=sys.stderr)
        return EXIT_USAGE
    engine, clock = _clocked_engine(args)
    outcome = asyncio.run(run_conversations(engine, clock, conversations))
    print(format_outcome(outcome, paths))
    return 1 if outcome.failures else 0


def _conversation_files(paths: list[Path]) -> list[Path]:
    """The files named, and the ``*.yaml``/``*.yml``/``*.json`` files inside folders named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")))
        else:
            files.append(path)
    return files


def _review(args: argparse.Namespace) -> int:
    from bot.review.command import run_review

    return run_review(args, Settings())


def _check(args: argparse.Namespace) -> int:
    from bot.knowledge import load_knowledge

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
    _add_understanding_commands(commands)
    _add_review_command(commands)
    _add_serving_commands(commands)
    return parser


def _today_option(command: argparse.ArgumentParser, what: str) -> None:
    """``--today``: deadlines and relative dates depend on the day, so every command that
    reads dates can be pinned to one (tests, reproducible evaluations)."""
    command.add_argument("--today", metavar="YYYY-MM-DD", type=_iso_date, help=f"fix today's date ({what})")


def _add_understanding_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands that talk to the engine directly: chat, classify, eval, test."""
    chat = commands.add_parser("chat", help="chat in the terminal (no token, no network)")
    chat.add_argument("--json", action="store_true", help="one JSON object per input line")
    _today_option(chat, "for deadlines")
    chat.set_defaults(func=_chat)

    classify = commands.add_parser("classify", help="print intent, confidence, language and slots per line")
    classify.add_argument("text", nargs="*", help="messages (default: read lines from standard input)")
    _today_option(classify, "for relative dates")
    classify.set_defaults(func=_classify)

    evaluate = commands.add_parser("eval", help="measure understanding on a labelled JSONL file")
    evaluate.add_argument(
        "file", help="JSONL of questions (text, intents, lang, slots) or of answers to follow-ups (ask, answer, expect)"
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    _today_option(evaluate, "for relative dates")
    evaluate.set_defaults(func=_eval)

    test = commands.add_parser("test", help="run conversation tests (YAML): exit 1 when any turn fails")
    test.add_argument("paths", nargs="+", help="conversation files, or folders holding them")
    _today_option(test, "for conversations without one")
    test.set_defaults(func=_test)


def _add_review_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``faqbot review``: show, export, apply or purge what the bot did not understand."""
    review = commands.add_parser("review", help="misunderstood questions, grouped; export, apply, purge")
    review.add_argument("--since", default="7d", help="how far back: 7d, 24h, 2w (default 7d)")
    review.add_argument("--json", action="store_true", help="print the review as JSON")
    action = review.add_mutually_exclusive_group()
    action.add_argument("--export", metavar="FILE", help="write the groups with a suggested intent each, to edit")
    action.add_argument(
        "--apply", metavar="FILE", help="add an edited export's texts to intents/, if nothing gets worse"
    )
    action.add_argument("--purge", action="store_true", help="delete entries (all, or --before DATE)")
    review.add_argument(
        "--force", action="store_true", help="with --apply: write even if the guard finds something worse"
    )
    review.add_argument(
        "--before", metavar="YYYY-MM-DD", type=_iso_date, help="with --purge: only entries before this day"
    )
    review.set_defaults(func=_review)


def _add_serving_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands for running the bot: check the content, poll Telegram, serve webhooks."""
    check = commands.add_parser("check", help="validate intents/ and responses/")
    check.set_defaults(func=_check)

    run = commands.add_parser("run", help="serve Telegram by long polling")
    run.set_defaults(func=_run)

    serve = commands.add_parser("serve", help="serve webhooks (Telegram, WeChat) over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (share state through Redis)")
    serve.set_defaults(func=_serve)


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

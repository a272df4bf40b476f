"""The ``faqbot`` command line (PLACEHOLDER: chat/classify/eval/check being written by the core issue)."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from bot.channels.telegram import run_polling
    from bot.settings import Settings

    return run_polling(Settings())


def _serve(args: argparse.Namespace) -> int:
    from bot.settings import Settings
    from bot.web import serve

    return serve(Settings(), host=args.host, port=args.port, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faqbot")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve Telegram by long polling")
    run.set_defaults(func=_run)
    serve = commands.add_parser("serve", help="serve webhooks (Telegram, WeChat) over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

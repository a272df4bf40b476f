"""``faqbot run`` and ``faqbot serve`` as real subprocesses: one-line configuration errors
with exit code 2, a polling bot and a two-worker webhook server against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram.config import SECRET_HEADER
from devtools.processes import free_port
from tests.fake_telegram import FakeTelegram

SECRET = "cli-webhook-secret"
BAD_TOKENS = ["123:abc", "not-a-token", "123456789:" + "A" * 29, "abc:" + "A" * 35, "123456789:" + "A" * 34 + "!"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_", "FAQBOT_"))}
    env["FAQBOT_STATE_URL"] = "memory://"
    env.update(extra)
    return env


def faqbot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for secret in secrets:
        assert secret not in result.stderr


def test_run_without_a_token(tmp_path: Path) -> None:
    result = faqbot(tmp_path, "run")
    assert_one_line_error(result)
    assert "TELEGRAM_BOT_TOKEN" in result.stderr


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_run_with_a_malformed_token(tmp_path: Path, token: str) -> None:
    result = faqbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=token)
    assert_one_line_error(result, token)
    assert "malformed" in result.stderr


def test_serve_with_nothing_configured(tmp_path: Path) -> None:
    result = faqbot(tmp_path, "serve")
    assert_one_line_error(result)
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "WECHAT_TOKEN" in result.stderr


def test_serve_with_bad_settings(tmp_path: Path) -> None:
    assert_one_line_error(faqbot(tmp_path, "serve", TELEGRAM_BOT_TOKEN="123:abc"), "123:abc")
    good = FakeTelegram().token
    assert_one_line_error(
        faqbot(tmp_path, "serve", TELEGRAM_BOT_TOKEN=good, TELEGRAM_WEBHOOK_SECRET="no spaces allowed"), good
    )
    assert_one_line_error(
        faqbot(
            tmp_path, "serve", TELEGRAM_BOT_TOKEN=good, TELEGRAM_WEBHOOK_SECRET=SECRET, FAQBOT_STATE_URL="nosuch://x"
        ),
        good,
        SECRET,
    )


@pytest.mark.parametrize("secret", [None, ""])
def test_serve_refuses_the_telegram_webhook_without_a_secret(tmp_path: Path, secret: str | None) -> None:
    good = FakeTelegram().token
    env = {"TELEGRAM_BOT_TOKEN": good} | ({"TELEGRAM_WEBHOOK_SECRET": secret} if secret is not None else {})
    result = faqbot(tmp_path, "serve", "--port", str(free_port()), **env)
    assert_one_line_error(result, good)
    assert result.stderr.startswith("faqbot serve: TELEGRAM_WEBHOOK_SECRET is required for the webhook: ")


async def start(cwd: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=clean_env(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_with_a_token_telegram_rejects(tmp_path: Path, fake: FakeTelegram) -> None:
    wrong = "987654321:" + "B" * 35
    process = await start(tmp_path, "run", TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_BASE_URL=fake.base_url)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2, err
    assert err.decode().strip().splitlines() == [err.decode().strip()] and "rejected" in err.decode()
    assert wrong.encode() not in out + err


async def test_run_when_the_bot_api_is_unreachable(tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/bot"
    process = await start(tmp_path, "run", TELEGRAM_BOT_TOKEN=FakeTelegram().token, TELEGRAM_BASE_URL=unreachable)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, err
    assert out == b"" and err.decode().startswith("faqbot run: cannot reach the Telegram Bot API (")
    assert len(err.decode().splitlines()) == 1 and b"Traceback" not in err


async def test_run_polls_answers_and_stops_cleanly(tmp_path: Path, fake: FakeTelegram) -> None:
    process = await start(
        tmp_path, "run", TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_BASE_URL=fake.base_url, FAQBOT_LOG_LEVEL="DEBUG"
    )
    try:
        user = fake.user(5_001_736_942, "Zebulon", language_code="zh")
        chat = fake.private_chat(user)
        await fake.wait_calls("getUpdates", 1, timeout=30)
        await fake.enqueue(fake.text_update(chat, user, "/start"))
        sent = await fake.wait_sent(chat["id"], 1, timeout=30)
        await fake.enqueue(fake.text_update(chat, user, "社保卡怎么激活"))
        await fake.wait_sent(chat["id"], 2, timeout=30)
        assert sent[0]["reply_markup"]["inline_keyboard"]
        (polled,) = {tuple(c.params["allowed_updates"]) for c in fake.calls_of("getUpdates")}
        assert polled == ("message", "callback_query")
    finally:
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert fake.token.encode() not in out + err
    assert fake.token.split(":")[1].encode() not in out + err
    assert b"Traceback" not in err
    # Even at DEBUG: no chat id, name or message text (python-telegram-bot logs whole updates).
    assert b"5001736942" not in err and b"Zebulon" not in err and "社保卡怎么激活".encode() not in err
    assert b"telegram.polling_started" in err and b"telegram.polling_stopped" in err  # INFO lines are kept


async def test_serve_refuses_several_workers_without_a_shared_store(tmp_path: Path, fake: FakeTelegram) -> None:
    process = await start(
        tmp_path,
        "serve",
        "--port",
        str(free_port()),
        "--workers",
        "2",
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_BASE_URL=fake.base_url,
        FAQBOT_STATE_URL="sqlite:///state.db",
    )
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert len(err.decode().strip().splitlines()) == 1 and "redis" in err.decode()
    assert b"Traceback" not in err


async def test_serve_with_two_workers(tmp_path: Path, fake: FakeTelegram, redis_url: str) -> None:
    port = free_port()
    secret = "two-workers-secret"
    process = await start(
        tmp_path,
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        FAQBOT_STATE_URL=redis_url,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        TELEGRAM_WEBHOOK_URL="https://faq.example.com/telegram",
        TELEGRAM_WEBHOOK_SECRET=secret,
    )
    try:
        await fake.wait_calls("setWebhook", 2, timeout=40)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "serve did not come up"
                await asyncio.sleep(0.2)
            user = fake.user(5101, language_code="en")
            chat = fake.private_chat(user)
            update = fake.text_update(chat, user, "/start")
            refused = await client.post("/telegram", json=update)
            assert refused.status_code == 403
            accepted = await client.post("/telegram", json=update, headers={SECRET_HEADER: secret})
            assert accepted.status_code == 200
            await fake.wait_sent(chat["id"], 1, timeout=20)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 40)
    assert process.returncode == 0, err.decode()[-2000:]
    assert fake.token.encode() not in out + err
    assert secret.encode() not in out + err

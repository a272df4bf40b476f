"""Bad input of every kind ends in a clear answer, never a traceback (issue 10, cases 9 and
12), and the operational output — logs, metrics — stays bounded and carries no personal data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram.config import SECRET_HEADER
from bot.web import create_app
from devtools.processes import PROJECT_ROOT, serve_env
from tests.conftest import MakeEngine
from tests.fake_telegram import FakeTelegram, make_settings
from tests.support import uvicorn_in_loop
from tests.test_wechat_peer import TOKEN, WeChatPeer, settings

BAD_SETTINGS = [
    ("FAQBOT_STATE_IDLE_MINUTES", "abc"),
    ("FAQBOT_STATE_IDLE_MINUTES", "nan"),
    ("FAQBOT_STATE_IDLE_MINUTES", "inf"),
    ("FAQBOT_STATE_IDLE_MINUTES", "-5"),
    ("FAQBOT_GROUP_AUTO_ANSWER", "maybe"),
    ("FAQBOT_REDIS_POOL_SIZE", "0"),
    ("FAQBOT_HTTP_REQUEST_TIMEOUT_SECONDS", "-inf"),
    ("FAQBOT_LOG_LEVEL", "LOUD"),
]


def faqbot(cwd: Path, *args: str, stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, cwd=cwd,
        env=serve_env({"FAQBOT_STATE_URL": "memory://", **env}), timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_a_malformed_setting_is_one_line_and_exit_2(tmp_path: Path, name: str, value: str) -> None:
    """Issue 10, case 12: a pydantic traceback and exit 1; ``nan`` was even accepted."""
    result = faqbot(tmp_path, "serve", WECHAT_TOKEN=TOKEN, **{name: value})
    assert result.returncode == 2
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith(f"faqbot serve: {name}: ") and "Traceback" not in line


def test_a_malformed_setting_stops_the_other_commands_too(tmp_path: Path) -> None:
    result = faqbot(tmp_path, "chat", "--json", stdin="社保卡怎么激活\n".encode(), FAQBOT_STATE_IDLE_MINUTES="nan")
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode().startswith("faqbot chat: FAQBOT_STATE_IDLE_MINUTES: ")


def test_secret_values_are_never_echoed(tmp_path: Path) -> None:
    result = faqbot(tmp_path, "serve", WECHAT_TOKEN=TOKEN, WECHAT_AES_KEY="s3cret-but-malformed")
    assert result.returncode == 2 and b"s3cret" not in result.stderr


@pytest.mark.parametrize("command", [("classify",), ("chat", "--json")])
def test_invalid_utf8_on_stdin_is_replaced_not_fatal(tmp_path: Path, command: tuple[str, ...]) -> None:
    """Issue 10, case 9: invalid UTF-8 killed ``faqbot chat``/``classify`` and skipped the rest."""
    stdin = b"\xff\xfe\xfa broken\n" + "社保卡\udcff怎么激活\n".encode("utf-8", "surrogatepass") + "在哪激活\n".encode()
    result = faqbot(tmp_path, *command, stdin=stdin)
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(lines) == 3 and "Traceback" not in result.stderr.decode()


def test_undecodable_arguments_are_replaced_not_fatal(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "classify", b"\xff\xfe".decode("utf-8", "surrogateescape"), "社保卡怎么激活"],
        capture_output=True, cwd=tmp_path, env=serve_env({}), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert len(result.stdout.decode().splitlines()) == 2


async def test_a_client_that_disconnects_mid_body_is_not_an_error(
    fake: FakeTelegram, make_engine: MakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10, case 9: client disconnects were logged as errors."""
    caplog.set_level(logging.INFO)
    config = make_settings(fake, telegram_webhook_secret="s3cret-hygiene")
    app = create_app(config, engine=make_engine())
    async with uvicorn_in_loop(app) as (base_url, _):
        port = int(base_url.rsplit(":", 1)[1])
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                head = f"POST /telegram HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: s3cret-hygiene\r\nContent-Length: 900\r\n\r\n"
                sock.sendall(head.encode() + b'{"update_id": 1, "mess')
            await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/healthz")).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


EMFILE_SERVER = """
import asyncio, logging, resource, socket, sys
from bot.server import install_accept_error_throttle

async def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    loop = asyncio.get_running_loop()
    install_accept_error_throttle(loop)
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    hoard = []
    try:
        while True:
            hoard.append(socket.socket())  # use up every descriptor
    except OSError:
        pass
    await asyncio.sleep(float(sys.argv[1]))

asyncio.run(main())
"""


def test_running_out_of_file_descriptors_is_logged_once_a_minute() -> None:
    """Issue 10, case 6: 504 MB of EMFILE tracebacks in a minute."""
    child = subprocess.Popen(
        [sys.executable, "-c", EMFILE_SERVER, "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    port = int(child.stdout.readline())
    clients = []
    for _ in range(40):  # each one makes asyncio's accept fail with EMFILE
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect_ex(("127.0.0.1", port))
        finally:
            clients.append(sock)
    _, err = child.communicate(timeout=30)
    for sock in clients:
        sock.close()
    assert err.count("http.accept_failed error=EMFILE") == 1, err[-2000:]
    assert "Traceback" not in err


async def test_metrics_count_turns_without_personal_data(make_engine: MakeEngine) -> None:
    from bot.state import MemoryStore

    store = MemoryStore()
    app = create_app(settings(), engine=make_engine(store), store=store)
    async with uvicorn_in_loop(app) as (base_url, _), httpx.AsyncClient(base_url=base_url) as client:
        before = await client.get("/metrics")
        peer = WeChatPeer(client)
        await peer.text("oMetricsUser0001", "社保卡怎么激活")
        await peer.text("oMetricsUser0001", "我想问问明天天气怎么样")
        after = (await client.get("/metrics")).text
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")

    def value(text: str, series: str) -> float:
        found = re.search(re.escape(series) + r" ([0-9.e+]+)", text)
        return float(found.group(1)) if found else 0.0

    for series in (
        'faqbot_turns_total{channel="wechat",result="answer"}',
        'faqbot_http_requests_total{route="/wechat",status="200"}',
    ):
        assert value(after, series) - value(before.text, series) >= 1, series
    assert "oMetricsUser0001" not in after and "社保卡" not in after and "天气" not in after

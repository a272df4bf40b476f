"""Shared pytest fixtures.

``redis_server`` starts one real ``redis-server`` per test session (loopback only, no
persistence, throw-away directory): the Redis store and the multi-worker tests must
run against the real thing, not a fake whose semantics drift. It is never skipped:
a missing ``redis-server`` fails the run with a message saying what to install.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_START_ATTEMPTS = 3
REDIS_START_SECONDS = 10.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (may be taken again later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on a free port; retry on another port if it was snatched."""
    log = workdir / "redis.log"
    for _ in range(REDIS_START_ATTEMPTS):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--daemonize", "no", "--logfile", str(log), "--loglevel", "warning"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + REDIS_START_SECONDS
        while time.monotonic() < deadline and proc.poll() is None:
            if _pings(port):
                return proc, port
            time.sleep(0.05)
        _stop(proc)
    tail = log.read_text(errors="replace")[-500:] if log.exists() else "(no log)"
    pytest.fail(f"redis-server did not answer PING after {REDIS_START_ATTEMPTS} attempts; log tail:\n{tail}", pytrace=False)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (``redis://127.0.0.1:<port>/0``) of a real redis-server shared by the session.

    Set ``REDIS_SERVER`` to use a binary that is not on ``PATH``.
    """
    binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not binary:
        pytest.fail(
            "redis-server is not on PATH: install it (e.g. `apt-get install redis-server`) "
            "or point REDIS_SERVER at the binary; the Redis store tests need a real server",
            pytrace=False,
        )
    proc, port = _start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis URL, with database 0 emptied first so each test starts clean."""
    import redis

    client = redis.Redis.from_url(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server

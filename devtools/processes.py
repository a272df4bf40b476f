"""Real ``faqbot serve`` and ``redis-server`` processes on free loopback ports, for the tests
and the benchmarks.

No pytest here (the benchmarks use it too): failures raise :class:`ServeError` with the
tail of the server's log.

* :class:`ServeProcess` starts ``python -m bot serve`` in its own process group with a
  clean environment (no ``FAQBOT_*``/``TELEGRAM_*``/``WECHAT_*``/``WECOM_*`` inherited, no ``.env``:
  the working directory is a throw-away folder), waits for ``GET /healthz``, and stops
  or SIGKILLs the whole group (uvicorn's supervisor and its workers).
* :func:`worker_pids` and :func:`connection_owner` read ``/proc`` (Linux) to tell which
  worker process holds the server side of a TCP connection, i.e. which worker answered
  a request sent on it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60.0
"""Generous: several workers each load the knowledge base on a 2-core machine."""
STOP_TIMEOUT_SECONDS = 30.0
_OWN_PREFIXES = ("FAQBOT_", "TELEGRAM_", "WECHAT_", "WECOM_")


class ServeError(RuntimeError):
    """A server that did not come up, or exited when it should not have."""


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


REDIS_START_ATTEMPTS = 3
REDIS_START_SECONDS = 10.0


def redis_server_binary() -> str | None:
    """``$REDIS_SERVER``, else ``redis-server`` on ``PATH``."""
    return os.environ.get("REDIS_SERVER") or shutil.which("redis-server")


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int] | None:
    """A throw-away redis-server on a free loopback port (no persistence), answering PING.

    Retries on another port if the first was snatched; ``None`` when it never came up
    (``workdir/redis.log`` says why).
    """
    for _ in range(REDIS_START_ATTEMPTS):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--daemonize", "no", "--logfile", str(workdir / "redis.log"),
             "--loglevel", "warning"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + REDIS_START_SECONDS
        while time.monotonic() < deadline and proc.poll() is None:
            if _pings(port):
                return proc, port
            time.sleep(0.05)
        stop_process(proc)
    return None


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc``, killing it if it does not exit within 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child: ours without faqbot settings, plus ``settings``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(_OWN_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def run_serve(
    settings: Mapping[str, str], workdir: Path, *args: str, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run ``faqbot serve`` to completion (for start-up failures): its exit code and output."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        cwd=workdir, env=serve_env(settings), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


class ServeProcess:
    """One ``faqbot serve`` (with ``workers`` uvicorn worker processes) on 127.0.0.1.

    ``settings`` are environment variables (``WECHAT_TOKEN``, ``FAQBOT_STATE_URL``…);
    the log (stdout and stderr) goes to ``<workdir>/serve-<n>.log``.
    """

    _started = 0

    def __init__(
        self, settings: Mapping[str, str], workdir: Path, *, workers: int = 1, open_files: int | None = None
    ) -> None:
        """``open_files``: the server's RLIMIT_NOFILE (e.g. 1024, a common default)."""
        self.settings = dict(settings)
        self.workdir = workdir
        self.workers = workers
        self.open_files = open_files
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> ServeProcess:
        """Start on a fresh free port and return once ``/healthz`` answers 200."""
        if self.process is not None and self.process.poll() is None:
            raise ServeError("already running")
        ServeProcess._started += 1
        self.port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"serve-{os.getpid()}-{ServeProcess._started}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)],
                cwd=self.workdir, env=serve_env(self.settings), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=self._limits(),
            )  # fmt: skip
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def _limits(self) -> Callable[[], None] | None:
        if self.open_files is None:
            return None
        limit = self.open_files

        def apply() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        return apply

    def wait_healthy(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Poll ``GET /healthz`` until 200; :class:`ServeError` if the process exits or time runs out.

        With several workers, every one of them must have answered a probe (each probe
        is a new connection; :func:`connection_owner` tells which worker took it), so
        that a test's first requests do not all go to the one worker that was ready.
        """
        deadline = time.monotonic() + timeout
        answered: set[int] = set()
        while True:
            self._check_alive()
            with httpx.Client(base_url=self.base_url, timeout=2.0) as client:  # a new connection each time
                try:
                    response = client.get("/healthz")
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 200:
                    if self.workers == 1:
                        return
                    pids = self.worker_pids()
                    owner = connection_owner(
                        ("127.0.0.1", self.port),
                        response.extensions["network_stream"].get_extra_info("client_addr"),
                        pids,
                    )
                    if owner is not None:
                        answered.add(owner)
                    if len(pids) >= self.workers and pids <= answered:
                        return
            if time.monotonic() > deadline:
                raise ServeError(f"faqbot serve did not become healthy within {timeout:g} s\n{self.log_tail()}")
            time.sleep(0.05)

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise ServeError(f"faqbot serve exited with {self.process.returncode}\n{self.log_tail()}")

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path and self.log_path.exists()
            else ""
        )

    def log_tail(self, chars: int = 3000) -> str:
        return self.log()[-chars:]

    def kill(self) -> None:
        """SIGKILL the process group (the server and its workers), like a crash or OOM kill."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self._wait_group_gone()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int | None:
        """SIGTERM (graceful), SIGKILL after ``timeout``; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        # Workers orphaned by a dead supervisor are still in the group: end them too.
        self._signal_group(signal.SIGKILL)
        self._wait_group_gone()
        return self.process.returncode

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)  # start_new_session: the group id is our child's pid

    def _wait_group_gone(self) -> None:
        if self.process is None:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def __enter__(self) -> ServeProcess:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def worker_pids(self) -> set[int]:
        """The pids of the processes serving requests: the workers, or the server itself."""
        assert self.process is not None
        return worker_pids(self.process.pid) if self.workers > 1 else {self.process.pid}


# ---------------------------------------------------------------------- /proc inspection


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def worker_pids(server_pid: int) -> set[int]:
    """Descendants of ``server_pid`` that hold a TCP socket: uvicorn's worker processes
    (multiprocessing's resource tracker, also a child, holds none)."""
    todo, descendants = [server_pid], set()
    while todo:
        for child in _children(todo.pop()):
            if child not in descendants:
                descendants.add(child)
                todo.append(child)
    listening = _socket_inodes(_tcp_sockets(lambda local, remote, state: state == "0A"))
    return {pid for pid in descendants if _fd_socket_inodes(pid) & listening}


def _hex_address(address: tuple[str, int]) -> str:
    """An IPv4 address as /proc/net/tcp writes it (little-endian host, big-endian port)."""
    host = socket.inet_aton(address[0])[::-1].hex().upper()
    return f"{host}:{address[1]:04X}"


def _tcp_sockets(predicate) -> list[tuple[str, str, str, int]]:
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
        if predicate(local, remote, state):
            rows.append((local, remote, state, inode))
    return rows


def _socket_inodes(rows: Iterable[tuple[str, str, str, int]]) -> set[int]:
    return {inode for *_, inode in rows if inode}


def _fd_socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def connection_owner(server: tuple[str, int], client: tuple[str, int], pids: Iterable[int]) -> int | None:
    """Which of ``pids`` holds the server end of the TCP connection ``client`` → ``server``
    (``None`` when the connection is gone or held by none of them)."""
    local, remote = _hex_address(server), _hex_address(client)
    inodes = _socket_inodes(_tcp_sockets(lambda loc, rem, state: loc == local and rem == remote))
    for pid in pids:
        if _fd_socket_inodes(pid) & inodes:
            return pid
    return None

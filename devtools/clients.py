"""Misbehaving clients for the tests and the benchmarks: connections that never finish a request."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def slow_clients(port: int, count: int) -> AsyncIterator[list[socket.socket]]:
    """``count`` connections that never finish a request: idle, half a header, half a body."""
    partial = [
        b"",
        b"POST /wechat HTTP/1.1\r\nHost: x\r\n",
        b"POST /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n<xml>",
    ]
    sockets: list[socket.socket] = []
    try:
        for n in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            sockets.append(sock)
            if n % 100 == 99:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        for n, sock in enumerate(sockets):
            with contextlib.suppress(OSError):
                sock.send(partial[n % 3])
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    try:
        while sock.recv(4096):
            pass  # whatever the server answered before closing
    except BlockingIOError:
        return False
    except OSError:
        pass
    return True

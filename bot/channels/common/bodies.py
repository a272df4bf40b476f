"""Request bodies read with a size bound, whatever the client declares or sends."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request


class BodyTooLarge(Exception):
    """The body exceeds the limit (declared in Content-Length, or streamed)."""


class ClientGone(Exception):
    """The client disconnected before its body was complete (nothing to answer, not an error)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, reading no further than ``limit`` bytes; :class:`BodyTooLarge` or
    :class:`ClientGone` otherwise."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and len(declared) <= 18 and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge
    except ClientDisconnect:
        raise ClientGone from None
    return bytes(body)

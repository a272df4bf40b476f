"""The yardstick of ``webhook_cpu.py``: a bare Starlette handler for ``POST /wechat`` that
reads the body and answers a fixed passive reply — no signature, no parsing, no state,
no engine. ``python -m uvicorn benchmarks.bare_app:app --http h11``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

REPLY = (
    "<xml><ToUserName><![CDATA[o]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName>"
    "<CreateTime>0</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ok]]></Content></xml>"
)


async def wechat(request: Request) -> Response:
    await request.body()
    return Response(REPLY, media_type="application/xml")


async def healthz(request: Request) -> Response:
    return Response("ok")


app = Starlette(routes=[Route("/wechat", wechat, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])])

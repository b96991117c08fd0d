"""Request ids and HTTP metrics, as pure ASGI middleware (safe around streaming responses)."""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from langproc import metrics
from langproc.logs import REQUEST_ID

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContext:
    """Gives every request an id (`X-Request-ID`, taken from the client when sane) and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.monotonic()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                metrics.HTTP_DURATION.labels(scope["method"], path).observe(
                    time.monotonic() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics.HTTP_REQUESTS.labels(scope["method"], _route(scope), str(status)).inc()
            REQUEST_ID.reset(token)


def _route(scope: Scope) -> str:
    """The route's path template, so that ids do not make a series each."""
    return str(getattr(scope.get("route"), "path", "unmatched"))

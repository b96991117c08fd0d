"""Refuses request bodies over the upload limit while they are read, never buffering more.

The middleware answers 413 itself, whoever reads the body (a route, FastAPI's body parser, the
multipart parser), and then ends the request: what the app does after that is not sent.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for the multipart envelope and form fields around the file itself; the file alone is
# held to the limit by the route.
ENVELOPE_BYTES = 64 * 1024


def too_large_message(max_upload_bytes: int) -> str:
    return (
        f"the upload is larger than the limit of {max_upload_bytes / (1024 * 1024):g} MiB: "
        "send a smaller photo or split the text"
    )


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.limit = max_upload_bytes + ENVELOPE_BYTES

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": too_large_message(self.max_upload_bytes)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    # The app sees a client that went away and stops reading.
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except Exception:
            # What the app raised about the body it could not read is answered by the 413.
            if not refused:
                raise

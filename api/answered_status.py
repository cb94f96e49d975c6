"""The status an ASGI app answered with, noted on its way out (for the middlewares that
count, time and log each request)."""

from __future__ import annotations

from starlette.types import Message, Send


class StatusNoting:
    """A `send` that passes every message on and notes the response's status; 500 until
    one is sent (an app that raised answered nothing)."""

    def __init__(self, send: Send) -> None:
        self.status = 500
        self._send = send

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)

"""Every API's door: a body is JSON (415 otherwise) and at most MAX_BODY_BYTES (413).

Judged before the body is read: a declared Content-Length over the limit is refused
at once; a body without one (chunked) is counted as it streams in, and refused the
moment it passes the limit, so no request is ever read whole before it is judged.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem, problem_response

MAX_BODY_BYTES = 64 * 1024
JSON_MEDIA_TYPE = "application/json"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit).detail)


def too_large(limit: int) -> Problem:
    return Problem(413, "body-too-large", f"the request body must be at most {limit} bytes")


def unsupported_media_type(content_type: str) -> Problem:
    return Problem(
        415,
        "unsupported-media-type",
        f"the request body must be {JSON_MEDIA_TYPE} (UTF-8), not {content_type[:80]!r}",
    )


def is_json(content_type: str) -> bool:
    """application/json, with no parameter but an optional `charset=utf-8`."""
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    return media_type == JSON_MEDIA_TYPE and all(
        parameter.replace(" ", "") in ("charset=utf-8", 'charset="utf-8"', "")
        for parameter in parameters
    )


def declared_length(headers: Headers) -> int | None:
    raw = headers.get("content-length")
    return int(raw) if raw is not None and raw.strip().isdigit() else None


class RequestLimits:
    """ASGI middleware: refuse non-JSON bodies (415) and bodies over `max_body_bytes` (413)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = self.refusal(headers)
        if problem is not None:
            await problem_response(problem, scope.get("path"))(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self.counted(receive), tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await problem_response(too_large(self.max_body_bytes), scope.get("path"))(
                scope, receive, send
            )

    def refusal(self, headers: Headers) -> Problem | None:
        """What is wrong with the request's declared body, judged from its headers alone."""
        length = declared_length(headers)
        if length is not None and length > self.max_body_bytes:
            return too_large(self.max_body_bytes)
        has_body = bool(length) or "transfer-encoding" in headers
        content_type = headers.get("content-type", "")
        if has_body and not is_json(content_type):
            return unsupported_media_type(content_type)
        return None

    def counted(self, receive: Receive) -> Receive:
        """`receive`, refusing the body once more than the limit has arrived."""
        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return receive_counted


def install_request_limits(app: FastAPI, max_body_bytes: int = MAX_BODY_BYTES) -> None:
    """Put every request to `app` through the body-size and content-type checks."""
    app.add_middleware(RequestLimits, max_body_bytes=max_body_bytes)

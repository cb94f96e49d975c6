"""Parts of one answer read from upstream APIs, each within its own deadline: a part that
does not come in time, cannot be reached or is refused is `Missing`, with why, and never
fails the parts beside it (API composition)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

T = TypeVar("T")
Reason = Literal["timeout", "unreachable", "error-status", "malformed-answer"]


@dataclass(frozen=True)
class Missing:
    """A part left out of the answer: which, why, and the upstream's answer when it gave one."""

    part: str
    reason: Reason
    detail: str
    response: httpx.Response | None = None

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class ErrorStatus(Exception):
    """An upstream answered, but not with success."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"answered HTTP {response.status_code}")
        self.response = response


@dataclass(frozen=True)
class Upstream:
    """One upstream API: where it is, and the caller's headers it is sent."""

    http: httpx.AsyncClient
    url: str
    headers: Mapping[str, str]

    async def get_json(self, path: str, **params: str | int) -> Any:
        """The JSON of a successful GET of `path`; any other answer raises ErrorStatus."""
        response = await self.http.get(self.url + path, params=params, headers=self.headers)
        if not response.is_success:
            raise ErrorStatus(response)
        return response.json()


async def within(part: str, deadline: float, fetch: Awaitable[T]) -> T | Missing:
    """`fetch`'s result, or why the part is missing once `deadline` seconds have passed,
    the upstream cannot be reached, answers an error or answers something unreadable."""
    try:
        async with asyncio.timeout(deadline):
            return await fetch
    except (TimeoutError, httpx.TimeoutException):
        return Missing(part, "timeout", f"no answer within {deadline:g} s")
    except httpx.TransportError as error:
        return Missing(part, "unreachable", f"{type(error).__name__}: {error}"[:200])
    except ErrorStatus as error:
        return Missing(part, "error-status", str(error), error.response)
    except ValueError as error:  # not JSON, or not the shape the part's model expects
        return Missing(part, "malformed-answer", f"{type(error).__name__}"[:200])

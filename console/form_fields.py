"""The fields of a posted HTML form (application/x-www-form-urlencoded), read without
python-multipart: the console's forms carry a few short fields only."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_FORM_BYTES = 16 * 1024


async def form_fields(request: Request) -> dict[str, str]:
    """Each field's first value; an oversized or undecodable body has no fields."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        return dict(parse_qsl(body.decode("utf-8"), max_num_fields=32))
    except (UnicodeDecodeError, ValueError):
        return {}

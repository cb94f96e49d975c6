"""The console's pages, rendered by Jinja2 (autoescaped): the templates, the number
formats of `paystream top`, and the one page for every message and error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from console.settings import PATH_PREFIX
from identity.principal import Principal
from scripts.top.render import milliseconds, number, per_second, seconds

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(
    per_second=per_second, milliseconds=milliseconds, number=number, seconds=seconds
)


def page(
    request: Request,
    template: str,
    principal: Principal | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """`template` rendered for the signed-in `principal` (None: nobody yet)."""
    values = {"prefix": PATH_PREFIX, "principal": principal, **context}
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def message(
    request: Request,
    principal: Principal | None,
    status: int,
    title: str,
    text: str,
    *,
    tone: str = "error",
    action: tuple[str, str] | None = None,
) -> HTMLResponse:
    """A page saying one thing (a refusal, an error, signed out), with one way on."""
    url, label = action or ("", "")
    return page(
        request,
        "message.html",
        principal,
        status,
        title=title,
        message=text,
        tone=tone,
        action_url=url,
        action_label=label,
    )

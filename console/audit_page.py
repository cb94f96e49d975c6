"""The Audit page: verify every hash chain, or one context's (as `paystream audit verify
[--context NAME]`), with progress live and the broken links listed, download a
checkpoint (the file `paystream audit checkpoint` writes), and verify against an
uploaded one. Operators and auditors both may, as with the CLI; each is recorded as the
signed-in person."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.form_fields import form_fields
from console.live_parts import STREAM_SECONDS, LivePart, add_live_routes
from console.page_access import viewer
from console.pages import message, page
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from console.uploaded_files import BadUpload, uploaded_file
from console.verify_runs import VerifyRunning, VerifyRuns
from eventstore.contexts import CONTEXTS
from eventstore.operator_actions import recorded_as
from eventstore.settings import DatabaseSettings
from identity.principal import Principal
from scripts.cli.audit_verify import (
    Checkpoint,
    InvalidCheckpoint,
    checked_checkpoint,
    write_checkpoint,
)

PAGE = f"{PATH_PREFIX}/audit"
REFRESH_SECONDS = 1


def read_checkpoint(name: str, content: bytes) -> Checkpoint:
    """The uploaded checkpoint, checked as `audit verify --checkpoint` checks a file;
    BadUpload saying what is wrong otherwise."""
    try:
        checkpoint = checked_checkpoint(name, content)
    except InvalidCheckpoint as error:
        raise BadUpload(str(error)) from None
    unknown = sorted(set(checkpoint.contexts) - set(CONTEXTS))
    if unknown:
        raise BadUpload(f"{name} names unknown context {unknown[0]!r}")
    return checkpoint


def audit_router(
    sessions: Sessions, runs: VerifyRuns, stream_seconds: float = STREAM_SECONDS
) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)

    async def shows(_: Principal) -> dict[str, Any]:
        return {"run": runs.latest}

    part = LivePart("/audit", "audit_live.html", shows, REFRESH_SECONDS)
    add_live_routes(router, part, sessions, stream_seconds)

    @router.get("/audit")
    async def audit(request: Request) -> Response:
        """The latest verification, and the forms to start one or take a checkpoint."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        context = await part.now(principal)
        return page(
            request, "audit.html", principal, title="Audit", contexts=sorted(CONTEXTS), **context
        )

    @router.post("/audit/verify")
    async def verify(request: Request) -> Response:
        """`paystream audit verify [--context NAME | --checkpoint FILE]`, in the
        background, recorded."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        try:
            upload = await uploaded_file(request, "checkpoint")
            saved = read_checkpoint(*upload) if upload else None
        except BadUpload as error:
            text = f"The checkpoint cannot be used: {error}."
            return message(request, principal, 400, "Bad checkpoint", text, action=(PAGE, "Audit"))
        context = None if upload else (await form_fields(request)).get("context") or None
        if context is not None and context not in CONTEXTS:
            known = ", ".join(sorted(CONTEXTS))
            text = f"There is no context {context!r}; the contexts are {known}."
            return message(request, principal, 400, "Bad request", text, action=(PAGE, "Audit"))
        try:
            runs.start(principal, saved, upload[0] if upload else None, context)
        except VerifyRunning as error:
            return message(
                request, principal, 409, "Already running", f"{error}.", action=(PAGE, "Audit")
            )
        return RedirectResponse(PAGE, status_code=303)

    @router.get("/audit/checkpoint")
    def checkpoint(request: Request) -> Response:
        """`paystream audit checkpoint`, as a download, recorded."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        name = f"paystream-checkpoint-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        document = io.StringIO()
        with recorded_as(principal, "audit checkpoint", {"output": f"download:{name}"}):
            write_checkpoint(document, DatabaseSettings())
        return Response(
            document.getvalue(),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    return router

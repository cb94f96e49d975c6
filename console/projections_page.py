"""The Projections page: each read model's status per version and its open dead
letters, retried or skipped after a confirmation naming the event, and rebuilds started
here with their progress pushed live (console/live_parts.py). Every action is the
CLI's, recorded as the operator."""

from __future__ import annotations

from functools import partial
from typing import Any

import psycopg
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.form_fields import form_fields
from console.live_parts import STREAM_SECONDS, LivePart, add_live_routes
from console.page_access import actor, may_act, viewer
from console.pages import message, page
from console.projection_actions import open_letter, open_letters, resolve, statuses
from console.rebuild_runs import RebuildRunning, RebuildRuns
from console.sessions import Sessions
from console.settings import PATH_PREFIX
from eventstore.operator_actions import recorded_as
from eventstore.outages import reason
from identity.principal import Principal
from projections.dead_letters import NoSuchLetter
from projections.projection import Projection
from projections.registry import PROJECTIONS

PAGE = f"{PATH_PREFIX}/projections"
REFRESH_SECONDS = 1
SAID = {
    "skipped": "Skipped the dead letter; the projection resumes.",
    "retried": "The dead letters will be retried; the projection resumes.",
    "rebuilding": "The rebuild started; its progress shows below.",
}


async def live_context(runs: RebuildRuns, principal: Principal) -> dict[str, Any]:
    """What the live part shows `principal` now: the statuses, or why there are none, the
    runs, and the actions when they may act."""
    try:
        shown, problem = await statuses(), ""
    except psycopg.OperationalError as error:
        shown, problem = [], f"The database cannot be reached: {reason(error)}"
    return {
        "statuses": shown,
        "problem": problem,
        "runs": runs.latest(),
        "may_act": may_act(principal),
    }


def unknown(request: Request, principal: Principal, name: str) -> Response:
    text = f"There is no read model called {name!r}."
    return message(request, principal, 404, "Not found", text, action=(PAGE, "Projections"))


def bad_input(request: Request, principal: Principal, text: str) -> Response:
    return message(request, principal, 400, "Bad request", text, action=(PAGE, "Projections"))


def whole_number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 19 else None


def acting_on(
    request: Request, sessions: Sessions, name: str
) -> tuple[Principal, type[Projection]] | Response:
    """The signed-in operator and the read model `name`; else the page to answer instead."""
    principal = actor(request, sessions)
    if isinstance(principal, Response):
        return principal
    projection = PROJECTIONS.get(name)
    if projection is None:
        return unknown(request, principal, name)
    return principal, projection


def projections_router(
    sessions: Sessions, runs: RebuildRuns, stream_seconds: float = STREAM_SECONDS
) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)
    part = LivePart(
        "/projections", "projections_live.html", partial(live_context, runs), REFRESH_SECONDS
    )
    add_live_routes(router, part, sessions, stream_seconds)

    @router.get("/projections")
    async def projections(request: Request, said: str = "") -> Response:
        """Every read model, its dead letters and rebuilds; actions for operators."""
        principal = viewer(request, sessions)
        if isinstance(principal, Response):
            return principal
        context = await part.now(principal)
        return page(
            request,
            "projections.html",
            principal,
            title="Projections",
            said=SAID.get(said, ""),
            names=sorted(PROJECTIONS),
            **context,
        )

    @router.get("/projections/{name}/confirm")
    async def confirm(
        request: Request, name: str, action: str = "", position: str = ""
    ) -> Response:
        """The confirmation of a retry or a skip, naming the events it resolves."""
        found = acting_on(request, sessions, name)
        if isinstance(found, Response):
            return found
        principal, projection = found
        if action not in ("skip", "retry"):
            return bad_input(request, principal, "The action must be skip or retry.")
        at = whole_number(position) if action == "skip" else 0
        if at is None:
            return bad_input(request, principal, "The position must be a whole number.")
        try:
            if action == "skip":
                letters = [await open_letter(projection, at)]
            else:
                letters = await open_letters(projection)
        except NoSuchLetter as error:
            return message(
                request, principal, 404, "Nothing to do", str(error), action=(PAGE, "Projections")
            )
        if not letters:
            text = f"{name} has no open dead letter."
            return message(
                request, principal, 404, "Nothing to do", text, action=(PAGE, "Projections")
            )
        verb = "Skip" if action == "skip" else "Retry"
        return page(
            request,
            "dead_letter_confirm.html",
            principal,
            title=f"{verb} a dead letter",
            name=name,
            action="skip" if action == "skip" else "retry",
            verb=verb,
            letters=letters,
            position=at,
        )

    @router.post("/projections/{name}/skip")
    async def skip(request: Request, name: str) -> Response:
        """`paystream projections skip <name> --position N`, recorded as the operator."""
        at = whole_number((await form_fields(request)).get("position", ""))
        if at is None:
            principal = actor(request, sessions)
            if isinstance(principal, Response):
                return principal
            return bad_input(request, principal, "The position must be a whole number.")
        return await _resolve(request, name, "skipped", at)

    @router.post("/projections/{name}/retry")
    async def retry(request: Request, name: str) -> Response:
        """`paystream projections retry <name>`, recorded as the operator."""
        return await _resolve(request, name, "retried", None)

    async def _resolve(request: Request, name: str, status: str, position: int | None) -> Response:
        found = acting_on(request, sessions, name)
        if isinstance(found, Response):
            return found
        principal, projection = found
        command = "projections skip" if position is not None else "projections retry"
        arguments: dict[str, Any] = {"projection": name}
        if position is not None:
            arguments["position"] = position
        try:
            with recorded_as(principal, command, arguments) as who:
                await resolve(projection, status, who.subject, position)
        except NoSuchLetter as error:
            return message(
                request, principal, 409, "Nothing to do", str(error), action=(PAGE, "Projections")
            )
        return RedirectResponse(f"{PAGE}?said={status}", status_code=303)

    @router.post("/projections/rebuild")
    async def start_rebuild(request: Request) -> Response:
        """`paystream rebuild <name>`, in the background, recorded as the operator."""
        name = (await form_fields(request)).get("name", "")
        found = acting_on(request, sessions, name)
        if isinstance(found, Response):
            return found
        principal, projection = found
        try:
            runs.start(projection, principal)
        except RebuildRunning as error:
            return message(
                request, principal, 409, "Already running", str(error), action=(PAGE, "Projections")
            )
        return RedirectResponse(f"{PAGE}?said=rebuilding", status_code=303)

    return router

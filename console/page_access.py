"""Who may see a console page and who may act on it: operators and auditors see;
only operators act (retry, skip, rebuild). A refusal is a page, never a traceback."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.pages import message
from console.sessions import Sessions, may_use_console
from console.settings import PATH_PREFIX
from identity.principal import Principal
from identity.roles import OPERATOR

SIGN_IN = f"{PATH_PREFIX}/sign-in"


def refused(request: Request, principal: Principal) -> Response:
    """The 403 page of someone signed in who is neither an operator nor an auditor."""
    roles = ", ".join(sorted(principal.roles)) or "no role"
    text = (
        f"The console is for operators and auditors; {principal.subject} is signed in as {roles}."
    )
    return message(request, principal, 403, "Not allowed", text)


def may_act(principal: Principal) -> bool:
    return OPERATOR in principal.roles


def viewer(request: Request, sessions: Sessions, fragment: bool = False) -> Principal | Response:
    """The signed-in operator or auditor; otherwise the answer to give instead (sign in,
    or 403; a fragment polled by htmx gets 401 with HX-Redirect)."""
    principal = sessions.principal(request)
    if principal is None:
        if fragment:
            return Response(status_code=401, headers={"HX-Redirect": SIGN_IN})
        return RedirectResponse(SIGN_IN, status_code=303)
    if not may_use_console(principal):
        return refused(request, principal)
    return principal


def actor(request: Request, sessions: Sessions) -> Principal | Response:
    """The signed-in operator; an auditor gets a 403 page saying only operators act."""
    principal = viewer(request, sessions)
    if isinstance(principal, Response) or may_act(principal):
        return principal
    text = f"Only operators may act here; {principal.subject} is signed in as an auditor."
    return message(request, principal, 403, "Not allowed", text)

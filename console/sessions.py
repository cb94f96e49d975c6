"""Who is signed in to the console: the access token the issuer gave, kept in a signed,
HttpOnly, SameSite=Lax cookie and verified again on every request like any service's."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.settings import PATH_PREFIX
from console.signed_cookies import CookieSigner
from identity.principal import Principal
from identity.roles import AUDITOR, OPERATOR
from identity.verifier import TokenRefused, TokenVerifier

SESSION_COOKIE = "paystream_console"
SIGN_IN_COOKIE = "paystream_console_sign_in"
SESSION_SECONDS = 3600  # the person's token lives as long
SIGN_IN_SECONDS = 600
CONSOLE_ROLES = frozenset({OPERATOR, AUDITOR})


class Sessions:
    """Reads and writes the console's two cookies: the session, and a sign-in under way."""

    def __init__(self, signer: CookieSigner, verifier: TokenVerifier, secure: bool) -> None:
        self.signer = signer
        self.verifier = verifier
        self.secure = secure

    def _set(self, response: Response, name: str, value: str, ttl: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=ttl,
            path=PATH_PREFIX,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def begin_sign_in(self, response: Response, state: str, verifier: str) -> None:
        value = self.signer.sign({"state": state, "verifier": verifier}, SIGN_IN_SECONDS)
        self._set(response, SIGN_IN_COOKIE, value, SIGN_IN_SECONDS)

    def sign_in_under_way(self, request: Request) -> dict[str, str] | None:
        """The state and PKCE verifier of the sign-in this browser started, if any."""
        content = self.signer.read(request.cookies.get(SIGN_IN_COOKIE))
        return {key: str(value) for key, value in content.items()} if content else None

    def open(self, response: Response, access_token: str) -> None:
        value = self.signer.sign({"token": access_token}, SESSION_SECONDS)
        self._set(response, SESSION_COOKIE, value, SESSION_SECONDS)
        response.delete_cookie(SIGN_IN_COOKIE, path=PATH_PREFIX)

    def close(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=PATH_PREFIX)

    def principal(self, request: Request) -> Principal | None:
        """The signed-in person, their token verified again; None when there is none."""
        content = self.signer.read(request.cookies.get(SESSION_COOKIE))
        if content is None:
            return None
        try:
            return self.verifier.verify(str(content.get("token", "")))
        except TokenRefused:
            return None


def may_use_console(principal: Principal) -> bool:
    return bool(principal.roles & CONSOLE_ROLES)

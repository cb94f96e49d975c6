"""What the console of a development stack is told, and what the issuer is told about it:
the console's address (its redirect URI registered with the development issuer) and the
data directory whose services.json lists what it watches."""

from __future__ import annotations

import secrets
from pathlib import Path

from console.settings import PATH_PREFIX, console_redirect_uris
from identity.browser_clients import CONSOLE_CLIENT, register_browser_client


def console_url(port: int) -> str:
    """Where a browser opens the console on this machine."""
    return f"http://127.0.0.1:{port}{PATH_PREFIX}"


def behind_gateway(gateway_url: str) -> str:
    """Where a browser opens the console through the gateway at `gateway_url`."""
    return f"{gateway_url.rstrip('/')}{PATH_PREFIX}"


def console_env(
    port: int, issuer_dir: Path, data_dir: Path, public_url: str | None = None
) -> dict[str, str]:
    """The console's settings, its redirect URIs registered with the issuer on the way:
    back to `public_url` (the gateway's /console) when given, else to its own port; a
    sign-in started at either address is allowed."""
    own = console_url(port)
    urls = [public_url, own] if public_url else [own]
    register_browser_client(issuer_dir, CONSOLE_CLIENT, console_redirect_uris(urls))
    return {
        "PAYSTREAM_CONSOLE_URL": urls[0],
        "PAYSTREAM_CONSOLE_DATA_DIR": str(data_dir),
        # One key for the run: a console the supervisor restarts keeps its sessions.
        "PAYSTREAM_CONSOLE_SESSION_KEY": secrets.token_urlsafe(32),
    }


SIGN_IN_HINT = (
    "sign in on the development issuer's form with any name and the role operator or auditor"
)

"""The console's settings, from the environment (PAYSTREAM_CONSOLE_*)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8009
PATH_PREFIX = "/console"


class ConsoleSettings(BaseSettings):
    """Where the console is reached by browsers (PAYSTREAM_CONSOLE_URL: its redirect URI
    is `<url>/callback`), the key its session cookies are signed with
    (PAYSTREAM_CONSOLE_SESSION_KEY; unset, a new one per process, so a restart signs
    everyone out), and the data directory whose services.json lists what to watch."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_CONSOLE_", extra="ignore")

    url: str = f"http://127.0.0.1:{DEFAULT_PORT}{PATH_PREFIX}"
    session_key: str = ""
    data_dir: Path = Path(".paystream")

    def redirect_uri(self) -> str:
        return f"{self.url.rstrip('/')}/callback"

    def signing_key(self) -> bytes:
        return (self.session_key or secrets.token_urlsafe(32)).encode()

    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS once the console is reached by HTTPS."""
        return self.url.startswith("https://")


def console_redirect_uris(urls: list[str]) -> list[str]:
    """The redirect URIs of a console reached at each of `urls`."""
    return [f"{url.rstrip('/')}/callback" for url in urls]

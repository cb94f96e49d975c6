"""Where clients reach the services, for links in answers (a payment's Location).

Not the upstreams a service calls (api/upstreams.py): these URLs are the clients'. The
defaults are the ports `paystream up` and compose.yaml publish on the host; behind the
gateway (issue 11) they become its URL.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class PublicUrls(BaseSettings):
    """Client-facing base URLs, read from PAYSTREAM_PUBLIC_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_PUBLIC_", extra="ignore")

    # The payments query API, where a payment is read (the payments API serves no reads).
    payments_query_url: str = "http://127.0.0.1:8004"

"""Where clients reach the services, for links in answers (the Location of a new account
or payment).

Not the upstreams a service calls (api/upstreams.py): these URLs are the clients'. The
defaults are the ports `paystream up` and compose.yaml publish on the host; behind the
gateway (issue 11) they become its URL.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class PublicUrls(BaseSettings):
    """Client-facing base URLs, read from PAYSTREAM_PUBLIC_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_PUBLIC_", extra="ignore")

    # The account summary query API, where an account is read (the accounts API serves
    # no reads).
    account_summary_query_url: str = "http://127.0.0.1:8002"
    # The payments query API, where a payment is read (the payments API serves no reads).
    payments_query_url: str = "http://127.0.0.1:8004"

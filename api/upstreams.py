"""Where a service finds the other services it calls over HTTP."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class UpstreamSettings(BaseSettings):
    """URLs of upstream services; defaults are the ports `paystream up` uses."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_", extra="ignore")

    accounts_api_url: str = "http://127.0.0.1:8001"
    account_summary_query_url: str = "http://127.0.0.1:8002"
    # The query APIs the account overview (api/account_overview.py) is composed from.
    account_statement_query_url: str = "http://127.0.0.1:8003"
    payments_query_url: str = "http://127.0.0.1:8004"
    notifications_query_url: str = "http://127.0.0.1:8005"

"""The account overview API of `paystream serve overview-api`."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from api.overview_app import DEFAULT_DEADLINE_SECONDS, create_overview_app
from api.quiet_server import serve_app
from api.upstreams import UpstreamSettings
from identity.verifier import TokenVerifier


class OverviewSettings(BaseSettings):
    """How long the overview waits for each query API (PAYSTREAM_OVERVIEW_DEADLINE_SECONDS)."""

    model_config = SettingsConfigDict(env_prefix="PAYSTREAM_OVERVIEW_", extra="ignore")

    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS


def serve_overview_api(host: str, port: int) -> None:
    upstreams = UpstreamSettings()
    urls = {
        "account-summary": upstreams.account_summary_query_url,
        "account-statement": upstreams.account_statement_query_url,
        "payments": upstreams.payments_query_url,
        "notifications": upstreams.notifications_query_url,
    }
    deadline = OverviewSettings().deadline_seconds
    app = create_overview_app(urls, TokenVerifier.from_settings(), deadline)
    serve_app(app, host, port)

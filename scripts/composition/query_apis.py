"""The query APIs of `paystream serve query-api <name>`."""

from __future__ import annotations

from api.query_app import create_query_app
from api.query_registry import get_query_api
from api.quiet_server import serve_app
from eventstore.settings import DatabaseSettings
from identity.verifier import TokenVerifier


def serve_query_api(name: str, host: str, port: int) -> None:
    api = get_query_api(name)
    conninfo = DatabaseSettings().role_conninfo(api.role)
    app = create_query_app(api, conninfo, TokenVerifier.from_settings())
    serve_app(app, host, port)


def serve_bench_hello(host: str, port: int) -> None:
    """`paystream up --bench`'s hello-world route, as the account summary's role."""
    from api.account_summary_query import ACCOUNT_SUMMARY_API
    from api.bench_hello import BENCH_HELLO_API

    conninfo = DatabaseSettings().role_conninfo(ACCOUNT_SUMMARY_API.role)
    app = create_query_app(BENCH_HELLO_API, conninfo, TokenVerifier.from_settings())
    serve_app(app, host, port)

"""The query APIs of `paystream serve query-api <name>`."""

from __future__ import annotations

import uvicorn

from api.query_app import create_query_app
from api.query_registry import get_query_api
from eventstore.settings import DatabaseSettings
from identity.verifier import TokenVerifier


def serve_query_api(name: str, host: str, port: int) -> None:
    api = get_query_api(name)
    conninfo = DatabaseSettings().role_conninfo(api.role)
    app = create_query_app(api, conninfo, TokenVerifier.from_settings())
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)

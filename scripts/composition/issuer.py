"""The development issuer of `paystream serve issuer`."""

from __future__ import annotations

import uvicorn

from api.metrics_endpoint import install_metrics
from identity.issuer_app import create_issuer_app
from identity.issuer_directory import IssuerDirectory
from identity.settings import IssuerSettings, OidcSettings


def serve_issuer(host: str, port: int) -> None:
    settings = IssuerSettings()
    issuer = settings.url(host, port)
    directory = IssuerDirectory(settings.issuer_dir)
    directory.prepare(issuer)
    app = create_issuer_app(directory, issuer, OidcSettings().oidc_audience)
    install_metrics(app)
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)

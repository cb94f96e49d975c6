"""The development issuer of `paystream serve issuer`."""

from __future__ import annotations

from api.metrics_endpoint import install_metrics
from api.quiet_server import serve_app
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
    serve_app(app, host, port)

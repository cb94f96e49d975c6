"""The console of `paystream serve console`, built from its settings and the identity
settings every service reads."""

from __future__ import annotations

from api.metrics_endpoint import install_metrics
from api.quiet_server import serve_app
from console.app import create_console_app
from console.live_view import LiveView
from console.oidc_client import OidcClient
from console.sessions import Sessions
from console.settings import ConsoleSettings
from console.signed_cookies import CookieSigner
from identity.settings import OidcSettings
from identity.verifier import TokenVerifier


def serve_console(host: str, port: int) -> None:
    settings = ConsoleSettings()
    oidc_settings = OidcSettings()
    oidc = OidcClient(
        oidc_settings.issuer(), oidc_settings.discovery_url(), settings.redirect_uri()
    )
    verifier = TokenVerifier.from_settings()
    sessions = Sessions(CookieSigner(settings.signing_key()), verifier, settings.secure_cookies())
    app = create_console_app(oidc, sessions, LiveView(settings.data_dir))
    install_metrics(app)
    serve_app(app, host, port)

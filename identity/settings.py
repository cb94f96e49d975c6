"""Identity settings, read from the environment: which issuer services trust, and where
the development issuer keeps its keys and clients."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from identity.discovery import discovery_url_of

DEV_ISSUER_PORT = 8090
DEV_ISSUER_URL = f"http://127.0.0.1:{DEV_ISSUER_PORT}"
DEFAULT_AUDIENCE = "paystream"
DEFAULT_ISSUER_DIR = Path(".paystream/issuer")


class OidcSettings(BaseSettings):
    """The issuer whose tokens a service accepts (OIDC_ISSUER, with discovery and JWKS)
    and the audience a token must name (OIDC_AUDIENCE). Unset, the development issuer.

    OIDC_DISCOVERY_URL, when set, is where the discovery document is fetched from: for an
    issuer whose own URL (its `iss`, public) is not reachable from where the service runs,
    as Keycloak in compose.yaml (`iss` on localhost, reached inside as `keycloak:8080`)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    oidc_issuer: str = ""
    oidc_discovery_url: str = ""
    oidc_audience: str = DEFAULT_AUDIENCE

    def issuer(self) -> str:
        """The trusted issuer's identifier, exactly as tokens carry it in `iss`."""
        return self.oidc_issuer or DEV_ISSUER_URL

    def discovery_url(self) -> str:
        """Where the issuer's discovery document is read (its endpoints come from there)."""
        return self.oidc_discovery_url or discovery_url_of(self.issuer())


class IssuerSettings(BaseSettings):
    """The development issuer: its directory (PAYSTREAM_ISSUER_DIR) and, when it is
    reached at another address than where it listens, its URL (PAYSTREAM_ISSUER_URL)."""

    model_config = SettingsConfigDict(env_prefix="paystream_", extra="ignore")

    issuer_dir: Path = DEFAULT_ISSUER_DIR
    issuer_url: str = ""

    def url(self, host: str, port: int) -> str:
        """The issuer identifier when it listens on `host:port`."""
        if self.issuer_url:
            return self.issuer_url.rstrip("/")
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://{shown}:{port}"

"""OIDC discovery (OpenID Connect Discovery 1.0): where an issuer's document is, and the
endpoints it names, taken only from a document that names the trusted issuer."""

from __future__ import annotations

from collections.abc import Mapping

DISCOVERY_PATH = "/.well-known/openid-configuration"


class DiscoveryRefused(ValueError):
    """A discovery document that is not the trusted issuer's, or lacks an endpoint."""


def discovery_url_of(issuer: str) -> str:
    """Where `issuer` publishes its discovery document (section 4 of the specification)."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def endpoint_of(document: Mapping[str, object], issuer: str, name: str) -> str:
    """The URL `document` gives for `name` (`jwks_uri`, `token_endpoint`), once it names
    `issuer` exactly (section 4.3): a document fetched from an internal address must still
    be the issuer whose `iss` the tokens carry."""
    named = document.get("issuer")
    if named != issuer:
        raise DiscoveryRefused(f"the discovery document names issuer {named!r}, not {issuer!r}")
    url = document.get(name)
    if not isinstance(url, str) or not url:
        raise DiscoveryRefused(f"the discovery document has no {name}")
    return url

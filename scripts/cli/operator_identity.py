"""Who runs an operating command: the subject of the bearer token in PAYSTREAM_TOKEN,
verified like every service verifies one, and holding a role the command needs.

With OIDC_ISSUER set, the token is checked against that issuer's keys (discovery and
JWKS). Unset (the embedded default), against the development issuer's keys in its
directory (PAYSTREAM_ISSUER_DIR), so the commands work while the stack is down too.

The CLI reaches the database with DATABASE_URL's own credentials, so the token is not
what keeps anyone out (the database credentials are); it is what names the person in
the operator log, and it keeps a customer's or a service's token from running these.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from identity.directory_keys import DirectoryKeys
from identity.issuer_directory import IssuerDirectory
from identity.jwks_cache import IssuerUnavailable
from identity.keys import NoSigningKey
from identity.settings import IssuerSettings, OidcSettings
from identity.verifier import Principal, TokenRefused, TokenVerifier
from scripts.cli.errors import CliError

HOW_TO_GET_ONE = "export PAYSTREAM_TOKEN=$(paystream token --subject <you> --role {role})"


class OperatorSettings(BaseSettings):
    """PAYSTREAM_TOKEN: the bearer token of the person running the command."""

    model_config = SettingsConfigDict(env_prefix="paystream_", extra="ignore")

    token: SecretStr | None = None


def operator(command: str, roles: tuple[str, ...]) -> Principal:
    """The verified caller of `paystream <command>`, holding one of `roles`; a CliError
    saying what is missing otherwise."""
    token = OperatorSettings().token
    if token is None or not token.get_secret_value():
        raise CliError(
            f"`paystream {command}` records who runs it: set PAYSTREAM_TOKEN to your bearer"
            f" token ({' or '.join(roles)}), e.g. {HOW_TO_GET_ONE.format(role=roles[0])}"
        )
    try:
        principal = verifier().verify(token.get_secret_value())
    except TokenRefused as refused:
        raise CliError(f"PAYSTREAM_TOKEN is refused: {refused.detail}") from None
    except IssuerUnavailable as error:
        raise CliError(f"cannot check PAYSTREAM_TOKEN: {error}") from None
    if not principal.roles & set(roles):
        held = ", ".join(sorted(principal.roles)) or "none"
        raise CliError(
            f"`paystream {command}` needs the role {' or '.join(roles)};"
            f" {principal.subject}'s token has: {held}"
        )
    return principal


def verifier() -> TokenVerifier:
    """The trusted issuer's verifier: OIDC_ISSUER's, else the development issuer's keys."""
    settings = OidcSettings()
    if settings.oidc_issuer:
        return TokenVerifier.from_settings(settings, httpx.Client())
    directory = IssuerDirectory(IssuerSettings().issuer_dir)
    try:
        return TokenVerifier(DirectoryKeys(directory), settings.oidc_audience)
    except NoSigningKey:
        raise CliError(
            f"cannot check PAYSTREAM_TOKEN: no development issuer keys in {directory.path}"
            " (set OIDC_ISSUER to the identity provider that issued it)"
        ) from None

"""`paystream token`: a bearer token from the development issuer, and `token rotate`,
its new signing key. Both work on the issuer's directory; neither needs it running."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from identity.issuer_directory import IssuerDirectory
from identity.keys import NoSigningKey
from identity.minting import InvalidTokenRequest, TokenMinter
from identity.roles import CUSTOMER, PERSON_ROLES
from identity.settings import DEFAULT_ISSUER_DIR, DEV_ISSUER_PORT, OidcSettings
from scripts.cli.errors import CliError, CommandGroup, reported

token_app = CommandGroup(
    invoke_without_command=True,
    help="A development bearer token (--subject); rotate its signing key.",
)
IssuerDir = Annotated[
    Path,
    typer.Option(envvar="PAYSTREAM_ISSUER_DIR", help="The development issuer's keys and clients."),
]


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")


def development_issuer(directory: IssuerDirectory) -> str:
    """The development issuer's identifier; refused when services trust another one."""
    try:
        directory.keyring.current()
        issuer = directory.issuer()
    except NoSigningKey:
        raise CliError(
            f"no signing key in {directory.path}: run `paystream up` first (it starts the"
            f" development issuer), or `paystream serve issuer --port {DEV_ISSUER_PORT}`"
        ) from None
    trusted = OidcSettings().oidc_issuer.rstrip("/")
    if trusted and trusted != issuer:
        raise CliError(
            f"OIDC_ISSUER is {trusted}, not the development issuer {issuer}:"
            " get a token from that identity provider instead"
        )
    return issuer


def mint_token(
    context: typer.Context,
    subject: Annotated[
        str | None, typer.Option(help="Who the token is for (its `sub`), e.g. alice.")
    ] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            metavar="<role>",
            help=f"A role, repeatable: {', '.join(PERSON_ROLES)}. Default: customer.",
        ),
    ] = None,
    ttl: Annotated[int, typer.Option(help="Seconds the token is valid, at most a day.")] = 3600,
    audience: Annotated[
        str | None, typer.Option(help="Its `aud`. Default: OIDC_AUDIENCE, else paystream.")
    ] = None,
    issuer_dir: IssuerDir = DEFAULT_ISSUER_DIR,
) -> None:
    """Print a bearer token for --subject, signed by the development issuer's key."""
    if context.invoked_subcommand is not None:
        return
    if subject is None:
        raise CliError("--subject is required, e.g. `paystream token --subject alice`")
    roles = role or [CUSTOMER]
    unknown = [name for name in roles if name not in PERSON_ROLES]
    if unknown:
        raise CliError(f"unknown role {unknown[0]!r}; known: {', '.join(PERSON_ROLES)}")
    directory = IssuerDirectory(issuer_dir)
    minter = TokenMinter(directory.keyring, development_issuer(directory))
    try:
        audience = OidcSettings().oidc_audience if audience is None else audience
        token = minter.mint(subject, roles, ttl, audience)
    except InvalidTokenRequest as error:
        raise CliError(str(error)) from None
    typer.echo(token)


token_app.callback()(reported(mint_token))


@token_app.command()
def rotate(issuer_dir: IssuerDir = DEFAULT_ISSUER_DIR) -> None:
    """A new signing key; the JWKS still publishes the two before it."""
    directory = IssuerDirectory(issuer_dir)
    development_issuer(directory)
    key = directory.keyring.rotate()
    typer.echo(f"signing key {key.kid}; published: {', '.join(directory.keyring.kids())}")

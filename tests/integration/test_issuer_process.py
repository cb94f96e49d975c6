"""`paystream serve issuer` as its own process: discovery and client credentials over
real HTTP, `paystream token` and `token rotate` on its directory while it runs, and a
verifier that fetches its keys from it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from identity.clients import load_clients
from identity.jwks_cache import JwksCache
from identity.verifier import TokenVerifier
from scripts.cli.root import app
from scripts.devstack.embedded import free_port
from scripts.devstack.services import ServiceSpec
from scripts.devstack.supervisor import ServiceProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("issuer")
    spec = ServiceSpec("issuer", ("issuer",), free_port(), "identity")
    env = {**os.environ, "PAYSTREAM_ISSUER_DIR": str(work / "issuer")}
    env.pop("PAYSTREAM_ISSUER_URL", None)
    process = ServiceProcess(spec, spec.port, env, work / "logs")
    process.start()
    try:
        process.wait_ready(timeout=30)
        yield process
    finally:
        process.stop()


def issuer_dir(issuer: ServiceProcess) -> Path:
    return Path(issuer.env["PAYSTREAM_ISSUER_DIR"])


def cli_token(issuer: ServiceProcess, *args: str) -> str:
    env = {"OIDC_ISSUER": issuer.url, "PAYSTREAM_ISSUER_DIR": str(issuer_dir(issuer))}
    result = CliRunner().invoke(app, ["token", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def verifier_of(issuer: ServiceProcess) -> TokenVerifier:
    """A verifier with no refetch interval: a rotated key is fetched at its first token."""
    return TokenVerifier(JwksCache(issuer.url, httpx.Client(), refetch_interval=0), "paystream")


def test_discovery_names_the_address_it_listens_on(issuer: ServiceProcess) -> None:
    document = httpx.get(f"{issuer.url}/.well-known/openid-configuration").json()

    assert document["issuer"] == issuer.url
    assert httpx.get(document["jwks_uri"]).json()["keys"]


def test_the_saga_gets_a_token_every_service_accepts(issuer: ServiceProcess) -> None:
    secret = load_clients(issuer_dir(issuer))["saga"].secret
    answer = httpx.post(
        f"{issuer.url}/token", data={"grant_type": "client_credentials"}, auth=("saga", secret)
    )

    assert answer.status_code == 200, answer.text
    principal = verifier_of(issuer).verify(answer.json()["access_token"])
    assert (principal.subject, principal.client_id) == ("saga", "saga")


def test_a_wrong_secret_is_refused_over_http(issuer: ServiceProcess) -> None:
    answer = httpx.post(
        f"{issuer.url}/token", data={"grant_type": "client_credentials"}, auth=("saga", "x")
    )

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_a_rotation_while_it_runs_keeps_old_tokens_valid(issuer: ServiceProcess) -> None:
    verifier = verifier_of(issuer)
    before = cli_token(issuer, "--subject", "alice")
    assert verifier.verify(before).subject == "alice"

    cli_token(issuer, "rotate")
    after = cli_token(issuer, "--subject", "bob")

    assert verifier.verify(after).subject == "bob"
    assert verifier.verify(before).subject == "alice"

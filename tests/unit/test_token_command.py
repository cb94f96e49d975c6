"""`paystream token`: a token the services accept, or one line and exit 2 saying why not;
`paystream token rotate`: a new signing key, the old tokens still valid."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner, Result

from scripts.cli.root import app
from tests.support.cli import refusal
from tests.support.issuer import ISSUER, DevIssuer, dev_issuer

NO_OIDC = {"OIDC_ISSUER": None, "OIDC_AUDIENCE": None, "PAYSTREAM_ISSUER_DIR": None}


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path)


def token(issuer_dir: Path, *args: str, **env: str | None) -> Result:
    return CliRunner().invoke(
        app, ["token", *args, "--issuer-dir", str(issuer_dir)], env={**NO_OIDC, **env}
    )


def test_the_token_printed_verifies_as_the_subject(issuer: DevIssuer) -> None:
    result = token(issuer.directory.path, "--subject", "alice")

    assert result.exit_code == 0, result.output
    principal = issuer.verifier().verify(result.stdout.strip())
    assert (principal.subject, principal.roles) == ("alice", frozenset({"customer"}))


def test_roles_ttl_and_audience_are_the_ones_asked_for(issuer: DevIssuer) -> None:
    args = ["--subject", "tom", "--role", "teller", "--role", "auditor", "--ttl", "60"]
    result = token(issuer.directory.path, *args, "--audience", "console")

    printed = result.stdout.strip()
    claims = jwt.decode(printed, options={"verify_signature": False})
    assert claims["roles"] == ["teller", "auditor"] and claims["aud"] == "console"
    assert claims["exp"] - claims["iat"] == 60 and claims["iss"] == ISSUER
    assert issuer.verifier("console").verify(printed).roles == {"teller", "auditor"}


def test_the_audience_defaults_to_oidc_audience(issuer: DevIssuer) -> None:
    result = token(issuer.directory.path, "--subject", "alice", OIDC_AUDIENCE="console")

    assert jwt.decode(result.stdout.strip(), options={"verify_signature": False})["aud"] == (
        "console"
    )


def test_the_issuer_directory_comes_from_the_environment(issuer: DevIssuer) -> None:
    env = {**NO_OIDC, "PAYSTREAM_ISSUER_DIR": str(issuer.directory.path)}

    result = CliRunner().invoke(app, ["token", "--subject", "alice"], env=env)

    assert issuer.verifier().verify(result.stdout.strip()).subject == "alice"


def test_oidc_issuer_naming_the_development_issuer_is_fine(issuer: DevIssuer) -> None:
    result = token(issuer.directory.path, "--subject", "alice", OIDC_ISSUER=f"{ISSUER}/")

    assert result.exit_code == 0, result.output


REFUSED = {
    "no subject": ([], "--subject is required"),
    "empty subject": (["--subject", " "], "must not be empty"),
    "control characters": (["--subject", "al\x1bice"], "control characters"),
    "newline": (["--subject", "alice\nbob"], "control characters"),
    "zero ttl": (["--subject", "alice", "--ttl", "0"], "ttl must be between 1 and 86400"),
    "negative ttl": (["--subject", "alice", "--ttl", "-5"], "ttl must be between"),
    "over a day": (["--subject", "alice", "--ttl", "86401"], "ttl must be between"),
    "unknown role": (["--subject", "alice", "--role", "admin"], "unknown role 'admin'"),
    "service role": (["--subject", "alice", "--role", "service"], "unknown role 'service'"),
    "empty audience": (["--subject", "alice", "--audience", ""], "audience must not be empty"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_request_is_one_line_and_exit_2(issuer: DevIssuer, case: str) -> None:
    args, message = REFUSED[case]

    assert message in refusal(token(issuer.directory.path, *args))


def test_another_issuer_is_refused(issuer: DevIssuer) -> None:
    result = token(issuer.directory.path, "--subject", "alice", OIDC_ISSUER="https://kc.example")

    assert "OIDC_ISSUER is https://kc.example, not the development issuer" in refusal(result)


@pytest.mark.parametrize("args", [["--subject", "alice"], ["rotate"]])
def test_no_keys_yet_says_to_run_up_first(tmp_path: Path, args: list[str]) -> None:
    line = refusal(token(tmp_path / "empty", *args))

    assert "no signing key" in line and "run `paystream up` first" in line


def test_rotate_signs_with_a_new_key_and_old_tokens_still_verify(issuer: DevIssuer) -> None:
    before = token(issuer.directory.path, "--subject", "alice").stdout.strip()
    old_kid = issuer.directory.keyring.current().kid

    rotated = token(issuer.directory.path, "rotate")
    after = token(issuer.directory.path, "--subject", "bob").stdout.strip()

    assert rotated.exit_code == 0, rotated.output
    new_kid = issuer.directory.keyring.current().kid
    assert new_kid != old_kid and new_kid in rotated.stdout
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    verifier = issuer.verifier()
    assert [verifier.verify(t).subject for t in (before, after)] == ["alice", "bob"]


def test_rotate_refuses_another_issuer(issuer: DevIssuer) -> None:
    result = token(issuer.directory.path, "rotate", OIDC_ISSUER="https://kc.example")

    assert "not the development issuer" in refusal(result)

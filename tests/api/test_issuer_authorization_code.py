"""The development issuer's authorization code grant with PKCE (RFC 6749 section 4.1,
RFC 7636): the login form, the code, and every way redeeming it is refused."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from identity.authorization_codes import s256
from identity.browser_clients import CONSOLE_CLIENT, register_browser_client
from tests.support.issuer import DevIssuer, dev_issuer

REDIRECT = "http://127.0.0.1:8000/console/callback"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    issuer = dev_issuer(tmp_path)
    register_browser_client(issuer.directory.path, CONSOLE_CLIENT, [REDIRECT])
    return issuer


def authorize_params(verifier: str, **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CONSOLE_CLIENT,
        "redirect_uri": REDIRECT,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "state": "the-state",
    }
    return params | overrides


def signed_in_code(issuer: DevIssuer, verifier: str, subject: str = "olga") -> str:
    """The code the login form's answer redirects back with (as `subject`, operator)."""
    form = authorize_params(verifier) | {"subject": subject, "role": "operator"}
    answer = issuer.http.post("/authorize", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["the-state"]
    return str(query["code"][0])


def redeem(
    issuer: DevIssuer, code: str, verifier: str, **overrides: str
) -> tuple[int, dict[str, Any]]:
    form = {
        "grant_type": "authorization_code",
        "client_id": CONSOLE_CLIENT,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    } | overrides
    answer = issuer.http.post("/token", data=form)
    assert answer.headers["cache-control"] == "no-store"
    return answer.status_code, answer.json()


def test_the_login_form_offers_the_persons_roles(issuer: DevIssuer) -> None:
    answer = issuer.http.get("/authorize", params=authorize_params(secrets.token_urlsafe(32)))

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    for role in ("customer", "teller", "operator", "auditor"):
        assert f'<option value="{role}">' in answer.text
    assert "service" not in answer.text.split('name="role"')[1]


def test_a_valid_verifier_gets_a_token_for_the_chosen_subject_and_role(
    issuer: DevIssuer,
) -> None:
    verifier = secrets.token_urlsafe(48)

    status, body = redeem(issuer, signed_in_code(issuer, verifier), verifier)

    assert status == 200, body
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    principal = issuer.verifier().verify(body["access_token"])
    assert (principal.subject, principal.roles) == ("olga", frozenset({"operator"}))


def test_a_wrong_verifier_is_refused_and_spends_the_code(issuer: DevIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    code = signed_in_code(issuer, verifier)

    assert redeem(issuer, code, secrets.token_urlsafe(48))[0] == 400
    status, body = redeem(issuer, code, verifier)

    assert (status, body["error"]) == (400, "invalid_grant")


def test_a_code_redeems_once(issuer: DevIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    code = signed_in_code(issuer, verifier)

    assert redeem(issuer, code, verifier)[0] == 200
    status, body = redeem(issuer, code, verifier)

    assert (status, body["error"]) == (400, "invalid_grant")
    assert "already used" in body["error_description"]


def test_another_redirect_uri_than_the_codes_is_refused(issuer: DevIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    code = signed_in_code(issuer, verifier)

    status, body = redeem(issuer, code, verifier, redirect_uri="http://evil.example/cb")

    assert (status, body["error"]) == (400, "invalid_grant")


def test_an_unknown_client_is_refused_at_the_token_endpoint(issuer: DevIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    code = signed_in_code(issuer, verifier)

    status, body = redeem(issuer, code, verifier, client_id="stranger")

    assert (status, body["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"client_id": "stranger"}, "unknown client_id"),
        ({"redirect_uri": "http://evil.example/cb"}, "redirect_uri is not registered"),
        ({"code_challenge_method": "plain"}, "code_challenge_method must be S256"),
        ({"code_challenge": "short"}, "code_challenge must be 43"),
        ({"response_type": "token"}, "response_type must be code"),
    ],
)
def test_a_bad_authorization_request_is_a_readable_page_never_a_redirect(
    issuer: DevIssuer, overrides: dict[str, str], reason: str
) -> None:
    params = authorize_params(secrets.token_urlsafe(32), **overrides)

    shown = issuer.http.get("/authorize", params=params, follow_redirects=False)
    posted = issuer.http.post(
        "/authorize", data=params | {"subject": "olga", "role": "operator"}, follow_redirects=False
    )

    for answer in (shown, posted):
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert reason in answer.text
        assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    ("person", "reason"),
    [
        ({"subject": "", "role": "operator"}, "must not be empty"),
        ({"subject": "olga", "role": "service"}, "role must be one of"),
        ({"subject": "<script>x</script>", "role": "nobody"}, "role must be one of"),
    ],
)
def test_a_bad_answer_to_the_form_shows_the_form_again_with_why(
    issuer: DevIssuer, person: dict[str, str], reason: str
) -> None:
    params = authorize_params(secrets.token_urlsafe(32))

    answer = issuer.http.post("/authorize", data=params | person, follow_redirects=False)

    assert answer.status_code == 400
    assert reason in answer.text
    assert "<script>" not in answer.text
    assert 'name="subject"' in answer.text


def test_a_malformed_verifier_is_an_invalid_request(issuer: DevIssuer) -> None:
    verifier = secrets.token_urlsafe(48)
    code = signed_in_code(issuer, verifier)

    status, body = redeem(issuer, code, "short")

    assert (status, body["error"]) == (400, "invalid_request")

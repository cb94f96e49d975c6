"""The console's audit trail pages (events, trace, accounts) in process: the navigation,
who may open them, and input they cannot use said on the page (a 400, never a
traceback), before anything reaches the database (there is none here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from console.app import create_console_app
from console.live_view import LiveView
from console.oidc_client import OidcClient
from console.sessions import SESSION_COOKIE, Sessions
from console.signed_cookies import CookieSigner
from tests.support.issuer import ISSUER, DevIssuer, dev_issuer

KEY = b"s" * 32
PAGES = ("/console/events", "/console/trace", "/console/accounts")
NAVIGATION = ("Overview", "Projections", "Events", "Trace", "Accounts", "Audit")


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path)


@pytest.fixture
def console(issuer: DevIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    (tmp_path / "services.json").write_text("{}")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    oidc = OidcClient(ISSUER, "http://127.0.0.1:1/discovery", "http://console.test/console/cb")
    sessions = Sessions(CookieSigner(KEY), issuer.verifier(), secure=False)
    app = create_console_app(oidc, sessions, LiveView(tmp_path))
    return TestClient(app, base_url="http://console.test", raise_server_exceptions=False)


def as_person(console: TestClient, issuer: DevIssuer, role: str) -> TestClient:
    token = issuer.mint("ada", roles=[role])
    console.cookies.set(SESSION_COOKIE, CookieSigner(KEY).sign({"token": token}, 60))
    return console


@pytest.mark.parametrize("path", PAGES)
def test_nobody_signed_in_is_sent_to_sign_in(console: TestClient, path: str) -> None:
    answer = console.get(path, follow_redirects=False)

    assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")


@pytest.mark.parametrize("path", PAGES)
def test_a_customer_gets_a_403_page(console: TestClient, issuer: DevIssuer, path: str) -> None:
    answer = as_person(console, issuer, "customer").get(path)

    assert answer.status_code == 403
    assert "for operators and auditors" in answer.text
    assert 'aria-label="Console"' not in answer.text  # no navigation for them


@pytest.mark.parametrize(
    ("path", "said"),
    [("/console/trace", "Give a request"), ("/console/accounts", "Give an")],
)
def test_an_empty_form_says_what_to_give(
    console: TestClient, issuer: DevIssuer, path: str, said: str
) -> None:
    answer = as_person(console, issuer, "auditor").get(path)

    assert answer.status_code == 200
    assert said in answer.text
    for label in NAVIGATION:
        assert f">{label}</a>" in answer.text
    assert answer.text.count('aria-current="page"') == 1


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("/console/events?context=ledger", "Context &#39;ledger&#39; is not one of"),
        ("/console/events?aggregate_id=42", "Aggregate &#39;42&#39; is not an id"),
        ("/console/events?since=yesterday", "Since &#39;yesterday&#39; is not a time"),
        ("/console/events?since=2026-12-02&until=2026-12-01", "is after until"),
        ("/console/events?before=-3", "Before &#39;-3&#39; is not a position"),
        ("/console/events?limit=501", "Limit &#39;501&#39; is not a number of events from 1"),
        ("/console/trace?payment_id=<script>", "Payment &#39;&lt;script&gt;&#39; is not an id"),
        ("/console/accounts?account_id=nope", "Account &#39;nope&#39; is not an id"),
        ("/console/accounts?account_id=" + "0" * 32 + "&at=soon", "At &#39;soon&#39; is not"),
        ("/console/accounts?account_id=" + "0" * 32 + "&at=0", "versions start at 1"),
    ],
)
def test_input_that_cannot_be_used_is_said_on_the_page(
    console: TestClient, issuer: DevIssuer, url: str, said: str
) -> None:
    answer = as_person(console, issuer, "operator").get(url)

    assert answer.status_code == 400
    assert said in answer.text
    assert 'role="alert"' in answer.text
    assert "Traceback" not in answer.text and "<script>" not in answer.text


def test_a_database_out_of_reach_is_a_readable_error(
    console: TestClient, issuer: DevIssuer
) -> None:
    answer = as_person(console, issuer, "auditor").get("/console/trace?correlation_id=c-1")

    assert answer.status_code == 500
    assert "Something went wrong on our side" in answer.text
    assert "Traceback" not in answer.text

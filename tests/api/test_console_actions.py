"""The console's pages with actions in process, signed in with tokens of a real
development issuer: who may act (operators), who may only look (auditors), who is
refused (anyone else), and bad input as a readable page, never a traceback. What the
actions do is proven on the running system (tests/e2e/test_console_actions.py)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from console.app import create_console_app
from console.live_view import LiveView
from console.oidc_client import OidcClient
from console.sessions import SESSION_COOKIE, Sessions
from console.signed_cookies import CookieSigner
from eventstore import operator_log
from tests.support.issuer import ISSUER, DevIssuer, dev_issuer
from tests.support.stack import Stack, wait_until

KEY = b"s" * 32
UNREACHABLE_DISCOVERY = "http://127.0.0.1:1/.well-known/openid-configuration"
ACTIONS = [
    ("/console/projections/account_summary/skip", {"position": "3"}),
    ("/console/projections/account_summary/retry", {}),
    ("/console/projections/rebuild", {"name": "account_summary"}),
]


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path)


@pytest.fixture
def console(issuer: DevIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    # A database where nothing answers (port 1): nothing here may reach one.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    (tmp_path / "services.json").write_text("{}")
    oidc = OidcClient(ISSUER, UNREACHABLE_DISCOVERY, "http://console.test/console/callback")
    sessions = Sessions(CookieSigner(KEY), issuer.verifier(), secure=False)
    app = create_console_app(oidc, sessions, LiveView(tmp_path))
    return TestClient(app, base_url="http://console.test", raise_server_exceptions=False)


def signed_in(console: TestClient, issuer: DevIssuer, role: str) -> TestClient:
    token = issuer.mint(f"someone-{role}", roles=[role])
    console.cookies.set(SESSION_COOKIE, CookieSigner(KEY).sign({"token": token}, 60))
    return console


@pytest.mark.parametrize("role", ["customer", "teller"])
@pytest.mark.parametrize("path", ["/console/projections", "/console/projections/live"])
def test_anyone_but_operators_and_auditors_is_refused(
    console: TestClient, issuer: DevIssuer, role: str, path: str
) -> None:
    answer = signed_in(console, issuer, role).get(path)

    assert answer.status_code == 403
    assert "for operators and auditors" in answer.text


@pytest.mark.parametrize(("path", "form"), ACTIONS)
def test_an_auditor_may_not_act(
    console: TestClient, issuer: DevIssuer, path: str, form: dict[str, str]
) -> None:
    answer = signed_in(console, issuer, "auditor").post(path, data=form)

    assert answer.status_code == 403
    assert "Only operators may act here" in answer.text


def test_nobody_signed_in_is_sent_to_sign_in(console: TestClient) -> None:
    page = console.get("/console/projections", follow_redirects=False)
    live = console.get("/console/projections/live")
    action = console.post(
        "/console/projections/rebuild", data={"name": "account_summary"}, follow_redirects=False
    )

    assert (page.status_code, page.headers["location"]) == (303, "/console/sign-in")
    assert (live.status_code, live.headers["hx-redirect"]) == (401, "/console/sign-in")
    assert (action.status_code, action.headers["location"]) == (303, "/console/sign-in")


@pytest.mark.parametrize(
    ("path", "form", "status", "text"),
    [
        ("/console/projections/no_such/retry", {}, 404, "no read model called &#39;no_such&#39;"),
        ("/console/projections/rebuild", {"name": "no_such"}, 404, "no read model called"),
        ("/console/projections/rebuild", {}, 404, "no read model called"),
        ("/console/projections/account_summary/skip", {"position": "x"}, 400, "whole number"),
        ("/console/projections/account_summary/skip", {}, 400, "whole number"),
    ],
)
def test_bad_input_is_a_readable_page(
    console: TestClient, issuer: DevIssuer, path: str, form: dict[str, str], status: int, text: str
) -> None:
    answer = signed_in(console, issuer, "operator").post(path, data=form)

    assert answer.status_code == status
    assert text in answer.text
    assert "Traceback" not in answer.text


def test_a_bad_confirmation_request_is_a_readable_page(
    console: TestClient, issuer: DevIssuer
) -> None:
    client = signed_in(console, issuer, "operator")

    wrong_action = client.get("/console/projections/account_summary/confirm?action=drop")
    no_position = client.get("/console/projections/account_summary/confirm?action=skip")

    assert wrong_action.status_code == 400 and "skip or retry" in wrong_action.text
    assert no_position.status_code == 400 and "whole number" in no_position.text


def test_an_unreachable_database_is_said_on_the_page(
    console: TestClient, issuer: DevIssuer
) -> None:
    answer = signed_in(console, issuer, "auditor").get("/console/projections")

    assert answer.status_code == 200
    assert "The database cannot be reached" in answer.text
    assert "only operators may retry, skip or rebuild" in answer.text
    assert '<button type="submit">Start rebuild' not in answer.text


@pytest.mark.parametrize("role", ["customer", "teller"])
def test_anyone_but_operators_and_auditors_is_refused_the_audit_page(
    console: TestClient, issuer: DevIssuer, role: str
) -> None:
    client = signed_in(console, issuer, role)

    answers = [
        client.get("/console/audit"),
        client.get("/console/audit/live"),
        client.get("/console/audit/checkpoint"),
        client.post("/console/audit/verify", files={"checkpoint": ("c.json", b"{}")}),
    ]

    assert [answer.status_code for answer in answers] == [403] * 4


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"not json", "c.json is not valid JSON"),
        (b'{"format": "something else"}', "not a paystream-audit-checkpoint/1 file"),
        (
            b'{"format": "paystream-audit-checkpoint/1", "created_at": "x", "digest": "0"}',
            "&#39;contexts&#39; is missing",
        ),
        (
            b'{"format": "paystream-audit-checkpoint/1", "created_at": "x", "digest": "0",'
            b' "contexts": {}}',
            "its digest does not match",
        ),
    ],
)
def test_a_malformed_checkpoint_is_a_readable_page(
    console: TestClient, issuer: DevIssuer, content: bytes, said: str
) -> None:
    client = signed_in(console, issuer, "auditor")

    answer = client.post("/console/audit/verify", files={"checkpoint": ("c.json", content)})

    assert answer.status_code == 400
    assert "The checkpoint cannot be used" in answer.text and said in answer.text
    assert "Traceback" not in answer.text


def test_the_audit_page_says_when_nothing_was_verified_yet(
    console: TestClient, issuer: DevIssuer
) -> None:
    answer = signed_in(console, issuer, "auditor").get("/console/audit")

    assert answer.status_code == 200
    assert "No verification started from this console" in answer.text
    assert 'href="/console/audit/checkpoint"' in answer.text


def test_an_unknown_context_is_a_readable_page_before_anything_runs(
    console: TestClient, issuer: DevIssuer
) -> None:
    client = signed_in(console, issuer, "auditor")

    choices = client.get("/console/audit")
    answer = client.post("/console/audit/verify", data={"context": "ledger"})

    assert '<option value="accounts">accounts</option>' in choices.text
    assert answer.status_code == 400
    assert "There is no context &#39;ledger&#39;; the contexts are accounts," in answer.text
    assert "No verification started" in client.get("/console/audit").text


@pytest.mark.integration
def test_a_verification_of_one_context_is_recorded_with_the_cli_arguments(
    console: TestClient, issuer: DevIssuer, stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    client = signed_in(console, issuer, "auditor")

    answer = client.post("/console/audit/verify", data={"context": "accounts"})

    def rows() -> list[operator_log.ActionRow]:
        with psycopg.connect(stack.db.role_conninfo(operator_log.ROLE)) as conn:
            return operator_log.recent(conn, 10, "someone-auditor")

    wait_until(lambda: len(rows()) == 2, 60, "the verification's end in the operator log")
    assert [(row.command, row.phase) for row in rows()] == [
        ("audit verify", "started"),
        ("audit verify", "succeeded"),
    ]
    assert rows()[0].arguments == {"context": "accounts", "checkpoint": None}
    assert "of the context accounts" in answer.text
    shown = client.get("/console/audit").text
    assert 'data-context="accounts"' in shown and 'data-context="payments"' not in shown

"""The console's pages in process, signed in with tokens of a real development issuer:
who may see the overview (alarms first), and what the others see instead (never a
traceback); each live page's part pushed as server-sent events, and each stream refusing
whoever may not see it."""

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
UNREACHABLE_DISCOVERY = "http://127.0.0.1:1/.well-known/openid-configuration"
# Each live page, where its live part is, how the part starts and what it says here.
LIVE_PAGES = [
    ("/console/", "/console/overview", '<div id="live"', "accounts-api down"),
    (
        "/console/projections",
        "/console/projections",
        '<div id="projections-live"',
        "The database cannot be reached",
    ),
    ("/console/audit", "/console/audit", '<div id="audit-live"', "No verification started"),
]
LIVE_ROUTES = [(path, base) for path, base, _, _ in LIVE_PAGES]


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return dev_issuer(tmp_path)


@pytest.fixture
def console(issuer: DevIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    # One service, down, and a database where nothing answers: nothing listens on port 1.
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    (tmp_path / "services.json").write_text('{"accounts-api": "http://127.0.0.1:1"}')
    # The issuer's discovery document where nothing answers (port 1): sign-in unavailable.
    oidc = OidcClient(ISSUER, UNREACHABLE_DISCOVERY, "http://console.test/console/callback")
    sessions = Sessions(CookieSigner(KEY), issuer.verifier(), secure=False)
    app = create_console_app(oidc, sessions, LiveView(tmp_path), stream_seconds=0)
    return TestClient(app, base_url="http://console.test", raise_server_exceptions=False)


def signed_in(console: TestClient, token: str) -> TestClient:
    console.cookies.set(SESSION_COOKIE, CookieSigner(KEY).sign({"token": token}, 60))
    return console


def test_nobody_signed_in_is_sent_to_sign_in(console: TestClient) -> None:
    answer = console.get("/console/", follow_redirects=False)

    assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")


@pytest.mark.parametrize("role", ["operator", "auditor"])
def test_operators_and_auditors_see_the_overview(
    console: TestClient, issuer: DevIssuer, role: str
) -> None:
    answer = signed_in(console, issuer.mint("olga", roles=[role])).get("/console/")

    assert answer.status_code == 200
    assert "<h1>Overview</h1>" in answer.text
    alarms = answer.text.index('<ul class="alarms"')
    assert answer.text.index("accounts-api down") < answer.text.index('id="services"')
    assert alarms < answer.text.index('id="services"')
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("role", ["customer", "teller", "service"])
@pytest.mark.parametrize(("path", "base"), LIVE_ROUTES)
def test_anyone_else_gets_a_403_page(
    console: TestClient, issuer: DevIssuer, role: str, path: str, base: str
) -> None:
    client = signed_in(console, issuer.mint("carol", roles=[role]))

    page, live, stream = (client.get(url) for url in (path, f"{base}/live", f"{base}/events"))

    for answer in (page, live, stream):
        assert answer.status_code == 403
        assert "for operators and auditors" in answer.text


@pytest.mark.parametrize(("path", "base"), LIVE_ROUTES)
def test_a_token_that_no_longer_verifies_is_no_session(
    console: TestClient, issuer: DevIssuer, path: str, base: str
) -> None:
    expired = issuer.mint("olga", roles=["operator"], now=0)
    client = signed_in(console, expired)

    page = client.get(path, follow_redirects=False)
    live = client.get(f"{base}/live")
    stream = client.get(f"{base}/events")

    assert page.status_code == 303
    assert (live.status_code, live.headers["hx-redirect"]) == (401, "/console/sign-in")
    assert "event: signin\ndata: /console/sign-in\n" in stream.text


def test_an_unreadable_layout_is_said_on_the_page(
    console: TestClient, issuer: DevIssuer, tmp_path: Path
) -> None:
    (tmp_path / "services.json").write_text("[1, 2]")

    answer = signed_in(console, issuer.mint("olga", roles=["operator"])).get("/console/")

    assert answer.status_code == 200
    assert "The services cannot be listed" in answer.text


def test_the_issuer_out_of_reach_is_a_readable_page(console: TestClient) -> None:
    answer = console.get("/console/sign-in")

    assert answer.status_code == 503
    assert "Sign-in unavailable" in answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(("path", "base", "start", "said"), LIVE_PAGES)
def test_each_live_page_is_pushed_by_server_sent_events(
    console: TestClient, issuer: DevIssuer, path: str, base: str, start: str, said: str
) -> None:
    """The page holds no polling and shows its live part without a script; its stream
    pushes that part (here one event, the stream kept short) and tells the browser to
    come back."""
    client = signed_in(console, issuer.mint("olga", roles=["operator"]))

    page = client.get(path)
    stream = client.get(f"{base}/events")

    assert "hx-trigger" not in page.text and start in page.text and said in page.text
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.text.startswith("retry: ")
    [event] = [e for e in stream.text.split("\n\n") if e.startswith("data: ")]
    html = "\n".join(line.removeprefix("data: ") for line in event.splitlines())
    assert html.startswith(start) and said in html


def test_the_overview_names_its_events_and_the_script_that_follows_them(
    console: TestClient, issuer: DevIssuer
) -> None:
    page = signed_in(console, issuer.mint("olga", roles=["operator"])).get("/console/")

    assert 'data-events="/console/overview/events"' in page.text
    assert '<script src="/console/static/live.js" defer>' in page.text
    assert console.get("/console/static/live.js").status_code == 200


@pytest.mark.parametrize("base", [base for _, base in LIVE_ROUTES])
def test_a_stream_without_a_session_sends_the_page_to_sign_in(
    console: TestClient, base: str
) -> None:
    stream = console.get(f"{base}/events")

    assert "event: signin\ndata: /console/sign-in\n" in stream.text

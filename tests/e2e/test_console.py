"""The console in a real browser (Playwright driving the system's Chromium) against the
running system, through a gateway as `paystream up` runs it (no bearer token needed under
/console): sign-in through the development issuer's login form, the Overview with
every service ready, a customer refused, sign-out. Each test saves a screenshot under
the run's artefacts (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import PHONE, WAIT_MS
from tests.support.console_process import running_console, sign_in
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def watched(stack: Stack) -> dict[str, str]:
    """Every service of the running system, by name, as `paystream up` records them."""
    return {process.spec.name: process.url for process in stack.processes}


@pytest.fixture(scope="module")
def console(
    stack: Stack, watched: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The console as a process of the running system, watching `watched` (every service
    before it), behind a gateway as `paystream up` runs it; its URL through the gateway."""
    with running_console(stack, tmp_path_factory.mktemp("console")) as url:
        yield url


def test_an_operator_signs_in_and_sees_every_service_ready(
    page: Page, console: str, watched: dict[str, str]
) -> None:
    sign_in(page, console, "olga", "operator")

    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("olga (operator)")).to_be_visible()
    for name in watched:
        row = page.locator("#services tbody tr", has=page.locator(f"th:text-is('{name}')"))
        expect(row.locator(".readiness")).to_have_text("up", timeout=WAIT_MS)
    expect(page.locator("#projections tbody tr").first).to_be_visible()
    expect(page.locator("#dead-letters-heading")).to_be_visible()
    expect(page.locator("#saga-heading")).to_be_visible()


def test_the_overview_refreshes_itself(page: Page, console: str) -> None:
    sign_in(page, console, "olga", "operator")
    first = page.locator(".updated").inner_text()

    expect(page.locator(".updated")).not_to_have_text(first, timeout=WAIT_MS)
    # The second frame has rates: figures instead of "-" for the services that served.
    expect(page.locator("#services tbody td", has_text="/s").first).to_be_visible()


def test_a_customer_is_refused_with_a_clear_page(page: Page, console: str) -> None:
    sign_in(page, console, "carol", "customer")

    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("The console is for operators and auditors")).to_be_visible()
    assert page.locator("#services").count() == 0
    assert "Traceback" not in page.content()


def test_an_auditor_signs_in_with_the_keyboard_alone_at_phone_width(
    page: Page, console: str
) -> None:
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.goto(f"{console}/")
    expect(page.get_by_label("Name")).to_be_focused()  # the form starts on the name
    page.keyboard.type("ada")
    page.keyboard.press("Tab")
    page.keyboard.type("auditor")  # a focused select picks the option typed
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page.get_by_text("ada (auditor)")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways at phone width"


def test_signing_out_ends_the_session(page: Page, console: str) -> None:
    sign_in(page, console, "olga", "operator")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{console}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_callback_not_started_here_is_refused_readably(page: Page, console: str) -> None:
    page.goto(f"{console}/callback?code=forged&state=forged")

    expect(page.get_by_role("heading", name="Not signed in")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()


def test_the_gateway_still_wants_a_token_beside_the_console(page: Page, console: str) -> None:
    gateway = console.removesuffix("/console")

    answer = page.request.get(f"{gateway}/accounts/some-account")
    lookalike = page.request.get(f"{gateway}/consoles")

    assert answer.status == 401
    assert lookalike.status in (401, 404)
    page.goto(f"{console}/")  # for the screenshot: the login form, reached through it

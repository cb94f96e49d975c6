"""The console's audit trail pages in a real browser against the running system: an
auditor traces a failed payment by its correlation id and sees the refund; the events
page shows an aggregate's chain verified, then broken once an event is altered with SQL;
the accounts page shows an account's history and its state before its last deposit,
and pages a long statement with "Older entries", newest first.
Each test saves a screenshot under the run's artefacts (tests/support/browser.py)."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from playwright.sync_api import Page, expect

from console.account_overview_reads import PAGE, STATEMENT_API
from eventstore import operator_log
from tests.e2e import test_console as console_tests
from tests.e2e.test_audit_trace import failed_payment
from tests.support.browser import PHONE
from tests.support.console_process import sign_in
from tests.support.stack import Stack, wait_until

pytestmark = pytest.mark.e2e

# The console of the running system behind a gateway, as test_console.py starts it.
watched = console_tests.watched
console = console_tests.console


def funded_account(stack: Stack, *amounts: int) -> str:
    """A new account of Alice's, with a deposit of each amount in turn; its id."""
    with httpx.Client(
        base_url=stack.url_of("accounts-api"), timeout=30, headers=stack.auth("alice")
    ) as http:
        opened = http.post("/accounts", json={"owner": "Alice", "currency": "EUR"})
        account_id = str(opened.json()["account_id"])
        for amount in amounts:
            answer = http.post(f"/accounts/{account_id}/deposits", json={"amount": amount})
            assert answer.is_success, answer.text
    return account_id


def test_an_auditor_traces_a_failed_payment_and_sees_the_refund(
    page: Page, console: str, stack: Stack
) -> None:
    correlation_id = f"console-trace-{uuid4()}"
    payment_id = failed_payment(stack, correlation_id)
    sign_in(page, console, "ada", "auditor")

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Trace").click()
    page.get_by_label("Correlation id").fill(correlation_id)
    page.get_by_role("button", name="Trace").click()

    timeline = page.locator("ol.timeline")
    expect(page.get_by_role("heading", name=f"Request {correlation_id}")).to_be_visible()
    for step in ("PaymentRequested.v1", "PaymentCreditRefused.v1", "AccountDebitRefunded.v1"):
        expect(timeline.get_by_role("link", name=step)).to_be_visible()
    expect(timeline.get_by_role("link", name="PaymentFailed.v1")).to_be_visible()
    expect(timeline.locator("li").first).to_contain_text(payment_id)

    timeline.get_by_role("link", name="PaymentFailed.v1").click()
    expect(page.locator(".chain-status")).to_have_text("verified")
    expect(page.get_by_text("PaymentFailed.v1").first).to_be_visible()
    page.go_back()  # the screenshot: the timeline
    expect(timeline.get_by_role("link", name="AccountDebitRefunded.v1")).to_be_visible()
    with stack.admin() as conn:  # each read recorded under her name (twice: back reloads)
        read = {
            (row.command, row.phase, tuple(row.roles))
            for row in operator_log.recent(conn, 100, "ada")
            if row.arguments.get("correlation_id") == correlation_id
        }
    assert read == {("audit trace", phase, ("auditor",)) for phase in ("started", "succeeded")}


def test_the_events_page_shows_a_chain_verified_then_broken_by_an_altered_event(
    page: Page, console: str, stack: Stack, watched: dict[str, str]
) -> None:
    account_id = funded_account(stack, 1_000, 500)
    published(stack, watched, account_id, 1_500)
    sign_in(page, console, "ada", "auditor")
    page.goto(f"{console}/events?context=accounts&aggregate_id={account_id}")
    expect(page.locator(".chain-status")).to_have_text("verified")
    expect(page.get_by_role("heading", name="accounts: 3 events")).to_be_visible()

    alter = (
        "UPDATE accounts.accounts_events SET state = {}"
        " WHERE originator_id = %s AND originator_version = 2"
    )
    with stack.admin() as conn:
        conn.execute(alter.format("state || ' '::bytea"), (account_id,))
    try:
        page.reload()
        expect(page.locator(".chain-status")).to_have_text("broken")
        expect(page.locator("ul.broken")).to_contain_text("v2")
    finally:
        with stack.admin() as conn:
            conn.execute(
                alter.format("substring(state FROM 1 FOR length(state) - 1)"), (account_id,)
            )

    page.goto(f"{console}/events?context=accounts&aggregate_id={account_id}&limit=2")
    expect(page.get_by_role("heading", name="accounts: 2 events")).to_be_visible()
    page.get_by_role("link", name="Older").click()  # keyset paging: before the oldest shown
    expect(page.get_by_role("heading", name="accounts: 1 event (older)")).to_be_visible()
    expect(page.locator("ol.events summary")).to_contain_text("AccountOpened.v1")
    expect(page.get_by_role("link", name="Older")).to_have_count(0)

    page.get_by_role("link", name="Newest").click()
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.locator("summary", has_text="MoneyDeposited.v1").first.click()
    expect(page.locator("details[open] pre").first).to_contain_text('"amount": 500')
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the events page scrolls sideways at phone width"


def summary_balance(stack: Stack, overview_api: str, account_id: str) -> int | None:
    """The account's balance as the query side has it now (None: not there yet)."""
    url = f"{overview_api}/accounts/{account_id}/overview"
    answer = httpx.get(url, headers=stack.auth("olga", "operator"), timeout=30)
    summary = answer.json().get("summary") if answer.is_success else None
    return int(summary["balance"]) if summary else None


def published(stack: Stack, watched: dict[str, str], account_id: str, balance: int) -> None:
    """Wait until the query side has the account's deposits: the relay has read and
    published its events, so altering one in the store cannot stop the relay."""
    wait_until(
        lambda: summary_balance(stack, watched["overview-api"], account_id) == balance,
        60,
        f"the query side to show {account_id} with balance {balance}",
    )


def test_the_accounts_page_shows_the_account_now_and_before_its_last_deposit(
    page: Page, console: str, stack: Stack, watched: dict[str, str]
) -> None:
    account_id = funded_account(stack, 1_000, 500)
    published(stack, watched, account_id, 1_500)
    sign_in(page, console, "olga", "operator")
    page.goto(f"{console}/accounts")
    page.get_by_label("Account id").fill(account_id)
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name="History: 3 events")).to_be_visible()
    expect(page.get_by_role("heading", name="State at version 3 of 3")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("1500 EUR")
    expect(page.locator("#entries tbody tr")).to_have_count(2)  # its statement
    expect(page.locator("#entries tbody tr").first).to_contain_text("500")  # newest first
    expect(page.get_by_text("No payment from or to this account.")).to_be_visible()
    second_deposit_at = page.locator("#history tbody tr").nth(1).locator("td").nth(1).inner_text()

    page.get_by_label("As of").fill(second_deposit_at)
    page.get_by_role("button", name="Look up").click()

    expect(page.get_by_role("heading", name="State at version 2 of 3")).to_be_visible()
    balance = page.locator("#state tr", has=page.locator("th:text-is('balance')"))
    expect(balance.locator("td")).to_have_text("1000")


def test_the_accounts_page_lists_the_accounts_payments_with_their_trace(
    page: Page, console: str, stack: Stack
) -> None:
    payment_id = failed_payment(stack, f"console-account-{uuid4()}")
    query = "SELECT source, status FROM read_payments.payments WHERE payment_id = %s"

    def shown_failed() -> bool:
        with stack.admin() as conn:
            row = conn.execute(query, (payment_id,)).fetchone()
        return row is not None and row[1] == "failed"

    wait_until(shown_failed, 60, "the payments read model to show the payment failed")
    with stack.admin() as conn:
        row = conn.execute(query, (payment_id,)).fetchone()
    assert row is not None
    sign_in(page, console, "olga", "operator")
    page.goto(f"{console}/accounts?account_id={row[0]}")

    listed = page.locator("#payments tbody tr", has=page.get_by_role("link", name=payment_id))
    expect(listed).to_contain_text("failed")
    listed.get_by_role("link", name=payment_id).click()
    expect(page.get_by_role("heading", name="Request ")).to_be_visible()


def statement_amounts(stack: Stack, statement_api: str, account_id: str) -> list[str]:
    """The amounts of the account's statement entries as the statement API lists them
    now, newest first (its first page of 50, as the page shows them)."""
    url = f"{statement_api}/accounts/{account_id}/statement"
    answer = httpx.get(url, headers=stack.auth("olga", "operator"), timeout=30)
    return [str(entry["amount"]) for entry in answer.json()["entries"]] if answer.is_success else []


def test_the_accounts_page_pages_a_long_statement_with_older_newest_first(
    page: Page, console: str, stack: Stack, watched: dict[str, str]
) -> None:
    deposits = [100 + n for n in range(PAGE + 5)]  # a page and a bit, each amount its own
    account_id = funded_account(stack, *deposits)
    newest_first = [str(amount) for amount in reversed(deposits)]
    wait_until(
        lambda: statement_amounts(stack, watched[STATEMENT_API], account_id) == newest_first,
        60,
        f"the statement to list every deposit of {account_id}",
    )
    sign_in(page, console, "olga", "operator")
    page.goto(f"{console}/accounts?account_id={account_id}")
    amounts = page.locator("#entries tbody tr td:nth-child(3)")
    expect(amounts).to_have_text(newest_first[:PAGE])

    page.get_by_role("link", name="Older entries").click()

    expect(amounts).to_have_text(newest_first[PAGE:])  # the rest: none twice, none missing
    expect(page.get_by_role("link", name="Older entries")).to_have_count(0)


def test_what_matches_nothing_is_said_plainly(page: Page, console: str) -> None:
    nobody = str(uuid4())
    sign_in(page, console, "ada", "auditor")

    page.goto(f"{console}/trace")
    page.get_by_label("Correlation id").focus()  # the form works from the keyboard alone
    page.keyboard.type(f"nobody-{nobody}")
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"No event has correlation id nobody-{nobody}.")).to_be_visible()
    page.goto(f"{console}/trace?payment_id={nobody}")
    expect(page.get_by_text(f"No event has payment id {nobody}.")).to_be_visible()
    page.goto(f"{console}/accounts?account_id={nobody}")
    expect(page.get_by_text(f"No account {nobody}.")).to_be_visible()
    page.goto(f"{console}/events?context=payments&aggregate_id={nobody}")
    expect(page.locator(".chain-status")).to_have_text("absent")
    expect(page.get_by_text("No event matches these filters.")).to_be_visible()
    assert "Traceback" not in page.content()


def test_an_event_altered_beyond_reading_is_a_finding_beside_the_broken_chain(
    page: Page, console: str, stack: Stack, watched: dict[str, str]
) -> None:
    account_id = funded_account(stack, 1_000)
    published(stack, watched, account_id, 1_000)
    where = "WHERE originator_id = %s AND originator_version = 2"
    with stack.admin() as conn:
        row = conn.execute(f"SELECT state FROM accounts.accounts_events {where}", (account_id,))
        original = row.fetchone()[0]  # type: ignore[index]
        conn.execute(
            f"UPDATE accounts.accounts_events SET state = 'not json'::bytea {where}", (account_id,)
        )
    try:
        sign_in(page, console, "ada", "auditor")
        page.goto(f"{console}/events?context=accounts&aggregate_id={account_id}")
        expect(page.locator(".chain-status")).to_have_text("broken")
        expect(page.locator("ul.broken")).to_contain_text("v2")
        expect(page.get_by_role("alert")).to_contain_text("An event cannot be read")
    finally:
        with stack.admin() as conn:
            conn.execute(
                f"UPDATE accounts.accounts_events SET state = %s {where}", (original, account_id)
            )
    assert "Traceback" not in page.content()

"""The console's pages with actions in a real browser against the running system: a
poison event halts a projection, the overview shows it first, the operator skips the
dead letter after a confirmation naming the event and the projection resumes, or retries
it once its cause is gone and the event is applied; a rebuild started from the console
finishes; an auditor sees the page but may not act; the audit page verifies clean (every
context, or one), names the link an SQL change broke, downloads a checkpoint and
verifies against it; the operator log names the signed-in person for each action. Each
test saves a screenshot (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import Locator, Page, expect

from domains.accounts.application import AccountsService
from eventstore.contexts import ACCOUNTS, application_env
from projections.account_summary import AccountSummaryProjection
from projections.versions import ACTIVE_TABLE
from tests.support.browser import PHONE
from tests.support.console_process import running_console, sign_in
from tests.support.stack import Stack, wait_until
from tests.support.workload import tracked_position

POISON = 13
HALT_MS = 90_000  # five attempts with backoff (0.5 s to 8 s), then the dead letter
REBUILD_MS = 120_000
VERIFY_MS = 120_000
SUMMARY = AccountSummaryProjection.read_schema()


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_console(stack, tmp_path_factory.mktemp("console-actions")) as url:
        yield url


@pytest.fixture(scope="module")
def accounts(stack: Stack) -> AccountsService:
    """The accounts' application service on the system's event store, writing beside the
    accounts API; a connection may take a while on a machine busy with the whole system."""
    env = application_env(ACCOUNTS, stack.db, pool_size=2) | {"POSTGRES_CONNECT_TIMEOUT": "20"}
    return AccountsService(env=env)


def summary_build(stack: Stack) -> str:
    """The schema of the account summary's active build, the one its projector writes."""
    with stack.admin() as conn:
        row = conn.execute(f"SELECT schema FROM {SUMMARY}.{ACTIVE_TABLE}").fetchone()
    assert row is not None
    return str(row[0])


def drop_poison(stack: Stack, build: str) -> None:
    """Take the trigger refusing deposits of 13 off `build`: its events apply again."""
    with stack.admin() as conn:
        conn.execute(f"DROP TRIGGER IF EXISTS poison ON {build}.accounts")
        conn.execute(f"DROP FUNCTION IF EXISTS {build}.refuse_poison()")


@pytest.fixture
def poisoned(stack: Stack, accounts: AccountsService) -> Iterator[UUID]:
    """An account whose deposits of 13 the live account summary cannot apply (a trigger
    on its active build refuses them); afterwards the trigger is gone and no dead letter
    is left open, whatever the test did."""
    account = accounts.open_account("Poisoned", "EUR").account_id
    build = summary_build(stack)
    with stack.admin() as conn:
        conn.execute(
            f"CREATE FUNCTION {build}.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN RAISE EXCEPTION 'cannot handle 13'; END$$"
        )
        conn.execute(
            f"CREATE TRIGGER poison BEFORE UPDATE ON {build}.accounts FOR EACH ROW WHEN"
            f" (NEW.account_id = '{account}' AND NEW.balance - OLD.balance = {POISON})"
            f" EXECUTE FUNCTION {build}.refuse_poison()"
        )
    try:
        yield account
    finally:
        drop_poison(stack, build)
        with stack.admin() as conn:
            conn.execute(
                f"UPDATE {SUMMARY}.dead_letters SET status = 'skipped', resolved_at = now(),"
                " resolved_by = 'test cleanup' WHERE status = 'open'"
            )
        wait_until(lambda: tracked_position(stack) >= stack.max_position(ACCOUNTS), 60, "resume")


def actions(stack: Stack, subject: str, command: str) -> list[dict[str, Any]]:
    """The operator log's rows of `subject` running `command`, oldest first."""
    with stack.admin() as conn:
        rows = conn.execute(
            "SELECT arguments, phase, roles FROM paystream_operations.actions"
            " WHERE subject = %s AND command = %s ORDER BY id",
            (subject, command),
        ).fetchall()
    return [{"arguments": r[0], "phase": r[1], "roles": r[2]} for r in rows]


def recorded_once(stack: Stack, subject: str, command: str) -> dict[str, Any]:
    """The arguments `subject`, an operator, ran `command` with, once and successfully."""
    [started, succeeded] = actions(stack, subject, command)
    assert (started["phase"], succeeded["phase"], started["roles"]) == (
        "started",
        "succeeded",
        ["operator"],
    )
    return dict(started["arguments"])


def halted_on_poison(
    page: Page, console: str, accounts: AccountsService, account: UUID, subject: str
) -> int:
    """Deposits of 5, POISON and 7 into `account`; the operator `subject` sees the account
    summary halt: an alarm on the overview, then its dead letter naming the event on the
    projections page. The poison's position."""
    accounts.deposit(account, 5)
    poison = accounts.deposit(account, POISON).position
    accounts.deposit(account, 7)
    assert poison is not None
    sign_in(page, console, subject, "operator")

    alarms = page.locator("ul.alarms")
    expect(alarms).to_contain_text("account_summary", timeout=HALT_MS)
    expect(alarms).to_contain_text("halted")
    page.goto(f"{console}/projections")
    letter = page.locator("#open-letters li", has_text=f"accounts:{poison} ")
    expect(letter).to_contain_text("MoneyDeposited")
    expect(letter).to_contain_text(str(account))
    expect(summary_row(page).locator(".state")).to_have_text("halted")
    return poison


def summary_row(page: Page) -> Locator:
    return page.locator("#read-models tr[data-projection='account_summary']")


def resolved_and_resumed(
    page: Page, stack: Stack, account: UUID, poison: int, verb: str, said: str
) -> None:
    """`verb` (Skip or Retry) of the poison's dead letter, confirmed on the page naming
    the event; the page says `said` and the projection resumes to the accounts' head."""
    letter = page.locator("#open-letters li", has_text=f"accounts:{poison} ")
    letter.get_by_role("link", name=f"{verb}…").click()

    expect(page.get_by_role("heading", name=f"{verb} a dead letter")).to_be_visible()
    expect(page.locator("#confirm-letters")).to_contain_text(f"accounts:{poison} MoneyDeposited")
    expect(page.locator("#confirm-letters")).to_contain_text(str(account))
    page.get_by_role("button", name=f"{verb} accounts:{poison}").click()

    expect(page.get_by_text(said)).to_be_visible()
    row = summary_row(page)
    expect(row.locator(".state")).to_have_text("running")
    head = f"{stack.max_position(ACCOUNTS):,}"
    expect(row.locator(".position")).to_have_text(head, timeout=HALT_MS)
    expect(page.locator("#open-letters li")).to_have_count(0)


def summary_balance(stack: Stack, account: UUID) -> int:
    with stack.admin() as conn:
        row = conn.execute(
            f"SELECT balance FROM {SUMMARY}.accounts WHERE account_id = %s", (account,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_poison_event_halts_a_projection_and_skipping_it_from_the_console_resumes_it(
    page: Page, console: str, stack: Stack, accounts: AccountsService, poisoned: UUID
) -> None:
    poison = halted_on_poison(page, console, accounts, poisoned, "olga-skips")

    said = "Skipped the dead letter; the projection resumes."
    resolved_and_resumed(page, stack, poisoned, poison, "Skip", said)

    assert summary_balance(stack, poisoned) == 5 + 7
    arguments = recorded_once(stack, "olga-skips", "projections skip")
    assert arguments == {"projection": "account_summary", "position": poison}


def test_a_dead_letter_retried_from_the_console_is_applied_once_its_cause_is_gone(
    page: Page, console: str, stack: Stack, accounts: AccountsService, poisoned: UUID
) -> None:
    poison = halted_on_poison(page, console, accounts, poisoned, "olga-retries")
    drop_poison(stack, summary_build(stack))

    said = "The dead letters will be retried; the projection resumes."
    resolved_and_resumed(page, stack, poisoned, poison, "Retry", said)

    assert summary_balance(stack, poisoned) == 5 + POISON + 7
    arguments = recorded_once(stack, "olga-retries", "projections retry")
    assert arguments == {"projection": "account_summary"}


def test_an_operator_starts_a_rebuild_and_sees_it_finish(
    page: Page, console: str, stack: Stack
) -> None:
    sign_in(page, console, "olga-rebuilds", "operator")
    page.goto(f"{console}/projections")

    page.get_by_label("Read model", exact=True).select_option("payments")
    page.get_by_role("button", name="Start rebuild").click()

    expect(page.get_by_text("The rebuild started")).to_be_visible()
    run = page.locator("#rebuilds li[data-projection='payments']")
    expect(run.locator(".run-state")).to_have_text("finished", timeout=REBUILD_MS)
    expect(run.locator(".outcome")).to_contain_text("readers switched")
    wait_until(
        lambda: (
            [a["phase"] for a in actions(stack, "olga-rebuilds", "rebuild")]
            == ["started", "succeeded"]
        ),
        30,
        "the rebuild's end in the operator log",
    )
    [started, _] = actions(stack, "olga-rebuilds", "rebuild")
    assert started["arguments"] == {"projection": "payments", "dry_run": False}


def test_an_auditor_sees_the_pages_but_is_refused_the_actions_even_at_phone_width(
    page: Page, console: str, stack: Stack
) -> None:
    sign_in(page, console, "ada-looks", "auditor")
    page.goto(f"{console}/projections")

    expect(page.locator("#read-models tr[data-projection='account_summary']")).to_be_visible()
    expect(page.get_by_text("only operators may retry, skip or rebuild")).to_be_visible()
    expect(page.get_by_role("button", name="Start rebuild")).to_be_disabled()
    refused = page.request.post(
        f"{console}/projections/rebuild", form={"name": "payments"}, max_redirects=0
    )
    skip = page.request.post(
        f"{console}/projections/account_summary/skip", form={"position": "1"}, max_redirects=0
    )

    assert refused.status == 403 and "Only operators may act here" in refused.text()
    assert skip.status == 403
    assert actions(stack, "ada-looks", "rebuild") == []
    assert actions(stack, "ada-looks", "projections skip") == []
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    for path in ("/projections", "/audit"):
        page.goto(f"{console}{path}")
        expect(page.locator("h1")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways at phone width"


def tampered(stack: Stack, account: UUID, change: str) -> None:
    """Append a byte to the state of `account`'s second event (`change` "append"), or
    take it off again ("restore"), in SQL, behind the event store's back."""
    state = (
        "state || ' '::bytea"
        if change == "append"
        else "substring(state FROM 1 FOR length(state) - 1)"
    )
    with stack.admin() as conn:
        conn.execute(
            f"UPDATE accounts.accounts_events SET state = {state}"
            " WHERE originator_id = %s AND originator_version = 2",
            (account,),
        )


def test_the_audit_page_verifies_names_a_broken_link_takes_a_checkpoint_and_one_context(
    page: Page, console: str, stack: Stack, accounts: AccountsService, tmp_path: Path
) -> None:
    account = accounts.open_account("Tampered", "EUR").account_id
    accounts.deposit(account, 5)
    sign_in(page, console, "ada-verifies", "auditor")
    page.goto(f"{console}/audit")
    state = page.locator(".verify-state")

    page.get_by_role("button", name="Verify the chains").click()
    expect(state).to_have_text("verified", timeout=VERIFY_MS)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download a checkpoint").click()
    checkpoint = tmp_path / download.value.suggested_filename
    download.value.save_as(checkpoint)

    tampered(stack, account, "append")
    try:
        page.get_by_role("button", name="Verify the chains").click()
        expect(state).to_have_text("broken", timeout=VERIFY_MS)
    finally:
        tampered(stack, account, "restore")
    broken = page.locator("#broken-links tbody tr")
    expect(broken).to_have_count(1)
    expect(broken.locator(".aggregate")).to_have_text(str(account))
    expect(broken.locator(".versions")).to_have_text("v2")
    expect(broken).to_contain_text("altered")

    page.get_by_label("Checkpoint file").set_input_files(checkpoint)
    page.get_by_role("button", name="Verify against the checkpoint").click()
    expect(page.get_by_text(f"against the checkpoint {checkpoint.name}")).to_be_visible()
    expect(state).to_have_text("verified", timeout=VERIFY_MS)

    page.get_by_label("Contexts").select_option("accounts")
    page.get_by_role("button", name="Verify the chains").click()
    expect(page.get_by_text("of the context accounts")).to_be_visible()
    expect(state).to_have_text("verified", timeout=VERIFY_MS)
    expect(page.locator("#verified-contexts li")).to_have_count(1)
    expect(page.locator("#verified-contexts li")).to_contain_text("accounts:")
    verifications = actions(stack, "ada-verifies", "audit verify")
    phases = [row["phase"] for row in verifications]
    assert phases == ["started", "succeeded", "started", "failed"] + ["started", "succeeded"] * 2
    assert verifications[-3]["arguments"] == {"context": None, "checkpoint": checkpoint.name}
    assert verifications[-1]["arguments"] == {"context": "accounts", "checkpoint": None}
    [started, succeeded] = actions(stack, "ada-verifies", "audit checkpoint")
    assert (started["phase"], succeeded["phase"], started["roles"]) == (
        "started",
        "succeeded",
        ["auditor"],
    )

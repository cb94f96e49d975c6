"""The console's pages with actions in a real browser against the running system: a
poison event halts a projection, the overview shows it first, the operator skips the
dead letter after a confirmation naming the event and the projection resumes; a rebuild
started from the console finishes; an auditor sees the page but may not act; the
operator log names the signed-in operator for each action. Each test saves a screenshot
(tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import Page, expect

from eventstore.contexts import ACCOUNTS
from projections.account_summary import AccountSummaryProjection
from projections.versions import ACTIVE_TABLE
from tests.support.console_process import running_console, sign_in
from tests.support.stack import Stack, wait_until
from tests.support.workload import accounts_service, tracked_position

POISON = 13
HALT_MS = 90_000  # five attempts with backoff (0.5 s to 8 s), then the dead letter
REBUILD_MS = 120_000
SUMMARY = AccountSummaryProjection.read_schema()


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_console(stack, tmp_path_factory.mktemp("console-actions")) as url:
        yield url


@pytest.fixture
def poisoned(stack: Stack) -> Iterator[UUID]:
    """An account whose deposits of 13 the live account summary cannot apply (a trigger
    on its active build refuses them); afterwards the trigger is gone and no dead letter
    is left open, whatever the test did."""
    account = accounts_service(stack).open_account("Poisoned", "EUR").account_id
    with stack.admin() as conn:
        row = conn.execute(f"SELECT schema FROM {SUMMARY}.{ACTIVE_TABLE}").fetchone()
        assert row is not None
        build = row[0]
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
        with stack.admin() as conn:
            conn.execute(f"DROP TRIGGER IF EXISTS poison ON {build}.accounts")
            conn.execute(f"DROP FUNCTION IF EXISTS {build}.refuse_poison()")
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


def test_a_poison_event_halts_a_projection_and_skipping_it_from_the_console_resumes_it(
    page: Page, console: str, stack: Stack, poisoned: UUID
) -> None:
    service = accounts_service(stack)
    service.deposit(poisoned, 5)
    poison = service.deposit(poisoned, POISON).position
    service.deposit(poisoned, 7)
    sign_in(page, console, "olga-skips", "operator")

    alarms = page.locator("ul.alarms")
    expect(alarms).to_contain_text("account_summary", timeout=HALT_MS)
    expect(alarms).to_contain_text("halted")
    page.goto(f"{console}/projections")
    letter = page.locator("#open-letters li", has_text=f"accounts:{poison} ")
    expect(letter).to_contain_text("MoneyDeposited")
    expect(letter).to_contain_text(str(poisoned))
    row = page.locator("#read-models tr[data-projection='account_summary']")
    expect(row.locator(".state")).to_have_text("halted")
    letter.get_by_role("link", name="Skip…").click()

    expect(page.get_by_role("heading", name="Skip a dead letter")).to_be_visible()
    expect(page.locator("#confirm-letters")).to_contain_text(f"accounts:{poison} MoneyDeposited")
    expect(page.locator("#confirm-letters")).to_contain_text(str(poisoned))
    page.get_by_role("button", name=f"Skip accounts:{poison}").click()

    expect(page.get_by_text("Skipped the dead letter; the projection resumes.")).to_be_visible()
    expect(row.locator(".state")).to_have_text("running")
    head = f"{stack.max_position(ACCOUNTS):,}"
    expect(row.locator(".position")).to_have_text(head, timeout=HALT_MS)
    expect(page.locator("#open-letters li")).to_have_count(0)
    [started, succeeded] = actions(stack, "olga-skips", "projections skip")
    assert started["arguments"] == {"projection": "account_summary", "position": poison}
    assert (started["phase"], succeeded["phase"], started["roles"]) == (
        "started",
        "succeeded",
        ["operator"],
    )


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


def test_an_auditor_sees_the_projections_but_is_refused_the_actions(
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

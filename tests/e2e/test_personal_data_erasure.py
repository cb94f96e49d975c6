"""`paystream gdpr erase` on the running system: Erin, who paid Frank and was paid by him,
is erased. Her name and references are then nowhere, neither in any table of any schema
(events, snapshots, idempotency records, every read model, dead letters), nor in the
raw JetStream messages, the services' logs or `audit export`; Frank's are untouched.
The chains still verify, rebuilds equal the live read models, the erasure is in the
audit trail, and erasing again, erasing no one and erasing as a customer are handled."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from psycopg import sql

from domains.erasure import ERASED_TEXT
from eventstore.contexts import ACCOUNTS, PAYMENTS, Context
from eventstore.idempotency import ERASED_FINGERPRINT
from identity.roles import CUSTOMER
from projections.projection import TRACKING_TABLE
from projections.registry import PROJECTIONS, get_projection
from scripts.cli.errors import CANNOT_RUN
from tests.support.cli import CliRun, paystream
from tests.support.operator_token import operator_env, operator_token
from tests.support.stack import Stack, wait_until

pytestmark = pytest.mark.e2e

TIMEOUT = 30.0


@dataclass
class Person:
    subject: str
    name: str
    reference: str
    account: str = ""
    payment: str = ""

    @property
    def secrets(self) -> tuple[str, str]:
        return self.name, self.reference


@dataclass
class Erasure:
    erin: Person
    frank: Person
    exported: CliRun  # before the erasure
    first: CliRun
    again: CliRun
    exported_after: CliRun


def open_funded(stack: Stack, person: Person) -> None:
    auth = stack.auth(person.subject)
    with httpx.Client(base_url=stack.url_of("accounts-api"), timeout=TIMEOUT, headers=auth) as api:
        opened = api.post(
            "/accounts",
            json={"owner": person.name, "currency": "EUR"},
            headers={"Idempotency-Key": f"open-{person.subject}"},
        )
        assert opened.status_code == 201, opened.text
        person.account = str(opened.json()["account_id"])
        deposit = api.post(f"/accounts/{person.account}/deposits", json={"amount": 5_000})
        assert deposit.is_success, deposit.text


def pay(stack: Stack, payer: Person, payee: Person) -> None:
    body = {
        "source": payer.account,
        "destination": payee.account,
        "amount": 700,
        "currency": "EUR",
        "reference": payer.reference,
    }
    headers = {"Idempotency-Key": f"pay-{payer.subject}", **stack.auth(payer.subject)}
    answer = httpx.post(
        f"{stack.url('payments-api')}/payments", json=body, headers=headers, timeout=TIMEOUT
    )
    assert answer.status_code == 202, answer.text
    payer.payment = str(answer.json()["payment_id"])


def read_model_rows(stack: Stack, name: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the read model readers see (its views onto the active build; not
    its tracking rows, which are bookkeeping), each table's rows sorted."""
    schema = get_projection(name).read_schema()
    with stack.admin() as conn:
        views = conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = %s"
            " AND table_name <> %s ORDER BY 1",
            (schema, TRACKING_TABLE),
        ).fetchall()
        rows = {
            view: conn.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(view))
            ).fetchall()
            for (view,) in views
        }
    assert rows, name
    return {view: sorted(found, key=repr) for view, found in rows.items()}


def value(stack: Stack, query: str, *params: object) -> Any:
    with stack.admin() as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def shown_everywhere(stack: Stack, person: Person, shown: str, reference: str) -> bool:
    """Each read model shows `shown` as the person's name and `reference` as theirs."""
    return bool(
        value(stack, "SELECT owner FROM read_account_summary.accounts WHERE account_id = %s",
              person.account) == shown
        and value(stack, "SELECT reference FROM read_payments.payments WHERE payment_id = %s",
                  person.payment) == reference
        and value(stack, "SELECT count(*) FROM read_account_statement.entries WHERE"
                  " payment_id = %s AND reference = %s", person.payment, reference) == 2
        and value(stack, "SELECT count(*) FROM read_notifications.notifications WHERE"
                  " payment_id = %s AND reference = %s", person.payment, reference) == 2
    )  # fmt: skip


def quoting_dead_letter(stack: Stack, person: Person) -> None:
    """A dead letter quoting the person's name in its error, as a failing handler's might,
    and in its body, as an event stored before sealing does."""
    with stack.admin() as conn:
        conn.execute(
            "INSERT INTO read_account_summary.dead_letters (source, position, event_type,"
            " aggregate_id, body, error, attempts, status) VALUES ('accounts', 0,"
            " 'AccountOpened.v1', %s, %s, %s, 1, 'skipped')",
            (
                person.account,
                orjson.dumps({"owner": person.name}),  # as stored before sealing
                f"ValueError: cannot store owner {person.name!r}",
            ),
        )


def kek_env(stack: Stack) -> dict[str, str]:
    return {"PAYSTREAM_KEK_DIR": str(stack.kek_dir)}


def erase(stack: Stack, subject: str, *more: str, env: dict[str, str] | None = None) -> CliRun:
    return paystream(
        stack.database_url,
        "gdpr",
        "erase",
        subject,
        "--reason",
        "subject access request 2026-118",
        *more,
        env={**kek_env(stack), **(env or {})},
    )


def export(stack: Stack, subject: str, env: dict[str, str] | None = None) -> CliRun:
    return paystream(
        stack.database_url, "gdpr", "export", subject, env={**kek_env(stack), **(env or {})}
    )


def exported_events(run: CliRun) -> list[dict[str, Any]]:
    assert run.returncode == 0, run.output
    return [orjson.loads(line) for line in run.stdout.splitlines()]


@pytest.fixture(scope="module")
def erasure(stack: Stack) -> Iterator[Erasure]:
    tag = uuid.uuid4().hex[:10]
    erin = Person(f"erin-{tag}", f"Erin Quillfeather {tag}", f"rent from Erin {tag}")
    frank = Person(f"frank-{tag}", f"Frank Oddbody {tag}", f"books from Frank {tag}")
    for person in (erin, frank):
        open_funded(stack, person)
    pay(stack, erin, frank)
    pay(stack, frank, erin)
    wait_until(
        lambda: all(shown_everywhere(stack, p, p.name, p.reference) for p in (erin, frank)),
        60,
        "both payments in every read model",
    )
    quoting_dead_letter(stack, erin)
    exported = export(stack, erin.subject)
    first = erase(stack, erin.subject)
    assert first.returncode == 0, first.output
    wait_until(
        lambda: shown_everywhere(stack, erin, ERASED_TEXT, ERASED_TEXT),
        60,
        "every read model to show Erin erased",
    )
    again = erase(stack, erin.subject)
    yield Erasure(erin, frank, exported, first, again, export(stack, erin.subject))
    with stack.admin() as conn:  # the system is shared with the next modules
        conn.execute("DELETE FROM read_account_summary.dead_letters WHERE position = 0")


def tables_holding(stack: Stack, text: str) -> list[str]:
    """Every column of every table in the database holding `text` (bytes in bytea)."""
    found = []
    with stack.admin() as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type"
            " FROM information_schema.columns c JOIN information_schema.tables t"
            " USING (table_schema, table_name) WHERE t.table_type = 'BASE TABLE'"
            " AND c.table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table, column, data_type in columns:
            test = (
                "position(convert_to(%s, 'UTF8') IN {column}) > 0"
                if data_type == "bytea"
                else "strpos({column}::text, %s) > 0"
            )
            query = sql.SQL("SELECT count(*) FROM {}.{} WHERE " + test).format(
                sql.Identifier(schema), sql.Identifier(table), column=sql.Identifier(column)
            )
            row = conn.execute(query, (text,)).fetchone()
            if row is not None and row[0]:
                found.append(f"{schema}.{table}.{column}")
    return found


def stream_bytes(stack: Stack, context: Context) -> bytes:
    """Every raw message of the context's stream, data and headers, as stored."""
    return b"\n".join(
        message.data + orjson.dumps(message.headers) for message in stack.stream_messages(context)
    )


def test_her_export_holds_her_accounts_and_payments_history_decrypted(
    erasure: Erasure,
) -> None:
    erin, frank = erasure.erin, erasure.frank
    events = exported_events(erasure.exported)
    assert {e["aggregate_id"] for e in events} == {erin.account, erin.payment, frank.account}
    [opened] = [e for e in events if e["type"] == "AccountOpened.v1"]
    assert opened["payload"]["owner"] == erin.name
    [requested] = [e for e in events if e["type"] == "PaymentRequested.v1"]
    assert requested["payload"]["reference"] == erin.reference
    # of Frank's account, only the credit her payment made, with her reference
    [credit] = [e for e in events if e["aggregate_id"] == frank.account]
    assert (credit["type"], credit["payload"]["reference"]) == (
        "AccountCredited.v1",
        erin.reference,
    )
    assert frank.name not in erasure.exported.stdout
    assert [e["position"] for e in events if e["context"] == "accounts"] == sorted(
        e["position"] for e in events if e["context"] == "accounts"
    )


def test_after_the_erasure_her_export_shows_the_marker(erasure: Erasure) -> None:
    events = exported_events(erasure.exported_after)
    assert len(events) == len(exported_events(erasure.exported)) + 2  # the erasure events
    for secret in erasure.erin.secrets:
        assert secret not in erasure.exported_after.stdout
    [opened] = [e for e in events if e["type"] == "AccountOpened.v1"]
    assert opened["payload"]["owner"] == ERASED_TEXT


def test_exporting_no_one_or_as_a_customer_is_refused(stack: Stack, erasure: Erasure) -> None:
    nobody = export(stack, f"nobody-{uuid.uuid4().hex[:8]}")
    assert nobody.returncode == CANNOT_RUN, nobody.output
    assert nobody.stderr.startswith("error: no personal data is held for subject")
    frank = erasure.frank
    as_customer = export(
        stack, frank.subject, env=operator_env(operator_token(frank.subject, CUSTOMER))
    )
    assert as_customer.returncode != 0
    assert as_customer.stdout == ""
    assert "needs the role" in as_customer.stderr


def test_erin_is_erased_and_told_so(erasure: Erasure) -> None:
    output = erasure.first.stdout
    assert f"erased subject {erasure.erin.subject!r}" in output
    assert "erasure recorded on 1 account and 1 payment" in output
    assert "1 dead letter" in output


def test_her_data_is_in_no_table_of_any_schema(stack: Stack, erasure: Erasure) -> None:
    for secret in erasure.erin.secrets:
        assert tables_holding(stack, secret) == [], secret


def test_franks_data_is_untouched_and_readable(stack: Stack, erasure: Erasure) -> None:
    frank = erasure.frank
    assert shown_everywhere(stack, frank, frank.name, frank.reference)
    assert any(place.endswith(".accounts.owner") for place in tables_holding(stack, frank.name))


def test_the_raw_jetstream_messages_hold_none_of_it(stack: Stack, erasure: Erasure) -> None:
    raw = stream_bytes(stack, ACCOUNTS) + stream_bytes(stack, PAYMENTS)
    for secret in (*erasure.erin.secrets, *erasure.frank.secrets):
        assert secret.encode() not in raw  # sealed before they were ever published
    assert str(erasure.erin.account).encode() in raw


def test_the_service_logs_hold_none_of_it(stack: Stack, erasure: Erasure) -> None:
    logs = [path for path in (stack.work_dir / "logs").rglob("*") if path.is_file()]
    assert logs
    for path in logs:
        text = path.read_bytes()
        for secret in erasure.erin.secrets:
            assert secret.encode() not in text, path


def test_audit_export_shows_the_marker_for_her_and_franks_data(
    stack: Stack, erasure: Erasure
) -> None:
    exported = paystream(stack.database_url, "audit", "export", env=kek_env(stack))
    assert exported.returncode == 0, exported.output
    for secret in erasure.erin.secrets:
        assert secret not in exported.stdout
    assert erasure.frank.name in exported.stdout
    opened = [
        orjson.loads(line)
        for line in exported.stdout.splitlines()
        if erasure.erin.account in line and "AccountOpened.v1" in line
    ]
    assert [event["payload"]["owner"] for event in opened] == [ERASED_TEXT]


def test_the_erasure_is_in_the_audit_trail(stack: Stack, erasure: Erasure) -> None:
    history = paystream(
        stack.database_url, "audit", "history", erasure.erin.account, "--json", env=kek_env(stack)
    )
    assert history.returncode == 0, history.output
    [erased] = [
        e for e in orjson.loads(history.stdout) if e["type"] == "AccountPersonalDataErased.v1"
    ]
    assert erased["payload"]["reason"] == "subject access request 2026-118"
    assert erased["payload"]["erased_by"] == "test-operator"


def test_the_chains_still_verify(stack: Stack, erasure: Erasure) -> None:
    verified = paystream(stack.database_url, "audit", "verify")
    assert verified.returncode == 0, verified.output


def test_a_rebuild_of_every_read_model_equals_the_live_one(stack: Stack, erasure: Erasure) -> None:
    for name in PROJECTIONS:
        live = read_model_rows(stack, name)
        rebuilt = paystream(stack.database_url, "rebuild", name, env=kek_env(stack))
        assert rebuilt.returncode == 0, rebuilt.output
        assert read_model_rows(stack, name) == live, name


def test_a_replay_after_the_erasure_loads_every_aggregate(stack: Stack, erasure: Erasure) -> None:
    for context in ("accounts", "payments"):
        replayed = paystream(stack.database_url, "replay", context, env=kek_env(stack))
        assert replayed.returncode == 0, replayed.output


def test_her_requests_keep_no_fingerprint_and_franks_do(stack: Stack, erasure: Erasure) -> None:
    """A SHA-256 of a body holding a name can be reversed by trying names."""
    query = "SELECT request_fingerprint FROM accounts.idempotency_keys WHERE key = %s"
    erin, frank = erasure.erin, erasure.frank
    assert value(stack, query, f"{erin.subject} open-{erin.subject}") == ERASED_FINGERPRINT
    assert value(stack, query, f"{frank.subject} open-{frank.subject}") not in (
        None,
        ERASED_FINGERPRINT,
    )


def test_the_accounts_service_forgot_her_name(stack: Stack, erasure: Erasure) -> None:
    """Its cached account learns of the erasure from the account's own events."""
    erin = erasure.erin
    with httpx.Client(
        base_url=stack.url_of("accounts-api"), timeout=TIMEOUT, headers=stack.auth(erin.subject)
    ) as api:
        deposit = api.post(f"/accounts/{erin.account}/deposits", json={"amount": 1})
        assert deposit.is_success, deposit.text
        assert deposit.json()["owner"] == ERASED_TEXT
        retried = api.post(
            "/accounts",
            json={"owner": "someone else entirely", "currency": "EUR"},
            headers={"Idempotency-Key": f"open-{erin.subject}"},
        )  # its fingerprint is gone: answered from the record, not refused as reused
        assert retried.status_code == 201, retried.text
        assert retried.json()["account_id"] == erin.account


def test_erasing_again_records_nothing_new(stack: Stack, erasure: Erasure) -> None:
    assert erasure.again.returncode == 0, erasure.again.output
    assert "was erased before" in erasure.again.stdout
    assert "0 accounts and 0 payments" in erasure.again.stdout
    count = value(
        stack,
        "SELECT count(*) FROM accounts.accounts_events WHERE originator_id = %s"
        " AND topic = 'AccountPersonalDataErased.v1'",
        erasure.erin.account,
    )
    assert count == 1


def test_erasing_no_one_is_a_clear_error(stack: Stack, erasure: Erasure) -> None:
    refused = erase(stack, f"nobody-{uuid.uuid4().hex[:8]}")
    assert refused.returncode == CANNOT_RUN, refused.output
    assert "no personal data is held for subject" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1


def test_a_customer_cannot_erase(stack: Stack, erasure: Erasure) -> None:
    frank = erasure.frank
    as_customer = operator_env(operator_token(frank.subject, CUSTOMER))
    refused = erase(stack, frank.subject, env=as_customer)
    assert refused.returncode != 0
    assert "needs the role operator" in refused.stderr
    assert value(
        stack, "SELECT wrapped IS NOT NULL FROM personal_data.data_keys WHERE subject = %s",
        frank.subject,
    )  # fmt: skip
    assert shown_everywhere(stack, frank, frank.name, frank.reference)

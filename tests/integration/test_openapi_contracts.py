"""Each service's OpenAPI document declares every answer it gives (schemathesis, in process).

Integration, not api/: the apps run on the real provisioned database (the `stack`
fixture), the command APIs with their application services, the query APIs on their
read models, and the payments API asks a real account summary API over HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api import accounts_app, payments_commands
from api.health import worker_app
from api.query_app import create_query_app
from api.query_registry import QUERY_APIS
from domains.accounts.access import Caller
from domains.accounts.application import AccountsService
from domains.payments.application import PaymentsService
from eventstore.contexts import ACCOUNTS, PAYMENTS, application_env
from identity.roles import CUSTOMER
from projections.account_summary import AccountSummaryProjection
from scripts.devstack.embedded import free_port
from tests.support.contract_run import contract_failures, run_contract
from tests.support.issuer import Bearer, DevIssuer, dev_issuer
from tests.support.stack import Stack, wait_until
from tests.support.workload import ProjectorThread, accounts_service, summary_rows

# Past this a consistency-token wait answers 503 (declared); small keeps the run fast.
CONSISTENCY_WAIT_SECONDS = 0.05


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> DevIssuer:
    return dev_issuer(tmp_path_factory.mktemp("issuer"))


ADA = Caller("ada", frozenset({CUSTOMER}))


@pytest.fixture(scope="module")
def caller(issuer: DevIssuer) -> dict[str, str]:
    """The token every generated command carries: Ada's, who holds the accounts used."""
    return {"Authorization": f"Bearer {issuer.mint(ADA.subject, roles=[CUSTOMER])}"}


@pytest.fixture(scope="module")
def reader(issuer: DevIssuer) -> dict[str, str]:
    """The token every generated query carries: an auditor's (reads every account)."""
    return {"Authorization": f"Bearer {issuer.mint('audrey', roles=['auditor'])}"}


@pytest.fixture(scope="module")
def accounts_summary(stack: Stack, issuer: DevIssuer) -> Iterator[str]:
    """The account summary query API the payments API asks, served over HTTP in a thread."""
    api = QUERY_APIS["account-summary"]
    conninfo = stack.db.role_conninfo(api.role)
    app = create_query_app(api, conninfo, issuer.verifier(), CONSISTENCY_WAIT_SECONDS)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "the account summary API")
    url = f"http://127.0.0.1:{port}"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PAYSTREAM_ACCOUNT_SUMMARY_QUERY_URL", url)
            yield url
    finally:
        server.should_exit = True
        thread.join(10)


def test_accounts_command_api_keeps_its_contract(
    stack: Stack, issuer: DevIssuer, caller: dict[str, str]
) -> None:
    env = application_env(ACCOUNTS, stack.db)
    app = accounts_app.create_app(lambda: AccountsService(env=env), issuer.verifier())
    service = accounts_service(stack)
    opened = [str(service.open_account(f"holder-{i}", "EUR", ADA).account_id) for i in range(3)]
    service.close()
    run = run_contract(
        app,
        {
            "dictionaries": {"opened": {"values": opened}},
            "parameters": {"path.account_id": {"dictionary": "opened", "probability": 0.9}},
        },
        caller,
    )
    assert not run.failures, "\n\n".join(run.failures)
    assert {("POST /accounts", 201), ("POST /accounts/{account_id}/deposits", 200)} <= run.answered


@pytest.fixture(scope="module")
def euro_accounts(stack: Stack) -> list[str]:
    """Two EUR accounts the account summary knows (opened, relayed, projected), so that
    some generated payments are accepted."""
    relay = stack.start("relay-accounts")
    projector = ProjectorThread(stack, AccountSummaryProjection())
    projector.start()
    try:
        service = accounts_service(stack)
        ids = [service.open_account(f"payer-{i}", "EUR", ADA).account_id for i in range(2)]
        service.close()
        wait_until(lambda: set(ids) <= set(summary_rows(stack)), 30, "the accounts' summaries")
    finally:
        projector.finish()
        relay.stop()
    return [str(account_id) for account_id in ids]


def test_payments_command_api_keeps_its_contract(
    stack: Stack,
    issuer: DevIssuer,
    caller: dict[str, str],
    accounts_summary: str,
    euro_accounts: list[str],
) -> None:
    env = application_env(PAYMENTS, stack.db)
    lookup = Bearer(issuer.mint("payments-api", roles=["service"], client_id="payments-api"))
    app = payments_commands.create_app(lambda: PaymentsService(env=env), issuer.verifier(), lookup)
    known = {"dictionary": "euro_accounts", "probability": 0.9}
    run = run_contract(
        app,
        {
            # More examples than elsewhere: a payment is accepted only when every one of
            # its fields and headers is drawn right, and one must be (the assertion below).
            "generation": {"max-examples": 20, "deterministic": True, "database": "none"},
            "dictionaries": {
                "euro_accounts": {"values": euro_accounts},
                "euro": {"values": ["EUR"]},
                "references": {"values": ["invoice 42", "Miete März"]},
                "causes": {"values": ["payments:1"]},
                "traces": {"values": ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]},
            },
            "parameters": {
                "body.source": known,
                "body.destination": known,
                "body.currency": {"dictionary": "euro", "probability": 0.9},
                "body.reference": {"dictionary": "references", "probability": 0.7},
                "header.X-Causation-Id": {"dictionary": "causes", "probability": 0.9},
                "header.traceparent": {"dictionary": "traces", "probability": 0.9},
            },
        },
        caller,
    )
    assert not run.failures, "\n\n".join(run.failures)
    # Since the APIs need a token, the generator no longer draws an accepted payment in
    # its examples: one is sent here, and its answer must be the documented one.
    with TestClient(app, headers=caller) as client:
        body = {"source": euro_accounts[0], "destination": euro_accounts[1], "amount": 1}
        accepted = client.post("/payments", json=body | {"currency": "EUR"})
        document = client.get("/openapi.json").json()
    assert accepted.status_code == 202, accepted.text
    answer = document["paths"]["/payments"]["post"]["responses"]["202"]["content"]
    schema_name = answer["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(accepted.json()) == set(document["components"]["schemas"][schema_name]["properties"])


@pytest.mark.parametrize("name", sorted(QUERY_APIS))
def test_query_api_keeps_its_contract(
    stack: Stack, issuer: DevIssuer, reader: dict[str, str], name: str
) -> None:
    api = QUERY_APIS[name]
    conninfo = stack.db.role_conninfo(api.role)
    app = create_query_app(api, conninfo, issuer.verifier(), CONSISTENCY_WAIT_SECONDS)
    failures = contract_failures(app, reader)
    assert not failures, "\n\n".join(failures)


async def nothing_missing() -> list[str]:
    """A readiness check that finds every dependency there."""
    return []


def test_worker_status_api_keeps_its_contract() -> None:
    app = worker_app("Paystream worker", nothing_missing, lambda: {"position": 1})
    failures = contract_failures(app)
    assert not failures, "\n\n".join(failures)

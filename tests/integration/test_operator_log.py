"""The operating commands run as a verified operator or auditor and leave their trace in
the operator log: who ran what, with what, and how it ended (issue 11, item 5)."""

from __future__ import annotations

import json
from typing import Any

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from eventstore import operator_log
from identity.roles import AUDITOR, CUSTOMER, OPERATOR
from scripts.cli.errors import CANNOT_RUN
from scripts.devstack.embedded import free_port
from tests.support.cli import CliRun, paystream
from tests.support.operator_token import ISSUER, SUBJECT, operator_token
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def as_(stack: Stack, token: str, *args: str, **env: str) -> CliRun:
    return paystream(stack.database_url, *args, env={"PAYSTREAM_TOKEN": token, **env})


def log_rows(stack: Stack) -> list[dict[str, Any]]:
    """Every row of the operator log, read as the log's own role."""
    with psycopg.connect(stack.db.role_conninfo(operator_log.ROLE)) as conn:
        return [row.as_json() for row in operator_log.recent(conn, 10_000)]


def one_line_refusal(result: CliRun) -> str:
    assert result.returncode == CANNOT_RUN, result.output
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def test_a_rebuild_plan_is_recorded_with_who_ran_it_and_how_it_ended(stack: Stack) -> None:
    before = len(log_rows(stack))

    result = paystream(stack.database_url, "rebuild", "account_summary", "--dry-run")

    assert result.returncode == 0, result.output
    started, ended = log_rows(stack)[before:]
    assert started["action_id"] == ended["action_id"]
    assert [started["phase"], ended["phase"]] == ["started", "succeeded"]
    for row in (started, ended):
        assert row["subject"] == SUBJECT
        assert row["roles"] == sorted([AUDITOR, OPERATOR])
        assert row["command"] == "rebuild"
        assert row["arguments"] == {"projection": "account_summary", "dry_run": True}


def test_a_command_that_fails_is_recorded_as_failed_with_its_reason(stack: Stack) -> None:
    before = len(log_rows(stack))

    result = paystream(
        stack.database_url, "projections", "skip", "account_summary", "--position", "999"
    )

    refused = "account_summary has no open dead letter at position 999"
    assert one_line_refusal(result) == f"error: {refused}"
    started, ended = log_rows(stack)[before:]
    assert (started["command"], started["arguments"]) == (
        "projections skip",
        {"projection": "account_summary", "position": 999},
    )
    assert ended["phase"] == "failed"
    assert ended["detail"] == refused


def test_an_audit_check_that_finds_problems_is_recorded_with_its_exit_code(
    stack: Stack,
) -> None:
    before = len(log_rows(stack))

    result = paystream(stack.database_url, "audit", "trace", "nobody-sent-this")

    assert result.returncode == CANNOT_RUN
    [started, ended] = log_rows(stack)[before:]
    assert started["arguments"] == {"correlation_id": "nobody-sent-this"}
    assert ended["phase"] == "failed" and "no event has correlation id" in ended["detail"]


@pytest.mark.parametrize(
    ("command", "args", "needed"),
    [
        ("rebuild", ("rebuild", "account_summary", "--dry-run"), "operator"),
        ("projections retry", ("projections", "retry", "account_summary"), "operator"),
        ("audit verify", ("audit", "verify"), "operator or auditor"),
        ("audit actions", ("audit", "actions"), "operator or auditor"),
        ("replay", ("replay", "accounts"), "operator or auditor"),
    ],
    ids=["rebuild", "retry", "verify", "actions", "replay"],
)
def test_a_customer_cannot_run_an_operating_command_and_nothing_is_recorded(
    stack: Stack, command: str, args: tuple[str, ...], needed: str
) -> None:
    before = log_rows(stack)

    result = as_(stack, operator_token("mallory", CUSTOMER), *args)

    assert one_line_refusal(result) == (
        f"error: `paystream {command}` needs the role {needed}; mallory's token has: customer"
    )
    assert log_rows(stack) == before


def test_an_auditor_checks_the_chains_but_cannot_rebuild(stack: Stack) -> None:
    auditor = operator_token("ines", AUDITOR)

    assert as_(stack, auditor, "audit", "verify").returncode == 0
    refused = as_(stack, auditor, "rebuild", "account_summary", "--dry-run")

    assert "needs the role operator; ines's token has: auditor" in one_line_refusal(refused)
    mine = [row for row in log_rows(stack) if row["subject"] == "ines"]
    assert [(row["command"], row["phase"]) for row in mine] == [
        ("audit verify", "started"),
        ("audit verify", "succeeded"),
    ]


def test_without_a_token_the_command_says_how_to_get_one_and_records_nothing(
    stack: Stack,
) -> None:
    before = log_rows(stack)

    result = as_(stack, "", "audit", "verify")

    line = one_line_refusal(result)
    assert line.startswith(
        "error: `paystream audit verify` records who runs it: set PAYSTREAM_TOKEN"
    )
    assert "paystream token --subject <you> --role operator" in line
    assert log_rows(stack) == before


def forged(**claims: Any) -> str:
    """A token in the test issuer's name, signed by a key that is not the issuer's."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = jwt.get_unverified_header(operator_token())  # the issuer's own kid
    body = {"iss": ISSUER, "sub": "mallory", "aud": "paystream", "iat": 1, "exp": 2**40}
    return jwt.encode(body | claims | {"roles": [OPERATOR]}, stranger, "RS256", headers=header)


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("not-a-jwt", "the token is not a well-formed JWT"),
        (forged(), "the token's signature does not verify"),
        (forged(exp=1000), "the token's signature does not verify"),
    ],
    ids=["malformed", "forged", "forged-expired"],
)
def test_a_token_that_does_not_verify_is_refused_and_nothing_is_recorded(
    stack: Stack, token: str, detail: str
) -> None:
    before = log_rows(stack)

    result = as_(stack, token, "rebuild", "account_summary", "--dry-run")

    assert one_line_refusal(result) == f"error: PAYSTREAM_TOKEN is refused: {detail}"
    assert log_rows(stack) == before


def test_a_token_of_an_issuer_that_cannot_be_reached_is_one_line(stack: Stack) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"

    result = as_(stack, operator_token(), "audit", "verify", OIDC_ISSUER=nowhere)

    assert one_line_refusal(result).startswith(
        f"error: cannot check PAYSTREAM_TOKEN: cannot fetch {nowhere}'s keys"
    )


def test_bad_input_is_refused_before_anything_is_recorded(stack: Stack) -> None:
    before = log_rows(stack)

    result = paystream(stack.database_url, "rebuild", "no_such_model")

    assert one_line_refusal(result).startswith("error: unknown projection")
    assert log_rows(stack) == before


def test_audit_actions_lists_the_log_by_subject(stack: Stack) -> None:
    as_(stack, operator_token("olga", OPERATOR), "rebuild", "account_summary", "--dry-run")

    result = paystream(stack.database_url, "audit", "actions", "--subject", "olga", "--json")

    assert result.returncode == 0, result.output
    rows = json.loads(result.stdout)
    assert [(row["subject"], row["command"], row["phase"]) for row in rows] == [
        ("olga", "rebuild", "started"),
        ("olga", "rebuild", "succeeded"),
    ]
    table = paystream(stack.database_url, "audit", "actions", "--subject", "olga")
    assert "olga" in table.stdout and "projection=account_summary" in table.stdout


def test_the_log_cannot_be_changed_or_deleted_by_its_own_role(stack: Stack) -> None:
    paystream(stack.database_url, "audit", "verify")
    with psycopg.connect(stack.db.role_conninfo(operator_log.ROLE), autocommit=True) as conn:
        for statement in (
            "UPDATE paystream_operations.actions SET subject = 'someone else'",
            "DELETE FROM paystream_operations.actions",
            "TRUNCATE paystream_operations.actions",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert all(row["subject"] != "someone else" for row in log_rows(stack))

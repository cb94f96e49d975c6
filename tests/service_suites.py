"""What one service's pipeline runs: `make test SERVICE=<name>` (every service of
scripts/devstack/services.py, and `cli` for the operator's commands).

A suite is the tests of what the service ships: the shared foundations every service
is built on, its own code, and the contracts it takes part in. A unit test keeps every
test module in at least one suite, so a new module must say whom it serves.
"""

from __future__ import annotations

import sys

from scripts.devstack.services import SERVICES

SHARED = (
    "tests/unit/test_batch_groups.py",
    "tests/unit/test_error_kinds.py",
    "tests/unit/test_event_contracts.py",
    "tests/unit/test_free_port.py",
    "tests/unit/test_import_graph.py",
    "tests/unit/test_nats_settings.py",
    "tests/unit/test_outages.py",
    "tests/unit/test_problem_catalog.py",
    "tests/unit/test_reconnect.py",
    "tests/unit/test_service_logs.py",
    "tests/unit/test_service_suites.py",
    "tests/unit/test_stored_text_output.py",
    "tests/unit/test_text.py",
    "tests/unit/test_transcoder.py",
    "tests/api/test_metadata_headers.py",
    "tests/api/test_problem_answers.py",
    "tests/api/test_request_limits.py",
    "tests/api/test_request_logging.py",
    "tests/api/test_quiet_server.py",
    "tests/api/test_token_verifier.py",
    "tests/api/test_jwks_cache.py",
    "tests/api/test_verified_tokens.py",
    "tests/api/test_authentication.py",
    "tests/unit/test_keycloak_tokens.py",
    "tests/integration/test_data_ownership.py",
    # The personal-data key hierarchy under the command services and projectors.
    "tests/unit/test_field_cipher.py",
    "tests/unit/test_kek_providers.py",
    "tests/integration/test_data_keys.py",
    "tests/unit/test_sealed_fields.py",
    "tests/integration/test_sealed_personal_data.py",
    "tests/integration/test_probes.py",
    # Every service serves /metrics: the shared series in process, then each service's
    # own on the running system.
    "tests/api/test_metrics.py",
    "tests/unit/test_metrics_doc.py",
    "tests/e2e/test_metrics.py",
    # ... and none of it with PAYSTREAM_METRICS=off: in process, then a served process.
    "tests/api/test_metrics_switch.py",
    "tests/integration/test_metrics_switch.py",
    # A payment is one trace across the services: the setup and the bridge, then the
    # running system's spans.
    "tests/unit/test_tracing_setup.py",
    "tests/unit/test_trace_bridge.py",
    "tests/integration/test_message_spans.py",
    "tests/integration/test_pull_consumer.py",
    "tests/e2e/test_traces.py",
)
# The gateway routes to every public API: their suites check it still does.
GATEWAY = (
    "tests/unit/test_gateway_config.py",
    "tests/unit/test_gateway_console.py",
    "tests/integration/test_gateway.py",
    "tests/integration/test_up_gateway.py",
    "tests/integration/test_gateway_keycloak.py",
    "tests/e2e/test_gateway_e2e.py",
    "tests/unit/test_up_bench.py",
    "tests/unit/test_bench_suite_kek.py",
    "tests/integration/test_bench_hello.py",
)
COMMAND_API = (
    *GATEWAY,
    "tests/api/test_contract_run.py",
    "tests/api/test_hostile_input.py",
    "tests/api/test_openapi_documents.py",
    "tests/integration/test_openapi_contracts.py",
    "tests/integration/test_snapshots.py",
    "tests/unit/test_commit_groups.py",
    "tests/integration/test_group_commit.py",
    "tests/integration/test_group_commit_kill.py",
)
RELAY = (
    "tests/integration/test_relay.py",
    "tests/integration/test_relay_tail.py",
    "tests/integration/test_notifications.py",
    "tests/integration/test_nats_cluster.py",
    "tests/faults/test_relay_outage.py",
    "tests/faults/test_nats_restart.py",
    "tests/faults/test_postgres_outages.py",
)
PROJECTOR = (
    "tests/unit/test_declared_event_types.py",
    "tests/unit/test_read_model_registry.py",
    "tests/integration/test_read_models.py",
    "tests/integration/test_projector_process.py",
    "tests/integration/test_projector_batches.py",
    "tests/integration/test_projection_failures.py",
    "tests/integration/test_poison_events.py",
    "tests/integration/test_partitions.py",
    "tests/integration/test_projector_groups.py",
    "tests/integration/test_tracking.py",
    "tests/integration/test_reached_signal.py",
    "tests/integration/test_rebuild.py",
    "tests/faults/test_rebuild_reconnects.py",
    "tests/faults/test_postgres_outages.py",
)
QUERY_API = (
    *GATEWAY,
    "tests/unit/test_read_model_registry.py",
    "tests/api/test_openapi_documents.py",
    "tests/integration/test_read_models.py",
    "tests/integration/test_openapi_contracts.py",
    "tests/integration/test_reached_signal.py",
    "tests/e2e/test_query_apis.py",
    # The overview reads the query APIs: their suites check it still can.
    "tests/api/test_account_overview.py",
    "tests/e2e/test_account_overview.py",
)
OWN: dict[str, tuple[str, ...]] = {
    "accounts-api": (
        *COMMAND_API,
        "tests/unit/test_account.py",
        "tests/unit/test_personal_data_erasure_events.py",
        "tests/unit/test_account_payment_steps.py",
        "tests/unit/test_accounts_service.py",
        "tests/api/test_account_bad_input.py",
        "tests/api/test_saga_accounts_contract.py",
        "tests/e2e/test_accounts_flow.py",
        "tests/e2e/test_object_access.py",
        "tests/e2e/test_bad_input.py",
        "tests/e2e/test_readme.py",
        "tests/e2e/test_structured_logs.py",
    ),
    "payments-api": (
        *COMMAND_API,
        "tests/unit/test_payment.py",
        "tests/unit/test_personal_data_erasure_events.py",
        "tests/unit/test_payments_service.py",
        "tests/api/test_payment_bad_input.py",
        "tests/e2e/test_payments_bad_input.py",
        "tests/e2e/test_payments.py",
        "tests/e2e/test_structured_logs.py",
    ),
    "saga": (
        "tests/unit/test_saga_decisions.py",
        "tests/api/test_saga_accounts_contract.py",
        "tests/api/test_saga_metrics.py",
        "tests/integration/test_saga_old_metadata.py",
        "tests/integration/test_saga_parallel.py",
        "tests/integration/test_saga_overdue_trace.py",
        "tests/e2e/test_payments.py",
        "tests/e2e/test_audit_trace.py",
        "tests/e2e/test_structured_logs.py",
        "tests/faults/test_nats_restart.py",
        "tests/faults/test_postgres_outages.py",
    ),
    "cli": (
        "tests/unit/test_cli_errors.py",
        "tests/unit/test_cli_help.py",
        "tests/unit/test_cli_output.py",
        "tests/unit/test_compose.py",
        "tests/unit/test_observability_files.py",
        "tests/unit/test_up_output.py",
        "tests/unit/test_log_view.py",
        "tests/unit/test_log_follower.py",
        "tests/unit/test_up_replicas.py",
        "tests/integration/test_audit_inspect.py",
        "tests/e2e/test_audit_trace.py",
        "tests/integration/test_audit_verify.py",
        "tests/integration/test_audit_browse.py",
        "tests/integration/test_operator_log.py",
        "tests/integration/test_operator_actions.py",
        "tests/integration/test_kek_rotation.py",
        "tests/e2e/test_personal_data_erasure.py",
        "tests/unit/test_personal_data_erasure_events.py",
        "tests/integration/test_plaintext_migration.py",
        "tests/integration/test_erasure_resumes.py",
        "tests/integration/test_replay.py",
        "tests/integration/test_rebuild.py",
        "tests/faults/test_rebuild_reconnects.py",
        "tests/unit/test_token_command.py",
        "tests/unit/test_bench_gateway.py",
        "tests/integration/test_bench_gateway.py",
        "tests/e2e/test_bench_throughput.py",
        "tests/integration/test_bench_aggregate_load.py",
        "tests/integration/test_bench_observability.py",
        "tests/unit/test_top_derivation.py",
        "tests/unit/test_top_dead_letters.py",
        "tests/unit/test_top_command.py",
        "tests/unit/test_top_targets.py",
        "tests/integration/test_poison_events.py",  # top shows a halted projection
        "tests/e2e/test_top.py",
        # The console: the operators' view of the system, beside the CLI.
        "tests/unit/test_console_cookies.py",
        "tests/api/test_console_sessions.py",
        "tests/e2e/test_console.py",
        # ... and its pages with actions: the CLI's operations, recorded as the operator.
        "tests/api/test_console_actions.py",
        "tests/unit/test_rebuild_runs.py",
        "tests/e2e/test_console_actions.py",
        "tests/api/test_console_audit_pages.py",
        "tests/e2e/test_console_pages.py",
    ),
    "overview-api": (
        *GATEWAY,
        "tests/api/test_openapi_documents.py",
        "tests/api/test_account_overview.py",
        "tests/e2e/test_account_overview.py",
    ),
    "issuer": (
        "tests/unit/test_issuer_directory.py",
        "tests/unit/test_token_command.py",
        "tests/unit/test_service_tokens.py",
        "tests/api/test_issuer_app.py",
        "tests/api/test_issuer_authorization_code.py",
        "tests/integration/test_issuer_process.py",
        # The console signs people in through the issuer.
        "tests/api/test_console_sessions.py",
        "tests/e2e/test_console.py",
    ),
}
for spec in SERVICES:
    if spec.name.startswith("relay-"):
        OWN[spec.name] = RELAY
    elif spec.name.startswith("projector-"):
        OWN[spec.name] = PROJECTOR
    elif spec.name.endswith("-query-api"):
        OWN[spec.name] = QUERY_API


def suite(service: str) -> list[str]:
    """The test modules of `service`'s pipeline, each once, in a stable order."""
    if service not in OWN:
        known = ", ".join(sorted(OWN))
        raise KeyError(f"unknown service {service!r} (known: {known})")
    return list(dict.fromkeys((*SHARED, *OWN[service])))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.service_suites <service>", file=sys.stderr)
        return 2
    try:
        print(" ".join(suite(argv[0])))
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Every read model and query API has a role and a schema of its own."""

from __future__ import annotations

from collections import Counter

from api.query_registry import QUERY_APIS
from eventstore.contexts import CONTEXTS
from projections.registry import PROJECTIONS
from scripts.devstack.services import ALL_SPECS, SERVICES


def test_no_two_services_share_a_database_role() -> None:
    roles = Counter(
        [
            *(context.role for context in CONTEXTS.values()),
            *(projection.role() for projection in PROJECTIONS.values()),
            *(api.role for api in QUERY_APIS.values()),
        ]
    )
    assert [role for role, uses in roles.items() if uses > 1] == []


def test_no_read_model_schema_is_a_context_schema() -> None:
    schemas = [
        schema
        for projection in PROJECTIONS.values()
        for schema in (projection.versioned_schema(), projection.read_schema())
    ]
    assert len(set(schemas)) == len(schemas)
    assert set(schemas).isdisjoint(context.schema for context in CONTEXTS.values())


def test_every_read_model_has_a_projector_and_every_query_api_a_service() -> None:
    kinds = ("relay", "projector")
    served = {spec.serve_args[1:] for spec in SERVICES if spec.serve_args[0] not in kinds}
    served |= {  # a projector process serves one read model or a group of them
        (name,)
        for spec in SERVICES
        if spec.serve_args[0] == "projector"
        for name in spec.serve_args[1].split(",")
    }
    assert {(name,) for name in PROJECTIONS} <= served
    assert {(name,) for name in QUERY_APIS} <= served
    for api in QUERY_APIS.values():
        assert all(PROJECTIONS[p.name] is p for p in api.projections)


def test_a_read_model_has_one_name_for_its_projector_query_api_services_and_roles() -> None:
    """account_summary: projector `projector-account-summary` (role paystream_account_summary),
    query API `account-summary` (service `account-summary-query-api`, role
    paystream_account_summary_query); likewise for every read model."""
    services = {spec.name: spec.serve_args for spec in ALL_SPECS.values()}
    for name, projection in PROJECTIONS.items():
        dashed = name.replace("_", "-")
        assert services[f"projector-{dashed}"] == ("projector", name)
        named_like_a_context = name in CONTEXTS  # paystream_payments owns the event store
        suffix = "_projector" if named_like_a_context else ""
        assert projection.role() == f"paystream_{name}{suffix}"
    for api in QUERY_APIS.values():
        (projection,) = api.projections
        assert api.name == projection.name.replace("_", "-")
        assert services[f"{api.name}-query-api"] == ("query-api", api.name)
        assert api.role == f"paystream_{projection.name}_query"

"""Every read model decides about every event type of its sources: it handles it or
declares it ignored. A new event type fails here until each read model has decided."""

from __future__ import annotations

import pytest
from eventsourcing.domain import Aggregate

from domains.accounts.aggregates import Account
from domains.payments.aggregates import Payment
from eventstore.contexts import ACCOUNTS, PAYMENTS, Context
from projections.projection import Projection, handles
from projections.registry import PROJECTIONS

AGGREGATES: dict[Context, tuple[type[Aggregate], ...]] = {
    ACCOUNTS: (Account,),
    PAYMENTS: (Payment,),
}


def published_event_types(aggregate: type[Aggregate]) -> set[str]:
    """The wire names (`TOPIC`) the aggregate's events declare; `Created` is only the
    library's required placeholder (aggregates are created by their own first event) and
    is never stored."""
    events = [
        member
        for member in vars(aggregate).values()
        if isinstance(member, type)
        and issubclass(member, Aggregate.Event)
        and member is not aggregate.Created
    ]
    return {str(topic) for event in events if (topic := getattr(event, "TOPIC", None))}


def source_event_types(projection: type[Projection]) -> set[str]:
    return {
        event_type
        for source in projection.sources
        for aggregate in AGGREGATES[source]
        for event_type in published_event_types(aggregate)
    }


def test_every_source_context_has_its_aggregates_listed() -> None:
    sources = {source for projection in PROJECTIONS.values() for source in projection.sources}
    assert sources <= set(AGGREGATES)


def test_the_aggregates_publish_event_types() -> None:
    assert "MoneyDeposited.v1" in published_event_types(Account)
    assert "PaymentCompleted.v1" in published_event_types(Payment)
    assert "AccountCreated.v0" not in published_event_types(Account)


@pytest.mark.parametrize("projection", PROJECTIONS.values(), ids=PROJECTIONS.keys())
def test_every_event_type_is_handled_or_declared_ignored(projection: type[Projection]) -> None:
    undecided = source_event_types(projection) - set(projection.handlers) - set(projection.ignores)
    assert undecided == set(), f"{projection.name} neither handles nor ignores these"


@pytest.mark.parametrize("projection", PROJECTIONS.values(), ids=PROJECTIONS.keys())
def test_only_real_event_types_are_handled_or_ignored(projection: type[Projection]) -> None:
    declared = set(projection.handlers) | set(projection.ignores)
    assert declared - source_event_types(projection) == set()


def test_an_event_type_cannot_be_both_handled_and_ignored() -> None:
    with pytest.raises(TypeError, match="both handles and ignores"):

        class Confused(Projection):
            ignores = ("MoneyDeposited.v1",)

            @handles("MoneyDeposited.v1")
            async def money_deposited(self, *_: object) -> None:
                pass

"""Every read model the system builds, by name."""

from __future__ import annotations

from projections.account_statement import AccountStatementProjection
from projections.account_summary import AccountSummaryProjection
from projections.analytics import AnalyticsProjection
from projections.notifications import NotificationsProjection
from projections.payments import PaymentsProjection
from projections.projection import Projection

PROJECTIONS: dict[str, type[Projection]] = {
    projection.name: projection
    for projection in (
        AccountSummaryProjection,
        AccountStatementProjection,
        PaymentsProjection,
        NotificationsProjection,
        AnalyticsProjection,
    )
}


def get_projection(name: str) -> type[Projection]:
    """The projection called `name`, or a clear error listing the known ones."""
    try:
        return PROJECTIONS[name]
    except KeyError:
        known = ", ".join(sorted(PROJECTIONS))
        raise KeyError(f"unknown projection {name!r} (known: {known})") from None

"""Every query API, by name: `paystream serve query-api <name>` runs one."""

from __future__ import annotations

from api.account_statement_query import ACCOUNT_STATEMENT_API
from api.account_summary_query import ACCOUNT_SUMMARY_API
from api.analytics_query import ANALYTICS_API
from api.notifications_query import NOTIFICATIONS_API
from api.payments_query import PAYMENTS_API
from api.query_app import QueryApi

QUERY_APIS: dict[str, QueryApi] = {
    api.name: api
    for api in (
        ACCOUNT_SUMMARY_API,
        ACCOUNT_STATEMENT_API,
        PAYMENTS_API,
        NOTIFICATIONS_API,
        ANALYTICS_API,
    )
}


def get_query_api(name: str) -> QueryApi:
    """The query API called `name`, or a clear error listing the known ones."""
    try:
        return QUERY_APIS[name]
    except KeyError:
        known = ", ".join(sorted(QUERY_APIS))
        raise KeyError(f"unknown query API {name!r} (known: {known})") from None

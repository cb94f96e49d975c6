"""The analytics query API: daily counts and volumes per currency over a date range."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from pydantic import BaseModel

from api.openapi_errors import problem_responses
from api.problem_types import INVALID_DATE_RANGE, QUERY_PROBLEMS
from api.problems import Problem
from api.query_app import Consistent, Pool, QueryApi
from projections.analytics import AnalyticsProjection

MAX_DAYS = 366

router = APIRouter(prefix="/analytics", tags=["analytics"])
DAILY = SQL(
    "WITH p AS (SELECT * FROM {schema}.daily_payments WHERE {within}),"
    " m AS (SELECT * FROM {schema}.daily_movements WHERE {within})"
    " SELECT day, currency,"
    " COALESCE(completed_count, 0) AS completed_count,"
    " COALESCE(completed_volume, 0) AS completed_volume,"
    " COALESCE(failed_count, 0) AS failed_count, COALESCE(failed_volume, 0) AS failed_volume,"
    " COALESCE(deposits_count, 0) AS deposits_count,"
    " COALESCE(deposits_volume, 0) AS deposits_volume,"
    " COALESCE(withdrawals_count, 0) AS withdrawals_count,"
    " COALESCE(withdrawals_volume, 0) AS withdrawals_volume"
    " FROM p FULL JOIN m USING (day, currency) ORDER BY day, currency"
).format(
    schema=Identifier(AnalyticsProjection.read_schema()),
    within=SQL(
        "day BETWEEN %(first)s AND %(last)s"
        " AND (%(currency)s::text IS NULL OR currency = %(currency)s)"
    ),
)
MEASURES = ("completed", "failed", "deposits", "withdrawals")


class Tally(BaseModel):
    """How many, and how much in minor units."""

    count: int
    volume: int


class DailyFigures(BaseModel):
    """One UTC day in one currency."""

    day: date
    currency: str
    completed: Tally
    failed: Tally
    deposits: Tally
    withdrawals: Tally


class DailyAnalytics(BaseModel):
    """The days in the range that had any activity, oldest first."""

    first_day: date
    last_day: date
    currency: str | None
    days: list[DailyFigures]


@router.get(
    "/daily",
    response_model=DailyAnalytics,
    responses=problem_responses(*QUERY_PROBLEMS, INVALID_DATE_RANGE),
)
async def get_daily(
    pool: Pool,
    _: Consistent,
    first_day: Annotated[date, Query(alias="from", description="First UTC day, YYYY-MM-DD.")],
    last_day: Annotated[date, Query(alias="to", description="Last UTC day, inclusive.")],
    currency: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
) -> dict[str, Any]:
    """Completed and failed payments, deposits and withdrawals per day and currency."""
    check_range(first_day, last_day)
    params = {"first": first_day, "last": last_day, "currency": currency}
    async with pool.connection() as conn:
        rows = await (await conn.cursor(row_factory=dict_row).execute(DAILY, params)).fetchall()
    return {
        "first_day": first_day,
        "last_day": last_day,
        "currency": currency,
        "days": [figures(row) for row in rows],
    }


def check_range(first_day: date, last_day: date) -> None:
    """A range runs forwards and spans at most a (leap) year."""
    if first_day > last_day:
        raise Problem(422, "invalid-date-range", f"from {first_day} is after to {last_day}")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise Problem(422, "invalid-date-range", f"a range spans at most {MAX_DAYS} days")


def figures(row: dict[str, Any]) -> dict[str, Any]:
    tallies = {
        measure: {"count": row[f"{measure}_count"], "volume": int(row[f"{measure}_volume"])}
        for measure in MEASURES
    }
    return {"day": row["day"], "currency": row["currency"], **tallies}


ANALYTICS_API = QueryApi(
    name="analytics",
    role="paystream_analytics_query",
    projections=(AnalyticsProjection,),
    router=router,
    title="Paystream analytics",
)

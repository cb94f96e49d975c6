"""The analytics query API: daily counts and volumes per currency over a date range."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.authentication import role_required
from api.openapi_errors import problem_responses
from api.problem_types import FORBIDDEN, INVALID_DATE_RANGE, QUERY_PROBLEMS
from api.problems import Problem
from api.query_app import Consistent, Pool, QueryApi
from identity.roles import AUDITOR, OPERATOR
from projections.analytics import AnalyticsProjection
from projections.analytics_queries import daily_figures

MAX_DAYS = 366

# Every account's volumes: for operators and auditors only.
router = APIRouter(
    prefix="/analytics",
    tags=["analytics"],
    dependencies=[Depends(role_required(OPERATOR, AUDITOR))],
)


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
    responses=problem_responses(*QUERY_PROBLEMS, INVALID_DATE_RANGE, FORBIDDEN),
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
    async with pool.connection() as conn:
        days = await daily_figures(conn, first_day, last_day, currency)
    return {
        "first_day": first_day,
        "last_day": last_day,
        "currency": currency,
        "days": days,
    }


def check_range(first_day: date, last_day: date) -> None:
    """A range runs forwards and spans at most a (leap) year."""
    if first_day > last_day:
        raise Problem(422, "invalid-date-range", f"from {first_day} is after to {last_day}")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise Problem(422, "invalid-date-range", f"a range spans at most {MAX_DAYS} days")


ANALYTICS_API = QueryApi(
    name="analytics",
    projections=(AnalyticsProjection,),
    router=router,
    title="Paystream analytics",
)

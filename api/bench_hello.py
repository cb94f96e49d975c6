"""The hello-world route of `paystream up --bench`: the baseline of the query GET figure
of `paystream bench suite`.

It is a query API built by the same factory as the others (api/query_app.py): the same
uvicorn server, middlewares, token check, consistency dependency and connection pool
(the account summary's role and readiness), so beside `GET /accounts/{id}` it differs
only by its handler's work: it reads nothing and answers a constant.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.query_app import Consistent, QueryApi
from projections.account_summary import AccountSummaryProjection

HELLO = {"hello": "world"}

router = APIRouter(prefix="/bench", tags=["bench"])


@router.get("/hello")
async def hello(_: Consistent) -> dict[str, str]:
    """A constant answer, for callers with a valid token (the bench's baseline)."""
    return HELLO


BENCH_HELLO_API = QueryApi(
    name="bench-hello",
    projections=(AccountSummaryProjection,),
    router=router,
    title="Paystream bench hello",
)

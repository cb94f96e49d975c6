"""What Envoy answers by itself, as problem+json like the services, and its access log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.clusters import typed

PROBLEM_MEDIA_TYPE = "application/problem+json"
BEARER_CHALLENGE = 'Bearer realm="paystream", error="invalid_token"'


@dataclass(frozen=True)
class GatewayProblem:
    """A reply Envoy makes itself (`status`), answered as the problem `/problems/<code>`."""

    status: int
    code: str
    title: str
    answered_as: int | None = None  # another status to answer with
    headers: tuple[tuple[str, str], ...] = ()  # added unless Envoy set them
    detail: str = "%LOCAL_REPLY_BODY%"  # Envoy's own words by default


GATEWAY_PROBLEMS = (
    GatewayProblem(400, "bad-request", "Bad request"),
    GatewayProblem(
        401, "unauthorized", "Unauthorized", headers=(("www-authenticate", BEARER_CHALLENGE),)
    ),
    # jwt_authn answers a token for another audience with 403; to a client it is as
    # unusable as any other invalid token.
    GatewayProblem(
        403, "unauthorized", "Unauthorized", 401, (("www-authenticate", BEARER_CHALLENGE),)
    ),
    GatewayProblem(
        404, "not-found", "Not found", detail="no public route for this method and path"
    ),
    GatewayProblem(429, "rate-limited", "Too many requests"),
    GatewayProblem(
        503, "upstream-unavailable", "Upstream unavailable", headers=(("retry-after", "1"),)
    ),
    GatewayProblem(504, "upstream-timeout", "Upstream timeout"),
)


def local_reply_config() -> dict[str, Any]:
    """One mapper per problem: Envoy's own replies of that status get its problem body."""
    return {"mappers": [_mapper(problem) for problem in GATEWAY_PROBLEMS]}


def _mapper(problem: GatewayProblem) -> dict[str, Any]:
    status = problem.answered_as or problem.status
    mapper: dict[str, Any] = {
        "filter": {
            "status_code_filter": {
                "comparison": {
                    "op": "EQ",
                    "value": {
                        "default_value": problem.status,
                        "runtime_key": f"reply_{problem.status}",
                    },
                }
            }
        },
        "body_format_override": {
            "json_format": {
                "type": f"/problems/{problem.code}",
                "title": problem.title,
                "status": status,
                "detail": problem.detail,
                "request_id": "%REQ(X-REQUEST-ID)%",
            },
            "content_type": PROBLEM_MEDIA_TYPE,
        },
        "headers_to_add": [
            {"header": {"key": key, "value": value}, "append_action": "ADD_IF_ABSENT"}
            for key, value in problem.headers
        ],
    }
    if problem.answered_as:
        mapper["status_code"] = problem.answered_as
    return mapper


ACCESS_LOG_FIELDS = {
    "time": "%START_TIME%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "subject": "%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:jwt_payload:sub)%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(:PATH)%",
    "status": "%RESPONSE_CODE%",
    "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "upstream": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%",
    "attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
    "duration_ms": "%DURATION%",
}


def access_log() -> list[dict[str, Any]]:
    """Every request as one JSON line on stdout."""
    return [
        {
            "name": "envoy.access_loggers.stdout",
            "typed_config": typed(
                "access_loggers.stream.v3.StdoutAccessLog",
                log_format={"json_format": ACCESS_LOG_FIELDS},
            ),
        }
    ]

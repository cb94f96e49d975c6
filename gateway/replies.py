"""What Envoy answers by itself, as problem+json like the services, and its access log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.clusters import typed

PROBLEM_MEDIA_TYPE = "application/problem+json"
# The services' challenges (api/authentication.py, RFC 6750 section 3.1): no error code
# when no token was sent at all.
BEARER_CHALLENGE = 'Bearer realm="paystream"'
REFUSAL_CHALLENGE = 'Bearer realm="paystream", error="invalid_token"'


@dataclass(frozen=True)
class GatewayProblem:
    """A reply Envoy makes itself (`status`), answered as the problem `/problems/<code>`."""

    status: int
    code: str
    title: str
    answered_as: int | None = None  # another status to answer with
    headers: tuple[tuple[str, str], ...] = ()  # set, replacing any Envoy set itself
    detail: str = "%LOCAL_REPLY_BODY%"  # Envoy's own words by default
    # Only for requests without this header (the first mapper that matches answers).
    without_header: str | None = None


GATEWAY_PROBLEMS = (
    GatewayProblem(400, "bad-request", "Bad request"),
    # The services' two 401 problems: no token at all, or one that does not verify.
    GatewayProblem(
        401,
        "authentication-required",
        "Authentication required",
        headers=(("www-authenticate", BEARER_CHALLENGE),),
        without_header="authorization",
    ),
    GatewayProblem(
        401,
        "invalid-token",
        "Invalid token",
        headers=(("www-authenticate", REFUSAL_CHALLENGE),),
    ),
    # jwt_authn answers a token for another audience with 403; to a client it is as
    # unusable as any other invalid token.
    GatewayProblem(
        403, "invalid-token", "Invalid token", 401, (("www-authenticate", REFUSAL_CHALLENGE),)
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
    matches: dict[str, Any] = {
        "status_code_filter": {
            "comparison": {
                "op": "EQ",
                "value": {
                    "default_value": problem.status,
                    "runtime_key": f"reply_{problem.status}",
                },
            }
        }
    }
    if problem.without_header:
        absent = {"name": problem.without_header, "present_match": True, "invert_match": True}
        matches = {"and_filter": {"filters": [matches, {"header_filter": {"header": absent}}]}}
    mapper: dict[str, Any] = {
        "filter": matches,
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
            {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
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

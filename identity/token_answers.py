"""The token endpoint's answers and request as its OpenAPI document shows them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from identity.client_credentials import FORM_MEDIA_TYPE


class TokenAnswer(BaseModel):
    """An access token (RFC 6749 section 5.1)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class OAuthErrorAnswer(BaseModel):
    """A refused token request (RFC 6749 section 5.2)."""

    error: Literal["invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"]
    error_description: str


TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuthErrorAnswer,
        "description": "invalid_request, invalid_grant, unsupported_grant_type",
    },
    401: {"model": OAuthErrorAnswer, "description": "invalid_client"},
}
TOKEN_REQUEST: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {
                            "type": "string",
                            "enum": ["client_credentials", "authorization_code"],
                        },
                        "code": {"type": "string"},
                        "redirect_uri": {"type": "string"},
                        "code_verifier": {"type": "string"},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    }
}

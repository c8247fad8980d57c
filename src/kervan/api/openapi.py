"""The OpenAPI document says what every error answer looks like: RFC 9457 problem+json.

FastAPI documents the answers a route declares; the node's error answers come from its problem
handlers and middlewares instead, for every route. This adds them to the document once: the
`Problem` schema, problem+json content on every 4xx and 5xx answer (request validation
included, which the node answers as a problem, not as FastAPI's default body), 401 and 403 on
every operation that needs credentials, 429 (rate limit) and 413 (body size limit), 400 for a
body that is no JSON or form at all, 404 where a path names an object, 409 where a write may
conflict, 422 everywhere (the control character guard reads every request) and 503 when the
database is out of reach. It declares how callers prove who they are: a bearer token (from
`/v1/oauth/token` or `/v1/auth/login`) or an API key in `X-API-Key`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI

from kervan.api.problems import PROBLEM_JSON

#: Operations anyone may call without credentials (the rest answer 401 without them).
PUBLIC_OPERATIONS: Final = frozenset(
    {
        ("post", "/v1/oauth/token"),
        ("post", "/v1/auth/login"),
        ("get", "/v1/trust-list"),
        ("post", "/v1/verify/permit"),
        ("post", "/v1/routes/plan"),
        ("get", "/v1/places"),
        ("get", "/v1/network"),
        # The witnessed log is published: witnesses and verifiers need no account here, and a
        # co-signing request carries the log's own signature.
        ("get", "/v1/log/checkpoint"),
        ("get", "/v1/log/consistency"),
        ("get", "/v1/log/key"),
        ("get", "/v1/witness/key"),
        ("post", "/v1/witness/add-checkpoint"),
    }
)
PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details with the node's machine code.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "URI naming the kind of problem"},
        "title": {"type": "string", "description": "The HTTP status phrase"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What was wrong, for a person"},
        "code": {"type": "string", "description": "What was wrong, for a program (stable)"},
        "instance": {"type": "string", "description": "The request path"},
        "request_id": {"type": "string", "description": "The request's id in the node's logs"},
    },
    "additionalProperties": True,
}
_COMMON: Final = {
    "422": "A value is invalid (each failing field is named), or a text holds a control character",
    "429": "Too many requests from this client: wait for Retry-After seconds",
    "503": "The database is out of reach: try again after Retry-After seconds",
}
_WITH_BODY: Final = {
    "400": "The body is not well-formed (no JSON or form, or not UTF-8)",
    "409": "The Idempotency-Key was used for another request, or the state does not allow this",
    "413": "The request body is larger than the node accepts",
}
_WITH_PATH_OBJECT: Final = {"404": "No such object among those the caller may see"}
#: How a caller proves who it is (every operation outside PUBLIC_OPERATIONS needs one of them).
SECURITY_SCHEMES: Final[dict[str, Any]] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token from /v1/oauth/token (client credentials) or /v1/auth/login",
    },
    "oauth2ClientCredentials": {
        "type": "oauth2",
        "description": "OAuth2 client credentials (RFC 6749 §4.4)",
        "flows": {"clientCredentials": {"tokenUrl": "/v1/oauth/token", "scopes": {}}},
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key issued to an organisation",
    },
}
_SECURITY: Final[list[dict[str, list[str]]]] = [
    {"bearerToken": []},
    {"oauth2ClientCredentials": []},
    {"apiKey": []},
]
_AUTHENTICATED: Final = {
    "401": "No valid credentials: the token or API key is missing, expired or revoked",
    "403": "The credentials do not carry the scope or role this needs",
}
_METHODS: Final = frozenset({"get", "post", "put", "patch", "delete"})


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` describe the node's error answers (see the module)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _add_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_problems(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    components = schema["components"].setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            added = {"422": _COMMON["422"]}
            if path.startswith("/v1/"):
                added.update(_COMMON)
                if method in ("post", "put", "patch"):
                    added.update(_WITH_BODY)
                if "{" in path:
                    added.update(_WITH_PATH_OBJECT)
                if (method, path) in PUBLIC_OPERATIONS:
                    operation["security"] = []
                else:
                    added.update(_AUTHENTICATED)
                    operation["security"] = _SECURITY
            for status, description in added.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = problem

"""The OpenAPI document tells the truth about error answers: problem+json, 401 where credentials are
needed, and the validation problem the node really sends."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from kervan.api.openapi import PROBLEM_SCHEMA, PUBLIC_OPERATIONS

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_error_answer_is_documented_as_a_problem(sqlite_client: TestClient) -> None:
    spec = sqlite_client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["Problem"]["required"] == PROBLEM_SCHEMA["required"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    errors = 0
    for method, path, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                errors += 1
                content = response["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}
        if path.startswith("/v1/"):
            assert "429" in operation["responses"], (method, path)
    assert errors > 50


def test_operations_needing_credentials_document_401_and_answer_it(
    sqlite_client: TestClient,
) -> None:
    spec = sqlite_client.get("/openapi.json").json()
    operations = [(m, p, o) for m, p, o in _operations(spec) if p.startswith("/v1/")]
    assert {(m, p) for m, p, _ in operations} >= PUBLIC_OPERATIONS
    for method, path, operation in operations:
        needs_credentials = (method, path) not in PUBLIC_OPERATIONS
        # Public operations may still answer 401 for their own reasons (a wrong password).
        if needs_credentials:
            assert "401" in operation["responses"], (method, path)
        if method != "get":
            continue
        # A GET needs no body: without credentials it answers 401 exactly when it needs them.
        url = re.sub(r"\{[^}]+\}", "SHP-20261124-TASHKENT-1", path)
        answer = sqlite_client.get(url, params={"q": "Aktau"})
        assert (answer.status_code == 401) == needs_credentials, (path, answer.status_code)
        if needs_credentials:
            assert answer.headers["content-type"] == "application/problem+json"
            jsonschema.validate(answer.json(), PROBLEM_SCHEMA)


def test_a_request_that_fails_validation_gets_the_documented_problem(
    sqlite_client: TestClient,
) -> None:
    answer = sqlite_client.post("/v1/routes/plan", json={"origin": "Xi'an"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    jsonschema.validate(problem, PROBLEM_SCHEMA)
    assert problem["status"] == 422
    assert "destination" in problem["detail"]

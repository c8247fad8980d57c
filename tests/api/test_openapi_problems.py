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


def _request_strings(node: Any, where: str) -> list[str]:
    """Where a string the node reads has no pattern, enum or format in the document."""
    loose: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node):
            loose.append(where)
        for key, value in node.items():
            loose += _request_strings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            loose += _request_strings(value, f"{where}/{index}")
    return loose


def test_the_document_states_the_bounds_the_node_enforces(sqlite_client: TestClient) -> None:
    spec = sqlite_client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    # Every text the node reads has a pattern: no control characters, one line where one is
    # meant (the guard and the models refuse what the pattern refuses).
    read: list[str] = []
    for method, path, operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            read += _request_strings(parameter["schema"], f"{method} {path} {parameter['name']}")
    for name in (
        "BookingRequest",
        "RouteQuery",
        "Cargo",
        "GoodsItem",
        "Container",
        "Seal",
        "VehiclePlate",
        "Wagon",
        "EventRequest",
        "SignRequest",
        "Reservation",
        "ReleaseRequest",
        "SealFound",
        "IssueRequest",
        "RevokeRequest",
        "QrScan",
        "Login",
        "Body_token_v1_oauth_token_post",
        "QuotaRequest",
        "GuaranteeRequest",
    ):
        read += _request_strings(schemas[name], name)
    assert read == []
    goods = schemas["Cargo"]["properties"]["goods"]
    assert goods["maxItems"] == 99
    assert schemas["Cargo"]["properties"]["date_of_taking_over"]["pattern"] == "^20[0-9]{2}-"
    assert schemas["Wagon"]["properties"]["number"]["pattern"] == "^[0-9]{8}([0-9]{4})?$"
    booking = spec["paths"]["/v1/shipments"]["post"]
    assert {"400", "401", "403", "409", "413", "422", "429", "503"} <= set(booking["responses"])
    assert spec["paths"]["/v1/shipments/{shipment_id}"]["get"]["responses"]["404"]


def test_security_schemes_are_declared(sqlite_client: TestClient) -> None:
    spec = sqlite_client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerToken"]["scheme"] == "bearer"
    assert schemes["apiKey"] == {**schemes["apiKey"], "in": "header", "name": "X-API-Key"}
    for method, path, operation in _operations(spec):
        if not path.startswith("/v1/"):
            continue
        public = (method, path) in PUBLIC_OPERATIONS
        assert (operation["security"] == []) == public, (method, path)


def test_method_not_allowed_names_the_allowed_ones(sqlite_client: TestClient) -> None:
    for method, path, allowed in (
        ("DELETE", "/v1/shipments", "GET, POST"),
        ("TRACE", "/health", "GET"),
        ("PUT", "/v1/oauth/token", "POST"),
    ):
        answer = sqlite_client.request(method, path)
        assert answer.status_code == 405
        assert answer.headers["allow"] == allowed
        assert answer.headers["content-type"] == "application/problem+json"

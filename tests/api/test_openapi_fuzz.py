"""schemathesis over the whole OpenAPI document, on a SQLite node with the corridor registered.

Every operation is fuzzed with a forwarder's real token (and public operations also without
one), then the stateful run follows the links schemathesis infers between operations. Checks:
no 5xx, and every documented response matches its schema. Hypothesis is derandomised (a fixed
seed derived from each test) with a bounded number of examples, so the run is the same on every
machine and stays within a couple of minutes on two cores.

Error answers are documented as problem+json (see kervan.api.openapi), so their bodies are
checked against the Problem schema too. Which caller gets 401/403/404 where is the authorisation
matrix's to assert exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from kervan.api.app import Limits, create_app
from kervan.network.model import Network
from kervan.services.access import node_operator
from kervan.services.credentials import NewCredential, create_client
from kervan.services.demo_corridor import register_corridor
from kervan.store.uow import UnitOfWork
from tests.api.conftest import node_settings
from tests.databases import migrated_database

CHECKS = [not_a_server_error, response_schema_conformance]
# Reference data and verification anyone may use without logging in.
PUBLIC = frozenset(
    {
        "/health",
        "/ready",
        "/v1/routes/plan",
        "/v1/places",
        "/v1/network",
        "/v1/trust-list",
        "/v1/verify/permit",
        "/v1/oauth/token",
        "/v1/auth/login",
    }
)
#: Logging out with the forwarder's token would end it for every operation after; the fuzzer
#: calls it without credentials (tests/api/test_safe_access.py logs a session out).
LOGOUT = "/v1/auth/logout"
EXAMPLES_PER_OPERATION = 30
STATEFUL_SCENARIOS = 30
STATEFUL_STEPS = 6


def fuzz_settings(max_examples: int, **extra: Any) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        **extra,
    )


@pytest.fixture(scope="module")
def fuzz_node(
    tmp_path_factory: pytest.TempPathFactory, shipped_network: Network
) -> Iterator[tuple[OpenApiSchema, dict[str, str]]]:
    """The node's schema (calls go to the app in-process) and a forwarder's Authorization."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with migrated_database("sqlite", folder) as url:
        # No rate limit: a fuzzer's burst would only ever see 429.
        limits = Limits(requests_per_second=1e9, burst=1e9)
        app = create_app(node_settings(url, folder), network=shipped_network, limits=limits)
        register_corridor(app.state.sessions, app.state.node.keys)
        with TestClient(app) as client:
            issued = create_client(
                UnitOfWork(app.state.sessions),
                node_operator("kervan-test", "TR"),
                NewCredential("xian-forwarding"),
            )
            token = client.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": issued.identifier,
                    "client_secret": issued.secret,
                },
            )
            assert token.status_code == 200, token.text
            headers = {"authorization": f"Bearer {token.json()['access_token']}"}
            yield schemathesis.openapi.from_asgi("/openapi.json", app), headers


@pytest.fixture(scope="module")
def api_schema(fuzz_node: tuple[OpenApiSchema, dict[str, str]]) -> OpenApiSchema:
    return fuzz_node[0]


@pytest.fixture(scope="module")
def forwarder(fuzz_node: tuple[OpenApiSchema, dict[str, str]]) -> dict[str, str]:
    return fuzz_node[1]


def test_every_operation(api_schema: OpenApiSchema, forwarder: dict[str, str]) -> None:
    """Valid and invalid inputs for each operation; every operation's failures are collected."""
    failures: dict[str, str] = {}
    operations = 0
    answered: set[str] = set()  # operations that answered 2xx at least once
    for result in api_schema.get_all_operations():
        assert not isinstance(result, Err), result.err()
        operation = result.ok()
        operations += 1
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @hypothesis.given(case=cases)
        @fuzz_settings(EXAMPLES_PER_OPERATION)
        def fuzz(case: schemathesis.Case[Any]) -> None:
            headers = {} if case.path == LOGOUT else forwarder
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            if response.status_code < 300:
                answered.add(case.operation.label)
            if case.path in PUBLIC:
                case.call_and_validate(checks=CHECKS)

        try:
            fuzz()
        except Exception as exc:
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert operations >= 25, "the OpenAPI document lost its operations"
    # The generated inputs get past validation to the use cases, not only to 422.
    assert len(answered) >= 5, sorted(answered)
    assert failures == {}, "\n\n".join(f"{label}\n{why}" for label, why in failures.items())


def test_stateful_links(api_schema: OpenApiSchema, forwarder: dict[str, str]) -> None:
    machine = api_schema.as_state_machine()

    class Forwarder(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
            return {"headers": {} if case.path == LOGOUT else forwarder}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: schemathesis.Case[Any],
            additional_checks: list[Any] | None = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(response, checks=CHECKS)

    Forwarder.run(settings=fuzz_settings(STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS))

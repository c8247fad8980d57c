"""schemathesis over the whole OpenAPI document, every phase and every check, for each role.

A node on a real database (SQLite, and PostgreSQL where it is reachable) with the demonstration
corridor's organisations and shipments is served over HTTP from a background thread; the
schemathesis engine (`st run`, as an outside tester would run it) drives it in all four
phases (examples, coverage, fuzzing, stateful) with every check (`--checks all`: not only
5xx, but undocumented statuses, schema conformance of every answer, schema-valid requests
refused or schema-invalid ones accepted, 405 without Allow, ignored credentials ...), once
per role: with each kind of organisation's client token, a person's login token, an API key,
and with no credentials. Generation is deterministic
(no seed varies between runs) with a bounded number of examples, so a run is the same on every
machine and stays within a few minutes on two cores (see Role for what each role runs).

What a JSON Schema cannot say (an ISO 6346 or UIC check digit, an HS 2022 subheading, a
place on the network, a plan key) the node refuses with 422 although the request fits the
schema: `schemathesis.toml` beside this file names those operations and why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import Limits, create_app
from kervan.network.model import Network
from kervan.services.access import node_operator
from kervan.services.credentials import NewCredential, create_api_key
from kervan.services.demo_corridor import create_people, register_corridor, seed_shipments
from kervan.store.uow import UnitOfWork
from tests.api.conftest import node_settings
from tests.api.corridor_parties import tokens_for
from tests.databases import migrated_database
from tests.web.conftest import serve

CONFIG = Path(__file__).with_name("schemathesis.toml")
ALL_PHASES = "examples,coverage,fuzzing,stateful"


@dataclass(frozen=True)
class Role:
    """Which credential a run presents (a key of FuzzNode.headers; None: no credentials), its
    phases and its examples per operation.

    The forwarder (who books, signs, reads the most) and the caller without credentials get
    every phase; each other kind of organisation gets the explicit examples, fuzzing and the
    stateful run with fewer examples (the coverage phase's boundary cases do not depend on the
    caller), to keep the whole run near two minutes on a busy machine.
    """

    credential: str | None
    phases: str = "examples,fuzzing,stateful"
    examples: int = 3


ROLES: dict[str, Role] = {
    "forwarder": Role("xian-forwarding", ALL_PHASES, 10),
    "anonymous": Role(None, ALL_PHASES, 3),
    "shipper": Role("tashkent-cotton"),
    "consignee": Role("istanbul-imports"),
    "carrier": Role("ktz-express"),
    "guarantee_chain": Role("uz-tir-association"),
    "customs": Role("kz-customs"),
    "permit_authority": Role("tr-permits"),
    # A person logged in with a password, and a machine with an API key.
    "person": Role("person:kz-customs"),
    "api_key": Role("key:xian-forwarding"),
}
#: On PostgreSQL (where a NUL in text once answered 500): the forwarder, and no credentials
#: (the coverage phase's boundary strings, NUL among them, at every public operation).
#: Logging out with a run's token would end it for every call after it: the credentialed runs
#: leave it out, the run without credentials calls it (tests/api/test_safe_access.py logs a
#: session out).
LOGOUT = "/v1/auth/logout"
POSTGRES_ROLES: dict[str, Role] = {
    "forwarder": Role("xian-forwarding", ALL_PHASES, 5),
    "anonymous": Role(None, "examples,coverage", 3),
}


@dataclass(frozen=True)
class FuzzNode:
    base_url: str
    #: The header each credential is presented in, by "org", "person:org" or "key:org".
    headers: dict[str, tuple[str, str]]
    backend: str


@pytest.fixture(scope="module")
def fuzz_node(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shipped_network: Network,
) -> Iterator[FuzzNode]:
    """The corridor node with its shipments, served over HTTP, and each organisation's token."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with migrated_database(request.param, folder) as url:
        # No rate limit: a fuzzer's burst would only ever see 429.
        limits = Limits(requests_per_second=1e9, burst=1e9)
        app = create_app(node_settings(url, folder), network=shipped_network, limits=limits)
        register_corridor(app.state.sessions, app.state.node.keys)
        with TestClient(app) as client:
            seed_shipments(app.state.node)
            tokens = tokens_for(client, app.state.sessions)
            headers = {
                org: ("Authorization", h["authorization"]) for org, h in tokens.headers.items()
            }
            password = create_people(app.state.sessions)["kz-customs"]
            login = client.post(
                "/v1/auth/login", json={"username": "kz-customs", "password": password}
            )
            assert login.status_code == 200, login.text
            headers["person:kz-customs"] = (
                "Authorization",
                f"Bearer {login.json()['access_token']}",
            )
            key = create_api_key(
                UnitOfWork(app.state.sessions),
                node_operator("kervan-test", "TR"),
                NewCredential("xian-forwarding"),
            )
            headers["key:xian-forwarding"] = ("X-API-Key", key.secret)
            with serve(app) as base_url:
                yield FuzzNode(base_url, headers, request.param)


def run_schemathesis(node: FuzzNode, role: str, folder: Path) -> subprocess.CompletedProcess[str]:
    chosen = (POSTGRES_ROLES if node.backend == "postgresql" else ROLES)[role]
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{node.base_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        chosen.phases,
        "--max-examples",
        str(chosen.examples),
        "--generation-deterministic",
        "--workers",
        "1",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(folder / "events.ndjson"),
    ]
    if chosen.credential is not None:
        name, value = node.headers[chosen.credential]
        command += ["--header", f"{name}: {value}", "--exclude-path", LOGOUT]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=600, env=env
    )


def answered(report: Path) -> set[str]:
    """Operations that answered 2xx at least once in the run's report."""
    seen: set[str] = set()
    for line in report.read_text().splitlines():
        for label, status in _statuses(json.loads(line)):
            if 200 <= status < 300:
                seen.add(label)
    return seen


def _statuses(event: object, label: str = "") -> Iterator[tuple[str, int]]:
    """(operation, status) pairs anywhere in an ndjson event (the shape varies by event)."""
    if isinstance(event, dict):
        label = str(event.get("label", label))
        status = event.get("status_code")
        if isinstance(status, int) and label:
            yield label, status
        for value in event.values():
            yield from _statuses(value, label)
    elif isinstance(event, list):
        for value in event:
            yield from _statuses(value, label)


@pytest.mark.parametrize(
    ("fuzz_node", "role"),
    [("sqlite", role) for role in ROLES]
    + [pytest.param("postgresql", role, marks=pytest.mark.postgres) for role in POSTGRES_ROLES],
    indirect=["fuzz_node"],
)
def test_every_phase_and_check_for_each_role(
    fuzz_node: FuzzNode, role: str, tmp_path: Path
) -> None:
    run = run_schemathesis(fuzz_node, role, tmp_path)
    report = tmp_path / "events.ndjson"
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
    if role == "forwarder":
        # The generated inputs get past validation to the use cases, not only to 4xx.
        assert len(answered(report)) >= 5, sorted(answered(report))

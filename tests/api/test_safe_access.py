"""Safe by default, at the node's API on SQLite and PostgreSQL: a development node signs tokens
with a secret it made for itself (none is written in the code), every token's subject is looked
up on every use and its scopes cut to its organisation kind's, logout ends a token, revoking and
disabling work from the API, and logins are throttled per account and per address."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey

from kervan.api.app import Limits, create_app
from kervan.network.model import Network
from kervan.services.access import Scope, node_operator
from kervan.services.credentials import (
    IssuedSecret,
    NewCredential,
    NewPerson,
    create_api_key,
    create_client,
    create_user,
)
from kervan.services.demo_corridor import register_corridor
from kervan.settings import SECRET_KEY_FILE, Environment, Settings
from kervan.store.uow import UnitOfWork
from tests.databases import BACKENDS, migrated_database

#: The secret earlier versions wrote in settings.py, which anyone could read.
OLD_DEFAULT_SECRET = "kervan-development-only-secret-never-use-outside-development"
PASSWORD = "silk-road-2026-dostyk"


@dataclass
class Node:
    client: TestClient
    app: FastAPI
    data_dir: Path

    def new_client(self, org_id: str, *scopes: str) -> IssuedSecret:
        operator = node_operator("kervan-test", "KZ")
        command = NewCredential(org_id, scopes or None)
        return create_client(UnitOfWork(self.app.state.sessions), operator, command)

    def token(self, issued: IssuedSecret) -> dict[str, str]:
        answer = self.client.post(
            "/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": issued.identifier,
                "client_secret": issued.secret,
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        return {"authorization": f"Bearer {answer.json()['access_token']}"}

    def person(self, org_id: str, username: str) -> None:
        operator = node_operator("kervan-test", "KZ")
        person = NewPerson(org_id, username, PASSWORD, username)
        create_user(UnitOfWork(self.app.state.sessions), operator, person)

    def login(self, username: str, password: str = PASSWORD, **kwargs: Any) -> Any:
        body = {"username": username, "password": password}
        return self.client.post("/v1/auth/login", json=body, **kwargs)


@pytest.fixture(params=BACKENDS)
def node(
    request: pytest.FixtureRequest, tmp_path: Path, shipped_network: Network
) -> Iterator[Node]:
    """A development node (KERVAN_ENVIRONMENT unset: no secret configured) with the corridor's
    organisations."""
    with migrated_database(request.param, tmp_path) as url:
        settings = Settings(
            environment=Environment.DEVELOPMENT, database_url=url, data_dir=tmp_path
        )
        app = create_app(settings, network=shipped_network)
        register_corridor(app.state.sessions, app.state.node.keys)
        with TestClient(app) as client:
            yield Node(client, app, tmp_path)


def minted(secret: str, **claims: Any) -> dict[str, str]:
    """A token signed with `secret` (as an attacker who knows or guessed it would sign one)."""
    now = datetime.now(UTC)
    base = {
        "iss": "kervan",
        "sub": "client:none",
        "org": "xian-forwarding",
        "scope": " ".join(s.value for s in Scope),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode({"alg": "HS256"}, {**base, **claims}, OctKey.import_key(secret))
    return {"authorization": f"Bearer {token}"}


def test_a_development_node_signs_with_a_secret_of_its_own(node: Node) -> None:
    secret_file = node.data_dir / SECRET_KEY_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    node_secret = secret_file.read_text().strip()
    assert node_secret != OLD_DEFAULT_SECRET
    assert node.app.state.settings.secret_origin == "generated"
    forwarder = node.new_client("xian-forwarding")
    assert node.client.get("/v1/shipments", headers=node.token(forwarder)).status_code == 200
    live = f"client:{forwarder.identifier}"
    for guessed in (OLD_DEFAULT_SECRET, "t" * 48, "secret"):
        forged = minted(guessed.ljust(32, "x"), sub=live)
        refused = node.client.get("/v1/shipments", headers=forged)
        assert refused.status_code == 401, guessed
        assert refused.json()["code"] == "unauthorized"


def test_every_subject_is_looked_up_even_under_the_nodes_own_secret(node: Node) -> None:
    """Were the secret to leak, a token still has to name a live client or person of the
    organisation it claims."""
    node_secret = (node.data_dir / SECRET_KEY_FILE).read_text().strip()
    forwarder = node.new_client("xian-forwarding")
    for subject, org in (
        ("operator:kervan-node", "xian-forwarding"),
        ("admin", "xian-forwarding"),
        ("client:no-such-client", "xian-forwarding"),
        ("user:nobody", "xian-forwarding"),
        # the forwarder's live client, claimed for another organisation's shipments
        (f"client:{forwarder.identifier}", "tashkent-cotton"),
    ):
        answer = node.client.get("/v1/shipments", headers=minted(node_secret, sub=subject, org=org))
        assert answer.status_code == 401, (subject, org, answer.text)
    no_id = minted(node_secret, sub=f"client:{forwarder.identifier}", jti=None)
    assert node.client.get("/v1/shipments", headers=no_id).status_code == 401


def test_a_tokens_scopes_are_cut_to_what_its_organisation_kind_may_hold(node: Node) -> None:
    node_secret = (node.data_dir / SECRET_KEY_FILE).read_text().strip()
    shipper = node.new_client("tashkent-cotton")
    every_scope = minted(node_secret, sub=f"client:{shipper.identifier}", org="tashkent-cotton")
    assert node.client.get("/v1/shipments", headers=every_scope).status_code == 200
    for forbidden in ("/v1/observatory/kpis", "/v1/customs/worklist?crossing=Dostyk"):
        answer = node.client.get(forbidden, headers=every_scope)
        assert answer.status_code == 403, (forbidden, answer.text)
        assert answer.json()["code"] == "insufficient_scope"


def test_a_revoked_client_or_a_disabled_person_is_refused_at_once(node: Node) -> None:
    carrier = node.new_client("ktz-express")
    carrier_token = node.token(carrier)
    keeper = node.new_client("ktz-express", "credentials", "shipments:read")
    keeper_token = node.token(keeper)
    other = node.new_client("uz-trucking", "credentials")
    node.person("ktz-express", "dispatcher.ktz")
    person_token = {
        "authorization": f"Bearer {node.login('dispatcher.ktz').json()['access_token']}"
    }
    assert node.client.get("/v1/shipments", headers=person_token).status_code == 200

    # Without the credentials scope: 403 for its own organisation, 404 for another's.
    own = f"/v1/organisations/ktz-express/clients/{keeper.identifier}/revoke"
    assert node.client.post(own, headers=carrier_token).status_code == 403
    across = f"/v1/organisations/uz-trucking/clients/{other.identifier}/revoke"
    assert node.client.post(across, headers=keeper_token).status_code == 404
    missing = "/v1/organisations/ktz-express/clients/no-such-client/revoke"
    assert node.client.post(missing, headers=keeper_token).status_code == 404

    revoke = f"/v1/organisations/ktz-express/clients/{carrier.identifier}/revoke"
    assert node.client.post(revoke, headers=keeper_token).status_code == 204
    assert node.client.get("/v1/shipments", headers=carrier_token).status_code == 401
    assert (
        node.client.post(
            "/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": carrier.identifier,
                "client_secret": carrier.secret,
            },
        ).status_code
        == 401
    )

    across_user = "/v1/organisations/uz-trucking/users/dispatcher.ktz/disable"
    assert node.client.post(across_user, headers=keeper_token).status_code == 404
    disable = "/v1/organisations/ktz-express/users/dispatcher.ktz/disable"
    assert node.client.post(disable, headers=keeper_token).status_code == 204
    assert node.client.get("/v1/shipments", headers=person_token).status_code == 401
    assert node.login("dispatcher.ktz").status_code == 401


def test_an_api_key_is_revoked_from_the_api(node: Node) -> None:
    operator = node_operator("kervan-test", "KZ")
    key = create_api_key(
        UnitOfWork(node.app.state.sessions), operator, NewCredential("istanbul-imports")
    )
    keeper = node.token(node.new_client("istanbul-imports", "credentials"))
    headers = {"x-api-key": key.secret}
    assert node.client.get("/v1/shipments", headers=headers).status_code == 200
    revoke = f"/v1/organisations/istanbul-imports/api-keys/{key.identifier}/revoke"
    assert node.client.post(revoke, headers=keeper).status_code == 204
    assert node.client.get("/v1/shipments", headers=headers).status_code == 401


def test_logout_ends_the_token(node: Node) -> None:
    node.person("tashkent-cotton", "clerk.tashkent")
    signed_in = node.login("clerk.tashkent")
    assert signed_in.headers["cache-control"] == "no-store"
    token = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
    second = {"authorization": f"Bearer {node.login('clerk.tashkent').json()['access_token']}"}
    assert node.client.get("/v1/shipments", headers=token).status_code == 200
    assert node.client.post("/v1/auth/logout", headers=token).status_code == 204
    assert node.client.get("/v1/shipments", headers=token).status_code == 401
    assert node.client.post("/v1/auth/logout", headers=token).status_code == 401
    assert node.client.get("/v1/shipments", headers=second).status_code == 200  # its own session
    assert node.client.post("/v1/auth/logout").status_code == 401
    # A machine client may end its token the same way (read in the same statement as its client).
    machine = node.token(node.new_client("tashkent-cotton"))
    assert node.client.post("/v1/auth/logout", headers=machine).status_code == 204
    assert node.client.get("/v1/shipments", headers=machine).status_code == 401


def test_wrong_logins_are_throttled_per_account(node: Node) -> None:
    node.person("uz-trucking", "driver.uz")
    allowed = node.app.state.settings.login_failures_allowed
    window = node.app.state.settings.login_window_seconds
    for _ in range(allowed):
        assert node.login("driver.uz", "not-the-password").status_code == 401
    refused = node.login("driver.uz")  # the right password, but too late
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts"
    assert 0 < int(refused.headers["retry-after"]) <= window
    # Another address is refused for this account too; it may log in to others.
    elsewhere = TestClient(node.app, client=("203.0.113.7", 40000))
    body = {"username": "driver.uz", "password": PASSWORD}
    assert elsewhere.post("/v1/auth/login", json=body).status_code == 429
    node.person("uz-trucking", "planner.uz")
    assert (
        elsewhere.post(
            "/v1/auth/login", json={"username": "planner.uz", "password": PASSWORD}
        ).status_code
        == 200
    )
    # Once the window has passed, the account may try again.
    later = datetime.now(UTC) + timedelta(seconds=window + 1)
    node.app.state.node.clock = lambda: later
    assert node.login("driver.uz").status_code == 200


def test_wrong_logins_are_throttled_per_address(node: Node) -> None:
    allowed = node.app.state.settings.login_failures_allowed
    prober = TestClient(node.app, client=("198.51.100.23", 40000))
    for n in range(allowed):
        wrong = {"username": f"guess-{n}", "password": "123456789012"}
        assert prober.post("/v1/auth/login", json=wrong).status_code == 401
    node.person("az-customs", "officer.alat")
    right = {"username": "officer.alat", "password": PASSWORD}
    throttled = prober.post("/v1/auth/login", json=right)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert node.login("officer.alat").status_code == 200  # from another address


def test_client_secrets_are_throttled_like_passwords(node: Node) -> None:
    issued = node.new_client("kz-customs")
    allowed = node.app.state.settings.login_failures_allowed
    form = {"grant_type": "client_credentials", "client_id": issued.identifier}
    for _ in range(allowed):
        wrong = node.client.post("/v1/oauth/token", data={**form, "client_secret": "guess" * 8})
        assert wrong.status_code == 401
    right = node.client.post("/v1/oauth/token", data={**form, "client_secret": issued.secret})
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_rate_limit_follows_the_client_not_the_header(
    backend: str, tmp_path: Path, shipped_network: Network
) -> None:
    with migrated_database(backend, tmp_path) as url:
        settings = Settings(
            environment="test", database_url=url, data_dir=tmp_path, secret_key="r" * 48
        )
        # Three requests in a burst, then one a thousand seconds: no refill during the test.
        app = create_app(
            settings, network=shipped_network, limits=Limits(requests_per_second=0.001, burst=3)
        )
        register_corridor(app.state.sessions, app.state.node.keys)
        with TestClient(app) as client:
            node = Node(client, app, tmp_path)
            bearer = node.token(node.new_client("ktz-express"))["authorization"]
            # The same token written three ways: still one client.
            for written in (bearer, bearer + " ", bearer.replace("Bearer ", "Bearer  ")):
                answer = client.get("/v1/shipments", headers={"authorization": written})
                assert answer.status_code == 200, answer.text
            over = client.get("/v1/shipments", headers={"authorization": bearer + "  "})
            assert over.status_code == 429
            assert int(over.headers["retry-after"]) > 0
            # Another client has its own bucket.
            other = node.token(node.new_client("uz-trucking"))
            assert client.get("/v1/shipments", headers=other).status_code == 200
            # Made-up tokens prove nobody: they count against their address.
            prober = TestClient(app, client=("192.0.2.99", 40000))
            codes = [
                prober.get(
                    "/v1/shipments", headers={"authorization": f"Bearer junk-{n}"}
                ).status_code
                for n in range(5)
            ]
            assert codes == [401, 401, 401, 429, 429]

"""The web login on SQLite and PostgreSQL: wrong passwords are throttled with a translated
message and Retry-After, and logging out ends the session's token on the node (a copy of the
cookie stops working too)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from kervan.api.app import create_app
from kervan.network.model import Network
from kervan.services.access import node_operator
from kervan.services.credentials import NewPerson, create_user
from kervan.services.demo_corridor import register_corridor
from kervan.settings import Settings
from kervan.store.uow import UnitOfWork
from tests.api.conftest import node_settings
from tests.databases import BACKENDS, migrated_database

PASSWORD = "caspian-ferry-2026"


@pytest.fixture(params=BACKENDS)
def web(
    request: pytest.FixtureRequest, tmp_path: Path, web_network: Network
) -> Iterator[TestClient]:
    with migrated_database(request.param, tmp_path) as url:
        app = create_app(node_settings(url, tmp_path), network=web_network)
        register_corridor(app.state.sessions, app.state.node.keys)
        operator = node_operator("kervan-test", "AZ")
        person = NewPerson("az-customs", "officer.alat", PASSWORD, "Alat officer")
        create_user(UnitOfWork(app.state.sessions), operator, person)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield client


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def post_login(client: TestClient, password: str, language: str = "en") -> Response:
    form = client.get("/login", headers={"accept-language": language})
    return client.post(
        "/login",
        data={"username": "officer.alat", "password": password, "csrf": csrf_of(form.text)},
        headers={"accept-language": language},
        follow_redirects=False,
    )


def test_wrong_passwords_are_throttled_with_a_translated_message(web: TestClient) -> None:
    allowed = Settings.model_fields["login_failures_allowed"].default
    for _ in range(allowed):
        wrong = post_login(web, "not-the-password")
        assert wrong.status_code == 401
    throttled = post_login(web, PASSWORD, language="tr")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "çok fazla hatalı giriş" in throttled.text
    assert "kervan_session=" not in throttled.headers.get("set-cookie", "")
    russian = post_login(web, PASSWORD, language="ru")
    assert "Слишком много неудачных попыток" in russian.text


def test_logging_out_ends_the_token_even_where_it_was_copied(web: TestClient) -> None:
    answer = post_login(web, PASSWORD)
    assert answer.status_code == 303
    token = web.cookies.get("kervan_session")
    assert token
    bearer = {"authorization": f"Bearer {token}"}
    assert web.get("/v1/shipments", headers=bearer).status_code == 200
    page = web.get("/console")
    assert page.status_code == 200
    out = web.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert web.get("/v1/shipments", headers=bearer).status_code == 401
    web.cookies.set("kervan_session", token)  # the old cookie, replayed
    again = web.get("/console", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")

"""Error pages over HTTP: a browser gets a page in the site's style and its language (404, 405,
422, 500 without a traceback); the API and clients asking for JSON keep problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.network.model import Network
from tests.api.conftest import node_settings
from tests.databases import migrated_database

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[FastAPI]:
    folder: Path = tmp_path_factory.mktemp("web-errors")
    with migrated_database("sqlite", folder) as url:
        yield create_app(node_settings(url, folder), network=web_network)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def test_an_unknown_address_answers_a_page_to_a_browser(client: TestClient) -> None:
    answer = client.get("/no/such/page", headers=BROWSER)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no such page" in answer.text
    assert 'class="site-header"' in answer.text  # the site's own frame and navigation
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert '"status"' not in answer.text


@pytest.mark.parametrize(
    ("language", "title"),
    [("tr", "Böyle bir sayfa yok"), ("ru", "Такой страницы нет")],
)
def test_the_page_speaks_the_visitors_language(
    client: TestClient, language: str, title: str
) -> None:
    client.cookies.set("kervan_lang", language)
    answer = client.get("/shipmentz", headers=BROWSER)
    assert answer.status_code == 404
    assert f'<html lang="{language}">' in answer.text
    assert title in answer.text


def test_the_api_and_json_clients_keep_problem_json(client: TestClient) -> None:
    api = client.get("/v1/no-such-thing", headers=BROWSER)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "not_found"
    asked = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert asked.status_code == 404
    assert asked.json()["code"] == "not_found"
    default = client.get("/no/such/page")  # no Accept header: a program, not a person
    assert default.headers["content-type"] == "application/problem+json"


def test_a_wrong_method_answers_a_page_and_names_the_allowed_ones(client: TestClient) -> None:
    answer = client.delete("/verify", headers=BROWSER)
    assert answer.status_code == 405
    assert "This address does not take that request" in answer.text
    assert "GET" in answer.headers["allow"]


def test_an_unreadable_form_answers_a_page(client: TestClient) -> None:
    # A query longer than the console's bound: FastAPI refuses it before the page runs.
    answer = client.get("/console", params={"crossing": "X" * 40}, headers=BROWSER)
    assert answer.status_code == 422
    assert "The request could not be read" in answer.text


def test_an_unexpected_error_answers_a_page_without_the_traceback(app: FastAPI) -> None:
    secret = "internal detail that must stay in the log"

    def broken() -> None:
        raise RuntimeError(secret)

    app.add_api_route("/web-test/broken", broken, include_in_schema=False)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        page = client.get("/web-test/broken", headers=BROWSER)
        assert page.status_code == 500
        assert "Something went wrong on this node" in page.text
        assert secret not in page.text
        assert "Traceback" not in page.text
        assert "RuntimeError" not in page.text
        api = client.get("/web-test/broken", headers={"Accept": "application/json"})
        assert api.status_code == 500
        assert api.json()["code"] == "internal_error"
        assert secret not in api.text

"""Planning over HTTP: plans, places, the network map, and problem+json for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import Limits, create_app
from kervan.errors import DatabaseNotMigratedError
from kervan.network.model import Network
from tests.api.conftest import node_settings
from tests.databases import migrated_database


def test_plan_xian_to_duisburg_without_russia(sqlite_client: TestClient) -> None:
    response = sqlite_client.post(
        "/v1/routes/plan",
        json={"origin": "Xi'an", "destination": "Duisburg", "avoid_countries": ["RU", "BY"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["origin"] == "CNXIA"
    assert len(body["plans"]) == 3
    for plan in body["plans"]:
        assert "RU" not in plan["countries"]
        assert plan["plan_key"]
        assert plan["totals"]["hours_p90"] > plan["totals"]["hours_p50"]
    assert response.headers["x-request-id"]


def test_pareto_over_http(sqlite_client: TestClient) -> None:
    response = sqlite_client.post(
        "/v1/routes/plan",
        json={"origin": "Lianyungang", "destination": "Rotterdam", "pareto": True},
    )
    assert response.status_code == 200
    assert len(response.json()["plans"]) >= 2


def test_unknown_place_is_a_404_problem_with_suggestions(sqlite_client: TestClient) -> None:
    response = sqlite_client.post(
        "/v1/routes/plan", json={"origin": "Dostik", "destination": "Baku"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "unknown_place"
    assert "Dostyk" in problem["suggestions"]
    assert problem["request_id"] == response.headers["x-request-id"]


def test_no_route_explains_the_blocking_constraint(sqlite_client: TestClient) -> None:
    response = sqlite_client.post(
        "/v1/routes/plan",
        json={"origin": "Almaty", "destination": "Baku", "avoid_modes": ["ferry", "road", "rail"]},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "no_route"
    assert response.json()["reasons"]


@pytest.mark.parametrize(
    "body",
    [
        {"origin": "Xi'an"},
        {"origin": "Xi'an", "destination": "Baku", "avoid_countries": ["russia"]},
        {"origin": "Xi'an", "destination": "Baku", "alternatives": 0},
        {"origin": "Xi'an", "destination": "Baku", "unit": "camel"},
        {"origin": "Xi'an", "destination": "Baku", "surprise": 1},
        {"origin": "", "destination": "Baku"},
    ],
)
def test_bad_plan_requests_are_422_with_the_field(
    sqlite_client: TestClient, body: dict[str, object]
) -> None:
    response = sqlite_client.post("/v1/routes/plan", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert problem["errors"][0]["field"].startswith("body")


def test_not_json_is_a_problem_not_a_500(sqlite_client: TestClient) -> None:
    response = sqlite_client.post(
        "/v1/routes/plan", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_places_search_as_you_type(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/v1/places", params={"q": "tbil"})
    assert response.status_code == 200
    assert response.json()[0]["name"] == "Tbilisi"
    assert sqlite_client.get("/v1/places", params={"q": ""}).status_code == 422


def test_network_geojson_has_every_node_and_link(
    sqlite_client: TestClient, shipped_network: Network
) -> None:
    features = sqlite_client.get("/v1/network").json()["features"]
    points = [f for f in features if f["geometry"]["type"] == "Point"]
    lines = [f for f in features if f["geometry"]["type"] == "LineString"]
    assert len(points) == len(shipped_network.nodes)
    assert len(lines) == len(shipped_network.links)


def test_health_ready_metrics_and_openapi(sqlite_client: TestClient) -> None:
    assert sqlite_client.get("/health").json()["status"] == "ok"
    assert sqlite_client.get("/ready").json()["database"] == "ok"
    sqlite_client.post("/v1/routes/plan", json={"origin": "Aktau", "destination": "Baku"})
    token = sqlite_client.app.state.settings.metrics_token_value()  # type: ignore[attr-defined]
    metrics = sqlite_client.get("/metrics", headers={"authorization": f"Bearer {token}"}).text
    assert "kervan_http_requests_total" in metrics
    assert 'route="/v1/routes/plan"' in metrics
    spec = sqlite_client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/v1/routes/plan" in spec["paths"]


def test_body_size_and_rate_limits(tmp_path: Path, shipped_network: Network) -> None:
    with migrated_database("sqlite", tmp_path) as url:
        app = create_app(
            node_settings(url, tmp_path),
            network=shipped_network,
            limits=Limits(max_body_bytes=200, requests_per_second=1, burst=3),
        )
        with TestClient(app) as client:
            big = client.post("/v1/routes/plan", json={"origin": "x" * 500, "destination": "y"})
            assert big.status_code == 413
            assert big.json()["code"] == "payload_too_large"
            codes = [client.get("/v1/places", params={"q": "ba"}).status_code for _ in range(6)]
            assert 429 in codes
            limited = client.get("/v1/places", params={"q": "ba"})
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            assert client.get("/health").status_code == 200


def test_unmigrated_database_is_refused(tmp_path: Path, shipped_network: Network) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    with pytest.raises(DatabaseNotMigratedError, match="kervan db upgrade"):
        create_app(node_settings(url, tmp_path), network=shipped_network)

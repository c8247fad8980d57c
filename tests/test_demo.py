"""`make demo` seeds a working corridor node: organisations, people, shipments at each stage."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.demo import seed
from kervan.settings import Environment, Settings


def test_demo_seeds_a_node_people_can_log_in_to(tmp_path: Path) -> None:
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=tmp_path)
    passwords, shipments = seed(settings)
    assert {"kz-customs", "xian-forwarding", "tr-permits"} <= set(passwords)
    assert [stage for _, _, stage in shipments] == [
        "at the Azerbaijani border",
        "delivered",
        "booked",
    ]
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/v1/auth/login", json={"username": "az-customs", "password": passwords["az-customs"]}
        )
        assert login.status_code == 200
        officer = {"authorization": f"Bearer {login.json()['access_token']}"}
        work = client.get("/v1/customs/worklist", headers=officer).json()
        assert [item["shipment_id"] for item in work["at_border"]] == [shipments[0][0]]
        assert work["at_border"][0]["lane"] == "green"
        delivered = client.get(f"/v1/shipments/{shipments[1][0]}", headers=officer).json()
        assert delivered["status"] == "delivered"
        wrong = client.post("/v1/auth/login", json={"username": "az-customs", "password": "x" * 12})
        assert wrong.status_code == 401

        # The observatory reads the node's own records: the two containers on their way (the
        # truck has no event yet), one delivered, both on digital documents, and each crossing's
        # dwell as the seeded events recorded it.
        analyst = client.post(
            "/v1/auth/login",
            json={"username": "ministry-analyst", "password": passwords["ministry-analyst"]},
        )
        headers = {"authorization": f"Bearer {analyst.json()['access_token']}"}
        kpis = client.get("/v1/observatory/kpis", headers=headers).json()["kpis"]
        assert (kpis["shipments"], kpis["delivered"], kpis["in_transit"]) == (2, 1, 1)
        assert kpis["digital_share"] == 1.0
        plan = client.get(f"/v1/shipments/{shipments[1][0]}", headers=officer).json()["plan"]
        first = next(leg for leg in plan["legs"] if leg["border"])
        dwell = {d["crossing"]: d for d in kpis["border_dwell"]}
        assert dwell[first["border"]["crossing_id"]]["count"] == 2
        assert dwell[first["border"]["crossing_id"]]["p50"] == pytest.approx(
            first["border"]["dwell_hours_p50"], abs=0.01
        )
        csv = client.get("/v1/observatory/kpis", params={"format": "csv"}, headers=headers)
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.startswith("table,key,metric,value")
        assert client.get("/v1/observatory/kpis", headers=officer).status_code == 403

"""`make demo` seeds a working corridor node: organisations, people, shipments at each stage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from kervan.api.app import create_app
from kervan.demo import CONSOLE_LOGIN, PAGES, PERMIT_DESK_LOGIN, print_orientation, seed
from kervan.settings import Environment, Settings


def _login(client: TestClient, passwords: dict[str, str], org_id: str) -> dict[str, str]:
    answer = client.post("/v1/auth/login", json={"username": org_id, "password": passwords[org_id]})
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


def test_demo_seeds_a_node_people_can_log_in_to(tmp_path: Path) -> None:
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=tmp_path)
    passwords, shipments = seed(settings)
    assert {"kz-customs", "xian-forwarding", "tr-permits", "uz-permits"} <= set(passwords)
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
        report = client.get("/v1/observatory/kpis", headers=headers).json()
        kpis = report["kpis"]
        assert (kpis["shipments"], kpis["delivered"], kpis["in_transit"]) == (2, 1, 1)
        assert kpis["digital_share"] == 1.0
        plan = client.get(f"/v1/shipments/{shipments[1][0]}", headers=officer).json()["plan"]
        first = next(leg for leg in plan["legs"] if leg["border"])
        dwell = {d["crossing"]: d for d in kpis["border_dwell"]}
        assert dwell[first["border"]["crossing_id"]]["count"] == 2
        assert dwell[first["border"]["crossing_id"]]["p50"] == pytest.approx(
            first["border"]["dwell_hours_p50"], abs=0.01
        )
        # CAREC CPMM from the signed events: time to clear each crossing, speed of the delivery
        cpmm = report["cpmm"]
        tcb = {c["crossing"]: c for c in cpmm["crossings"]}
        assert tcb[first["border"]["crossing_id"]]["tcb_hours_p50"] == pytest.approx(
            first["border"]["dwell_hours_p50"], abs=0.01
        )
        (whole,) = [s for s in cpmm["sections"] if s["key"] == "all"]
        assert whole["shipments"] == 1
        assert 0 < whole["sswd_kmh"] <= whole["sswod_kmh"]
        csv = client.get("/v1/observatory/kpis", params={"format": "csv"}, headers=headers)
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.startswith("table,key,metric,value")
        assert client.get("/v1/observatory/kpis", headers=officer).status_code == 403


def test_the_orientation_lists_every_page_and_login(tmp_path: Path) -> None:
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=tmp_path)
    passwords, shipments = seed(settings)
    out = Console(record=True, width=240)
    print_orientation(out, "http://127.0.0.1:8000", passwords, shipments, tmp_path)
    text = out.export_text()
    assert "http://127.0.0.1:8000" in text
    lines = text.splitlines()
    for org_id, password in passwords.items():
        (line,) = [line for line in lines if f" {org_id} " in line and password in line]
        role, first = (cell.strip() for cell in line.split("│")[3:5])
        assert role
        assert first
    for page in PAGES:
        assert any(page.name in line and f" {page.path} " in line for line in lines), page
    for shipment_id, _, stage in shipments:
        assert any(shipment_id in line and stage in line for line in lines)
    # Every page named is one the node serves (an unknown path is a 404): anyone opens it, or
    # is sent to log in first.
    with TestClient(create_app(settings), follow_redirects=False) as client:
        for page in PAGES:
            answer = client.get(page.path)
            assert answer.status_code in (200, 303), (page.path, answer.status_code)
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login")


def test_the_first_console_item_is_released_now_and_the_permit_desk_issues_the_truck(
    tmp_path: Path,
) -> None:
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=tmp_path)
    passwords, shipments = seed(settings)
    (container, _, _), _, (truck, _, _) = shipments
    with TestClient(create_app(settings)) as client:
        # The officer's console opens on the container at the border, arrived before now: the
        # checks its lane asks for pass and it is released at this moment.
        officer = _login(client, passwords, CONSOLE_LOGIN)
        work = client.get("/v1/customs/worklist", headers=officer).json()
        first = [*work["at_border"], *work["arriving"]][0]
        assert first["shipment_id"] == container
        now = datetime.now(UTC)
        assert datetime.fromisoformat(first["arrived_at"]) < now
        release = {
            "leg_index": first["leg_index"],
            "at": now.isoformat(),
            "documentary_check_passed": True,
            "inspection": "conform" if first["physical_inspection_required"] else None,
            "seals": [
                {"number": seal.split(" (")[0], "condition": "intact"} for seal in first["seals"]
            ],
        }
        released = client.post(
            f"/v1/customs/shipments/{container}/release", json=release, headers=officer
        )
        assert released.status_code == 200, released.text
        work = client.get("/v1/customs/worklist", headers=officer).json()
        assert container not in [i["shipment_id"] for i in work["at_border"] + work["arriving"]]

        # The Uzbek permit desk issues the booked truck's permits, one for each country it
        # enters and none for Uzbekistan, from the quotas those countries granted it.
        shipper = _login(client, passwords, "tashkent-cotton")
        documents = client.get(f"/v1/shipments/{truck}/documents", headers=shipper).json()
        requests = [d for d in documents if d["kind"] == "e-Permit"]
        entered = sorted(d["content"]["countries"][0] for d in requests)
        assert entered == ["AZ", "GE", "KZ", "TR"]
        desk = _login(client, passwords, PERMIT_DESK_LOGIN)
        for request in requests:
            country = request["content"]["countries"][0]
            issued = client.post("/v1/permits", json={"document_id": request["id"]}, headers=desk)
            assert issued.status_code == 201, issued.text
            permit = issued.json()
            assert permit["permit_id"].startswith(f"UZ-{country}-{now.year}-")
            scan = client.post("/v1/verify/permit", json={"qr": permit["qr_code"]}).json()
            assert (scan["status"], scan["issuer"]) == ("valid", PERMIT_DESK_LOGIN)
        # The country entered does not issue it: another country's request is not its to see.
        turkish = _login(client, passwords, "tr-permits")
        again = client.post("/v1/permits", json={"document_id": requests[0]["id"]}, headers=turkish)
        assert again.status_code == 404

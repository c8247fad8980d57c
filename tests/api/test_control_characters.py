"""No control character reaches a query: every text a request carries is read first, on SQLite
and on PostgreSQL (which refuses NUL in text outright and answered 500 before the guard).

Each formerly failing entry is driven over HTTP (the API, and the web login form, three of them
without login) and must answer a 422 problem naming the field; newline and tab pass in free
text only.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from tests.api.conftest import CorridorNode, book_truck

NUL = "\x00"


def assert_refused(answer: Any, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "control_character", problem
    assert problem["errors"][0]["field"] == field, problem
    assert field in problem["detail"]


def test_the_doors_without_login_refuse_nul(corridor_node: CorridorNode) -> None:
    client = corridor_node.client
    token = client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": f"x{NUL}", "client_secret": "s"},
    )
    assert_refused(token, "body.client_id")
    login = client.post("/v1/auth/login", json={"username": f"ali{NUL}", "password": "pw"})
    assert_refused(login, "body.username")
    # An object key is text too (it names a field the model would refuse, or one it keeps).
    keyed = client.post("/v1/auth/login", json={"username": "ali", "pass\x00word": "pw"})
    assert_refused(keyed, "body.pass\x00word")
    web = client.post("/login", data={"username": f"ali{NUL}", "password": "pw", "csrf": "x"})
    assert_refused(web, "body.username")
    # A multipart form is read as well as an urlencoded one.
    multipart = client.post(
        "/v1/oauth/token",
        files={
            "grant_type": (None, "client_credentials"),
            "client_id": (None, "x"),
            "client_secret": (None, f"s{NUL}"),
        },
    )
    assert_refused(multipart, "body.client_secret")
    places = client.get("/v1/places", params={"q": f"Ak{NUL}tau"})
    assert_refused(places, "query.q")
    plan = client.post("/v1/routes/plan", json={"origin": f"Xi'an{NUL}", "destination": "Baku"})
    assert_refused(plan, "body.origin")
    qr = client.post("/v1/verify/permit", json={"qr": f"a.b.c{NUL}defghij"})
    assert_refused(qr, "body.qr")
    # A lone surrogate has no UTF-8 form: refused like a control character.
    surrogate = client.post(
        "/v1/auth/login",
        content=b'{"username": "ali\\ud800", "password": "pw"}',
        headers={"content-type": "application/json"},
    )
    assert_refused(surrogate, "body.username")


def test_logged_in_entries_refuse_control_characters(corridor_node: CorridorNode) -> None:
    client = corridor_node.client
    booked = book_truck(corridor_node, reference="CTRL-1")
    shipper = corridor_node.tokens("tashkent-cotton")
    ecmr = booked.ecmr
    path = client.get(f"/v1/shipments/{booked.shipment_id}%00", headers=shipper)
    assert_refused(path, "path.shipment_id")
    document = client.get(f"/v1/documents/{ecmr}%1B", headers=shipper)
    assert_refused(document, "path.document_id")
    sign = client.post(
        f"/v1/documents/{ecmr}/signatures",
        json={"step": "issue", "reason": f"ok{NUL}"},
        headers=shipper,
    )
    assert_refused(sign, "body.reason")
    event = client.post(
        f"/v1/shipments/{booked.shipment_id}/events",
        json={"type": "taken_over", "at": "2026-11-24T08:00:00Z", "details": {"note": "\x07"}},
        headers=shipper,
    )
    assert_refused(event, "body.details.note")
    keyed = client.post(
        f"/v1/shipments/{booked.shipment_id}/events",
        json={"type": "taken_over", "at": "2026-11-24T08:00:00Z", "details": {"n\x00": "x"}},
        headers=shipper,
    )
    assert_refused(keyed, "body.details.n\x00")
    idempotent = client.post(
        f"/v1/documents/{ecmr}/signatures",
        json={"step": "issue"},
        headers={**shipper, "idempotency-key": "key\x01"},
    )
    assert_refused(idempotent, "header.idempotency-key")
    permits = corridor_node.tokens("tr-permits")
    revoke = client.post(
        "/v1/permits/TR-1/revocation", json={"reason": f"stolen{NUL}"}, headers=permits
    )
    assert_refused(revoke, "body.reason")
    worklist = client.get(
        "/v1/customs/worklist",
        params={"crossing": "\x85"},
        headers=corridor_node.tokens("kz-customs"),
    )
    assert_refused(worklist, "query.crossing")
    # Nothing was stored on the way: the shipment still reads, its documents unsigned.
    shown = client.get(f"/v1/shipments/{booked.shipment_id}/documents", headers=shipper)
    assert shown.status_code == 200
    assert all(not d["signatures"] for d in shown.json())


def test_lines_only_in_free_text(corridor_node: CorridorNode) -> None:
    client = corridor_node.client
    booked = book_truck(corridor_node, reference="CTRL-2")
    permits = corridor_node.tokens("tr-permits")
    # A reason may run over lines: past the guard and the model, to the use case (no such permit).
    multi_line = client.post(
        "/v1/permits/TR-404/revocation",
        json={"reason": "stolen\nreported to police\tcase 17"},
        headers=permits,
    )
    assert multi_line.status_code == 404, multi_line.text
    # A single-line field refuses a line break (the model's pattern, named as a field error).
    shipper = corridor_node.tokens("tashkent-cotton")
    sign = client.post(
        f"/v1/documents/{booked.ecmr}/signatures", json={"step": "is\nsue"}, headers=shipper
    )
    assert sign.status_code == 422
    assert sign.json()["code"] == "validation_failed"
    assert sign.json()["errors"][0]["field"] == "body.step"
    tabbed = client.get("/v1/places", params={"q": "Ak\ttau"})
    assert_refused(tabbed, "query.q")


@pytest.mark.parametrize("argument", ["Ak\x01tau", "Aktau\x1b[2J"])
def test_the_command_line_refuses_control_characters(argument: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "kervan", "places", argument],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "invalid_request" in run.stderr
    assert "argument 2" in run.stderr
    assert "U+00" in run.stderr

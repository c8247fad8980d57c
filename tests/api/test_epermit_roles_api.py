"""The e-Permit roles over the API: a quota authority grants a quota (not announced to a country
off the network), the issuing authority issues against the quota it holds, the control
authority checks presented permits at its border and the reconciliation shows each side;
another organisation gets 403 or 404."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.conftest import CorridorNode, book_truck

YEAR = datetime.now(UTC).year
PERMIT_TYPE = {"bilateral": 1, "transit": 2, "third-country": 3}


def test_quota_authority_issuer_and_control_authority_on_one_node(
    corridor_node: CorridorNode,
) -> None:
    node = corridor_node
    tr, uz = node.tokens("tr-permits"), node.tokens("uz-permits")
    shipper = node.tokens("tashkent-cotton")
    documents = book_truck(node).documents
    requests = {d["content"]["countries"][0]: d for d in documents if d["kind"] == "e-Permit"}
    kind = PERMIT_TYPE[requests["TR"]["content"]["permit_type"]]
    grant = {"issuer": "UZ", "year": YEAR, "permit_type": kind, "quantity": 5}
    granted = node.client.post("/v1/permits/quota-grants", json=grant, headers=tr)
    assert granted.status_code == 201, granted.text
    assert granted.json()["announced"] is False  # UZ is no e-Permit partner of this node's TR
    by_shipper = node.client.post("/v1/permits/quota-grants", json=grant, headers=shipper)
    assert by_shipper.status_code == 403
    to_itself = node.client.post(
        "/v1/permits/quota-grants", json={**grant, "issuer": "TR"}, headers=tr
    )
    assert to_itself.status_code == 422

    # The issuing side holds the quota TR granted (on one node: recorded by the issuer).
    quota = {"issued_for": "TR", "year": YEAR, "permit_type": kind, "quantity": 5}
    assert node.client.post("/v1/permits/quotas", json=quota, headers=uz).status_code == 201
    issued = node.client.post("/v1/permits", json={"document_id": requests["TR"]["id"]}, headers=uz)
    assert issued.status_code == 201, issued.text
    permit = issued.json()

    # TR's border: a permit TR was never told of (no PERMIT_CREATED reached it) is refused.
    use = {"qr": permit["qr_code"], "plate": permit["plate_number"], "activity": "ENTRANCE"}
    unknown = node.client.post("/v1/permits/border-uses", json=use, headers=tr)
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "permit_refused"
    assert "unknown_permit" in unknown.text
    garbage = node.client.post("/v1/permits/border-uses", json={**use, "qr": "x" * 20}, headers=tr)
    assert garbage.status_code == 422
    assert "qr_signature" in garbage.text

    network = node.client.get("/v1/permits/network", headers=tr)
    assert network.status_code == 200, network.text
    lines = network.json()["quotas"]
    assert [(q["partner"], q["role"], q["granted"], q["issued"]) for q in lines] == [
        ("UZ", "quota authority", 5, 0)
    ]
    uz_lines = node.client.get("/v1/permits/network", headers=uz).json()["quotas"]
    assert ("TR", "issuer", 5, 1) in [
        (q["partner"], q["role"], q["granted"], q["issued"]) for q in uz_lines
    ]
    assert node.client.get("/v1/permits/network", headers=shipper).status_code == 403
    own = node.client.get(f"/v1/permits/{permit['permit_id']}", headers=uz)
    assert own.status_code == 200
    assert own.json()["permit"]["permit_id"] == permit["permit_id"]
    assert node.client.get(f"/v1/permits/{permit['permit_id']}", headers=tr).status_code == 404

"""A permit authority revokes an unused e-Permit: the QR then checks as revoked, the shipment's
e-Permit document says so and its ledger chain records it; nobody else can revoke it."""

from __future__ import annotations

from typing import Any

from kervan.ledger.chain import verify_chain
from kervan.store.db import unit_of_work
from kervan.store.repositories.ledger import SqlLedgerStore
from tests.api.conftest import CorridorNode, book_truck

PERMIT_TYPE = {"bilateral": 1, "transit": 2, "third-country": 3}


def _issue_a_permit(node: CorridorNode) -> tuple[dict[str, Any], str, str]:
    """Book the Uzbek truck, have the Uzbek authority issue its first e-Permit against the quota
    the country entered granted; (wire permit, document id, authority)."""
    request = next(d for d in book_truck(node).documents if d["kind"] == "e-Permit")
    authority = f"{request['content']['permit_issuer_country'].lower()}-permits"
    assert authority == "uz-permits"
    quota = {
        "issued_for": request["content"]["countries"][0],
        "year": 2026,
        "permit_type": PERMIT_TYPE[request["content"]["permit_type"]],
        "quantity": 3,
    }
    added = node.client.post("/v1/permits/quotas", json=quota, headers=node.tokens(authority))
    assert added.status_code == 201, added.text
    issued = node.client.post(
        "/v1/permits", json={"document_id": request["id"]}, headers=node.tokens(authority)
    )
    assert issued.status_code == 201, issued.text
    return issued.json(), request["id"], authority


def test_an_authority_revokes_its_unused_permit_once(corridor_node: CorridorNode) -> None:
    node = corridor_node
    permit, document_id, authority = _issue_a_permit(node)
    permit_id = permit["permit_id"]
    revocation = f"/v1/permits/{permit_id}/revocation"
    reason = {"reason": "plate reported stolen"}

    other = "tr-permits" if authority != "tr-permits" else "kz-permits"
    assert node.client.post(revocation, json=reason, headers=node.tokens(other)).status_code == 404
    shipper = node.client.post(revocation, json=reason, headers=node.tokens("tashkent-cotton"))
    assert shipper.status_code == 403
    blank = node.client.post(revocation, json={"reason": " "}, headers=node.tokens(authority))
    assert blank.status_code == 422
    unknown = node.client.post(
        f"/v1/permits/{permit_id}-9/revocation", json=reason, headers=node.tokens(authority)
    )
    assert unknown.status_code == 404
    scan = node.client.post("/v1/verify/permit", json={"qr": permit["qr_code"]}).json()
    assert scan["status"] in ("valid", "not yet valid")

    revoked = node.client.post(revocation, json=reason, headers=node.tokens(authority))
    assert revoked.status_code == 201, revoked.text
    assert revoked.json()["permit_id"] == permit_id
    assert revoked.json()["document_id"] == document_id
    assert revoked.json()["reason"] == "plate reported stolen"
    again = node.client.post(revocation, json=reason, headers=node.tokens(authority))
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"

    scan = node.client.post("/v1/verify/permit", json={"qr": permit["qr_code"]}).json()
    assert scan["status"] == "revoked"
    assert scan["permit_id"] == permit_id
    # The check says when and why.
    assert scan["revoked_at"] == revoked.json()["revoked_at"]
    assert scan["revoke_reason"] == "plate reported stolen"
    document = node.client.get(
        f"/v1/documents/{document_id}", headers=node.tokens("tashkent-cotton")
    ).json()
    assert document["state"] == "revoked"
    with unit_of_work(node.app.state.sessions) as session:
        chain = SqlLedgerStore(session, org_id="tashkent-cotton").entries_for_document(document_id)
    assert [e.event_type for e in chain] == ["version:1", "version:2", "revoke"]
    assert verify_chain(chain).ok

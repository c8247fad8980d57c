"""The e-Permit network page of a permit authority over HTTP: its partners, a quota granted
through the form (queued for the partner), the reconciliation, a permit refused at the border
with its reason, and nobody else's view of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.network.model import Network
from kervan.services.access import node_operator
from kervan.services.epermit_network import NewPartner, PartnerSpec, add_partner
from kervan.signatures.keys import Es256Signer
from tests.api.conftest import node_settings
from tests.databases import migrated_database
from tests.web.conftest import seed_corridor
from tests.web.test_pages_http import csrf_of, login


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[TestClient]:
    folder: Path = tmp_path_factory.mktemp("web-epermit")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        seed_corridor(app)
        ctx = app.state.node
        partner_key = Es256Signer.generate("kz-permits-1", party="KZ").public_jwk()
        spec = PartnerSpec(code="KZ", url="http://127.0.0.1:9/", name="Kazakhstan",
                           keys=[{**partner_key, "kid": "kz-permits-1"}])  # fmt: skip
        operator = node_operator(ctx.settings.node_id, ctx.settings.node_country)
        add_partner(ctx.unit_of_work(), operator, NewPartner("uz-permits", spec))
        with TestClient(app, base_url="http://127.0.0.1") as test_client:
            yield test_client


def test_the_authority_grants_a_quota_and_checks_a_permit_at_its_border(
    client: TestClient,
) -> None:
    login(client, "uz-permits")
    page = client.get("/permits/network")
    assert page.status_code == 200
    assert 'data-partner="KZ"' in page.text
    year = datetime.now(UTC).year
    granted = client.post(
        "/permits/network/grants",
        data={
            "issuer": "KZ",
            "year": year,
            "permit_type": 1,
            "quantity": 40,
            "csrf": csrf_of(page),
        },
    )
    assert granted.status_code == 200
    assert "Quota granted:" in granted.text
    # The grant waits for KZ (nothing delivers in this test): one event waiting, none refused.
    row = granted.text.split('data-partner="KZ"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row
    assert "Quotas we granted partners" in granted.text
    assert ">40<" in granted.text

    refused = client.post(
        "/permits/network/uses",
        data={
            "qr": "not.a.permit-qr",
            "plate": "01A123BC",
            "activity": "ENTRANCE",
            "csrf": csrf_of(granted),
        },
    )
    assert refused.status_code == 200
    assert "Permit refused at this border:" in refused.text
    assert "qr_signature" in refused.text


def test_only_a_permit_authority_sees_the_network_page(client: TestClient) -> None:
    login(client, "tashkent-cotton")
    assert client.get("/permits/network").status_code == 403


def test_a_revoked_permits_check_shows_when_and_why(client: TestClient) -> None:
    login(client, "uz-permits")
    desk = client.get("/permits")
    found = re.search(r'data-document="([^"]+)"', desk.text)
    assert found, "the seeded truck's e-Permit requests wait on the desk"
    issued = client.post(
        "/permits/issue", data={"document_id": found.group(1), "csrf": csrf_of(desk)}
    )
    assert "Permit issued:" in issued.text
    permit_id = re.search(
        r"Permit issued:</strong> <span lang=\"en\">([A-Z]+-[A-Z]+-\d{4}-\d-\d+)", issued.text
    )
    assert permit_id, issued.text[:2000]
    # Revoking ends the permit for good: without the officer's confirmation it is refused,
    # the refusal next to the box.
    unconfirmed = client.post(
        f"/permits/{permit_id.group(1)}/revoke",
        data={"reason": "vehicle written off", "csrf": csrf_of(issued)},
    )
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm that revoking ends this permit for good." in unconfirmed.text
    assert "Permit revoked:" not in unconfirmed.text
    revoked = client.post(
        f"/permits/{permit_id.group(1)}/revoke",
        data={"reason": "vehicle written off", "confirm": "yes", "csrf": csrf_of(issued)},
    )
    assert "Permit revoked:" in revoked.text
    assert "now checks as revoked at every border" in revoked.text
    qr = re.search(r'/verify\?qr=([^"&]+)', revoked.text.split(permit_id.group(1), 1)[1])
    assert qr
    check = client.get(f"/verify?qr={qr.group(1)}")
    assert 'data-status="revoked"' in check.text
    assert "Revoked at" in check.text
    assert "vehicle written off" in check.text


def test_the_network_page_is_the_current_link_alone(client: TestClient) -> None:
    login(client, "tr-permits")
    page = client.get("/permits/network").text
    assert '<a href="/permits/network" aria-current="page">' in page
    assert '<a href="/permits" aria-current="page">' not in page
    assert '<a href="/permits" aria-current="page">' in client.get("/permits").text

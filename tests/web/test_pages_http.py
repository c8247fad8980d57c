"""The pages after the planner over HTTP, without a browser: the session cookie, CSRF on every
form, each organisation seeing only its own, the booking form's refusals, printable documents
under their own content policy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from lxml import html as lxml_html

from kervan.api.app import create_app
from kervan.network.model import Network
from kervan.services.demo_corridor import SeededShipment
from tests.api.conftest import node_settings
from tests.databases import migrated_database
from tests.efti_schemas import assert_valid as assert_valid_xml
from tests.uncefact_schemas import CIM_SMGS_SCHEMA, ECMR_SCHEMA, assert_valid, hs_codes
from tests.web.conftest import password_of, seed_corridor

Seeded = tuple[TestClient, list[SeededShipment]]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[Seeded]:
    folder: Path = tmp_path_factory.mktemp("web-pages")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        shipments = seed_corridor(app)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield client, shipments


def csrf_of(page: Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def login(client: TestClient, org_id: str) -> Response:
    client.cookies.clear()
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"username": org_id, "password": password_of(org_id), "csrf": csrf_of(form)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return answer


def test_session_cookie_is_strict_and_logout_clears_it(seeded: Seeded) -> None:
    client, _ = seeded
    client.cookies.clear()
    form = client.get("/login")
    no_token = client.post(
        "/login",
        data={"username": "xian-forwarding", "password": password_of("xian-forwarding")},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    assert "kervan_session" not in no_token.headers.get("set-cookie", "")
    wrong = client.post(
        "/login",
        data={"username": "xian-forwarding", "password": "x" * 14, "csrf": csrf_of(form)},
    )
    assert wrong.status_code == 401
    answer = login(client, "xian-forwarding")
    assert answer.headers["location"] == "/shipments"
    session = next(c for c in answer.headers.get_list("set-cookie") if "kervan_session=" in c)
    assert "HttpOnly" in session
    assert "SameSite=strict" in session or "SameSite=Strict" in session
    assert "Secure" not in session  # plain http on 127.0.0.1; https sets it
    page = client.get("/shipments")
    assert page.status_code == 200
    out = client.post("/logout", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert out.status_code == 303
    assert any(
        "kervan_session=" in c and "Max-Age=0" in c for c in out.headers.get_list("set-cookie")
    )
    again = client.get("/shipments", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/login?next=%2Fshipments"


def test_forms_refuse_another_sessions_token(seeded: Seeded) -> None:
    client, shipments = seeded
    login(client, "ktz-express")
    page = client.get(f"/shipments/{shipments[0].id}")
    token = csrf_of(page)
    login(client, "ktz-express")  # a new session gets a new token
    stale = client.post(
        f"/shipments/{shipments[0].id}/events",
        data={"type": "delivered", "at": "2030-01-01T00:00", "csrf": token},
    )
    assert stale.status_code == 403
    assert "form has expired" in stale.text


def test_each_organisation_sees_only_its_own(seeded: Seeded) -> None:
    client, shipments = seeded
    rail, _, truck = shipments
    login(client, "uz-trucking")
    listed = client.get("/shipments").text
    assert "TAS-IST-0042" in listed
    assert "XIA-HAL-0001" not in listed
    assert client.get(f"/shipments/{rail.id}").status_code == 404
    assert client.get(f"/documents/{rail.id}-CIMSMGS-1/evidence.json").status_code == 404
    login(client, "tm-customs")  # the rail route does not touch Turkmenistan
    assert client.get(f"/shipments/{rail.id}").status_code == 404
    login(client, "az-customs")
    seen = client.get(f"/shipments/{rail.id}")
    assert seen.status_code == 200
    assert "customs view, without prices" in seen.text
    assert "412,000" not in seen.text  # the goods' value is not for customs
    assert client.get(f"/shipments/{truck.id}").status_code == 404  # booked: not yet visible
    login(client, "ministry-analyst")
    assert client.get("/shipments").status_code == 403
    assert client.get("/console").status_code == 403
    assert client.get("/permits").status_code == 403


def test_booking_form_names_what_it_refuses(seeded: Seeded) -> None:
    client, _ = seeded
    login(client, "xian-forwarding")
    planner = client.get("/", params={"origin": "Xi'an", "destination": "Istanbul"})
    token = csrf_of(planner)
    key = re.search(r'name="plan_key" value="([^"]+)"', planner.text)
    assert key is not None
    plan = {
        "origin": "CNXIA",
        "destination": "TRIST",
        "unit": "container",
        "objective": "time",
        "plan_key": key.group(1).replace("&amp;", "&"),
        "csrf": token,
    }
    opened = client.post("/shipments/book", data=plan, follow_redirects=False)
    assert opened.status_code == 303
    form = client.get(opened.headers["location"])
    assert form.status_code == 200
    assert "Book and open the documents" in form.text
    bad = client.post(
        "/shipments/book",
        data={
            **plan,
            "reference": "BAD-1",
            "consignee": "istanbul-imports",
            "goods-0-description": "Batteries",
            "goods-0-hs_code": "85",
            "goods-0-packages": "2",
            "goods-0-gross_weight_kg": "10",
        },
    )
    assert bad.status_code == 422
    assert "hs_code" in bad.text
    assert 'value="BAD-1"' in bad.text  # what was typed is kept
    login(client, "ktz-express")
    carrier = client.get(opened.headers["location"])
    assert carrier.status_code == 403
    assert "Only a shipper or a forwarder" in carrier.text


def test_printable_note_has_its_qr_and_own_policy(seeded: Seeded) -> None:
    client, shipments = seeded
    login(client, "istanbul-imports")
    note = f"{shipments[1].id}-CIMSMGS-1"
    printed = client.get(f"/documents/{note}/print")
    assert printed.status_code == 200
    assert printed.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<svg" in printed.text
    assert f"/verify?document={note}" in printed.text
    evidence = client.get(f"/documents/{note}/evidence.json")
    assert evidence.headers["content-disposition"].startswith("attachment")
    assert evidence.json()["format"] == "kervan.evidence-bundle/1"


def test_uncefact_download_from_the_document_cards(seeded: Seeded) -> None:
    client, shipments = seeded
    rail, truck = shipments[1], shipments[2]
    login(client, "istanbul-imports")
    note = f"{rail.id}-CIMSMGS-1"
    page = client.get(f"/shipments/{rail.id}")
    assert page.status_code == 200
    link = f'<a href="/documents/{note}/uncefact.json" download>UN/CEFACT D23B JSON</a>'
    assert link in page.text
    download = client.get(f"/documents/{note}/uncefact.json")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/json"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="{note}-uncefact-d23b.json"'
    )
    exported = download.json()
    assert_valid(CIM_SMGS_SCHEMA, exported)
    assert hs_codes(exported) == [{"content": "850760", "listAgencyId": "1"}]

    login(client, "tashkent-cotton")
    page = client.get(f"/shipments/{truck.id}", headers={"accept-language": "tr"})
    assert page.status_code == 200
    ecmr = f"{truck.id}-ECMR-1"
    assert f'/documents/{ecmr}/uncefact.json" download>UN/CEFACT D23B JSON dışa aktarımı<' in (
        page.text
    )
    assert f"/documents/{truck.id}-PERMIT-1/evidence.json" in page.text
    assert f"/documents/{truck.id}-PERMIT-1/uncefact.json" not in page.text
    assert f"/documents/{truck.id}-ETIR-1/uncefact.json" not in page.text
    road = client.get(f"/documents/{ecmr}/uncefact.json")
    assert road.status_code == 200
    assert_valid(ECMR_SCHEMA, road.json())
    assert hs_codes(road.json()) == [{"content": "520100", "listAgencyId": "1"}]
    permit = client.get(f"/documents/{truck.id}-PERMIT-1/uncefact.json")
    assert permit.status_code == 422
    assert "This document has no UN/CEFACT export" in permit.text
    # Another organisation's document is not found, as its evidence is.
    assert client.get(f"/documents/{note}/uncefact.json").status_code == 404
    # A person whose organisation reads no shipments is refused, not answered with an error.
    login(client, "ministry-analyst")
    assert client.get(f"/documents/{note}/uncefact.json").status_code == 403


def _booking_form(client: TestClient) -> dict[str, str]:
    """The planner's question and key for Xi'an -> Istanbul by container, as the Book button
    posts them (the person is logged in)."""
    planner = client.get("/", params={"origin": "Xi'an", "destination": "Istanbul"})
    key = re.search(r'name="plan_key" value="([^"]+)"', planner.text)
    assert key is not None
    return {
        "origin": "CNXIA",
        "destination": "TRIST",
        "unit": "container",
        "objective": "time",
        "plan_key": key.group(1).replace("&amp;", "&"),
        "csrf": csrf_of(planner),
    }


def _error_after(page: str, field: str) -> str:
    """The refusal shown right after input `field` (its aria-describedby points at it)."""
    found = re.search(
        rf'id="{re.escape(field)}"[^>]*aria-invalid="true" aria-describedby="{re.escape(field)}'
        rf'-error">(?:</select>)?<p class="field-error" id="{re.escape(field)}-error">([^<]+)</p>',
        page,
    )
    assert found, f"no refusal next to {field}"
    return found.group(1)


@pytest.mark.parametrize(
    ("language", "check_digit", "date_window"),
    [
        ("en", "ISO 6346 check digit does not match", "between 2000-01-01 and 2099-12-31"),
        ("tr", "ISO 6346 kontrol rakamı tutmuyor", "2000-01-01 ile 2099-12-31 arasında"),
        ("ru", "Контрольная цифра ISO 6346 не совпадает", "от 2000-01-01 до 2099-12-31"),
    ],
)
def test_booking_refusals_sit_next_to_their_fields_translated(
    seeded: Seeded, language: str, check_digit: str, date_window: str
) -> None:
    client, _ = seeded
    login(client, "xian-forwarding")
    client.cookies.set("kervan_lang", language)
    refused = client.post(
        "/shipments/book",
        data={
            **_booking_form(client),
            "reference": "LIMITS-1",
            "consignee": "istanbul-imports",
            "goods-0-description": "Cotton yarn",
            "goods-0-hs_code": "520512",
            "goods-0-packages": "20",
            "goods-0-gross_weight_kg": "18000",
            # A second row left blank, the third filled: its refusal lands on row 2, not 1.
            "goods-2-description": "Cotton bales",
            "goods-2-hs_code": "520100",
            "goods-2-packages": "0",
            "goods-2-gross_weight_kg": "100",
            "container_number": "CSQU3054384",
            "date_of_taking_over": "1900-01-01",
        },
    )
    assert refused.status_code == 422
    page = refused.text
    assert check_digit in _error_after(page, "container_number")
    assert date_window in _error_after(page, "date_of_taking_over")
    assert _error_after(page, "goods-2-packages")
    assert 'aria-invalid="true"' not in page.split('id="goods-1-packages"')[1].split(">")[0]
    # No pydantic English left on the page.
    assert "Value error" not in page
    assert "should be greater" not in page


def test_booking_refuses_goods_heavier_than_their_container(seeded: Seeded) -> None:
    client, _ = seeded
    login(client, "xian-forwarding")
    client.cookies.set("kervan_lang", "en")
    refused = client.post(
        "/shipments/book",
        data={
            **_booking_form(client),
            "reference": "LIMITS-2",
            "consignee": "istanbul-imports",
            "goods-0-description": "Cotton yarn",
            "goods-0-hs_code": "520512",
            "goods-0-packages": "20",
            "goods-0-gross_weight_kg": "999999999",
            "container_number": "CSQU3054383",
            "container_type": "22G1",
            "date_of_taking_over": "2026-12-10",
        },
    )
    assert refused.status_code == 422
    message = _error_after(refused.text, "goods-0-gross_weight_kg")
    assert "30480 kg gross" in message


def test_permit_forms_show_refusals_next_to_their_fields(seeded: Seeded) -> None:
    client, _ = seeded
    login(client, "tr-permits")
    client.cookies.set("kervan_lang", "tr")
    desk = client.get("/permits")
    refused = client.post(
        "/permits/quotas",
        data={
            "issued_for": "UZ",
            "year": "1990",
            "permit_type": "1",
            "quantity": "many",
            "csrf": csrf_of(desk),
        },
    )
    assert refused.status_code == 422
    assert "En az 2021 olmalı" in _error_after(refused.text, "quota-year")
    assert "tam sayı" in _error_after(refused.text, "quantity")
    assert 'value="many"' in refused.text  # what was typed is kept


def test_consignment_record_and_efti_download_on_the_shipment_page(seeded: Seeded) -> None:
    client, shipments = seeded
    rail = shipments[1]
    login(client, "istanbul-imports")
    note = f"{rail.id}-CIMSMGS-1"
    page = client.get(f"/shipments/{rail.id}")
    assert page.status_code == 200
    html = lxml_html.fromstring(page.text)
    table = next(t for t in html.iter("table") if t.get("class") == "consignment-table")
    body = next(table.iter("tbody"))
    cells = [
        [" ".join("".join(str(t) for t in c.itertext()).split()) for c in row]
        for row in body.iter("tr")
    ]
    assert ["CIM/SMGS", "consignment note number", note, note, "delivered"] in cells
    assert ["ISO 6346", "container number", "CSQU3054383", "", ""] in cells
    assert any(row[0] == "eFTI" and row[2].endswith(f"/{note}") for row in cells)
    link = f'<a href="/documents/{note}/efti.xml" download>eFTI consignment data set (XML)</a>'
    assert link in page.text
    download = client.get(f"/documents/{note}/efti.xml")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/xml"
    assert download.headers["content-disposition"] == f'attachment; filename="{note}-efti.xml"'
    assert_valid_xml("common", download.content)
    permit = client.get(f"/documents/{rail.id}-PERMIT-1/efti.xml")
    assert permit.status_code in (404, 422)

    login(client, "xian-forwarding")
    stranger = client.get(f"/documents/{shipments[2].id}-ECMR-1/efti.xml")
    assert stranger.status_code == 404


@pytest.mark.parametrize(
    ("language", "choose", "needed"),
    [
        ("en", "Choose the country of registration", "Choose the country where this vehicle"),
        ("tr", "Tescil ülkesini seçin", "Bu aracın tescil edildiği ülkeyi seçin."),
    ],
)
def test_a_vehicle_country_is_chosen_never_assumed(
    seeded: Seeded, language: str, choose: str, needed: str
) -> None:
    client, _ = seeded
    login(client, "xian-forwarding")
    client.cookies.set("kervan_lang", language)
    refused = client.post(
        "/shipments/book",
        data={
            **_booking_form(client),
            "reference": "PLATE-1",
            "consignee": "istanbul-imports",
            "goods-0-description": "Cotton yarn",
            "goods-0-hs_code": "520512",
            "goods-0-packages": "20",
            "goods-0-gross_weight_kg": "18000",
            "plate-0-number": "123ABC02",
            "plate-0-country": "",
        },
    )
    assert refused.status_code == 422
    select = refused.text.split('id="plate-0-country"', 1)[1]
    assert select.split(">", 1)[0].count('aria-invalid="true"') == 1
    assert f'<option value="">{choose}</option>' in select.split("</select>", 1)[0]
    assert " selected" not in select.split("</select>", 1)[0]  # no country picked for them
    error = select.split("</select>", 1)[1]
    assert error.startswith('<p class="field-error" id="plate-0-country-error">')
    assert needed in error.split("</p>", 1)[0]

"""The printed forms as PDF: Chromium prints each document's page to PDF (Page.printToPDF, the
page's own @page size) and the PDF is read back: one A4 page (595 x 842 pt), the form's numbered
box labels and the document's own values in its text, the QR code rendered from the PDF decoding
to the verification address (a document) or to the signed e-Permit token that the public verify
page checks as valid (a permit).

The corridor is seeded through the services: a container of lithium-ion batteries booked by road
Xi'an -> Istanbul (its e-CMR issued and taken over), the Uzbek truck Tashkent -> Istanbul (its
TIR declaration accepted by Uzbek customs, its Turkish permit issued), and the delivered
container Xi'an -> Halkali by rail and ferry (its CIM/SMGS note signed to delivery). The PDFs are
kept under test-artifacts/print/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from playwright.sync_api import Browser, Page, expect, sync_playwright

from kervan.api.app import create_app
from kervan.network.model import CargoUnit, Network
from kervan.services.access import Caller
from kervan.services.booking import book_shipment
from kervan.services.demo_corridor import BATTERIES, caller_for
from kervan.services.documents import SignRequest, SignStep, shipment_documents, sign_step
from kervan.services.node import NodeContext
from kervan.services.permits import IssueRequest, issue_for_shipment
from kervan.services.planning import RouteQuery, plan_routes
from kervan.services.shipments import BookingRequest, ShipmentRef
from kervan.services.tir import (
    GuaranteeRequest,
    RegisterGuarantee,
    TirRef,
    accept,
    register_guarantee,
    submit_declaration,
)
from kervan.shipments.booking import Cargo
from kervan.store.uow import UnitOfWork
from tests.api.conftest import node_settings
from tests.databases import migrated_database
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    RequestLog,
    password_of,
    require_chromium,
    seed_corridor,
    serve,
)

pytestmark = pytest.mark.browser

PDFS = Path(__file__).resolve().parents[2] / "test-artifacts" / "print"
#: ISO 216 A4 in PostScript points (210 x 297 mm).
A4_POINTS = (595.28, 841.89)


@dataclass(frozen=True)
class Printed:
    """The seeded node and the documents to print on it."""

    base_url: str
    ecmr: str
    groupage: str
    cimsmgs: str
    tir: str
    permit_document: str
    permit_id: str
    permit_qr: str


def _caller(ctx: NodeContext, org_id: str) -> Caller:
    with UnitOfWork(ctx.sessions, reading=True) as uow:
        return caller_for(uow.session, org_id)


def _documents(ctx: NodeContext, org_id: str, shipment_id: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for d in shipment_documents(ctx.unit_of_work(), _caller(ctx, org_id), ShipmentRef(shipment_id)):
        found.setdefault(d.kind, []).append(d.id)
    return found


def _sign(ctx: NodeContext, org_id: str, document_id: str, step: str) -> None:
    sign_step(
        ctx.unit_of_work(), _caller(ctx, org_id), SignStep(document_id, SignRequest(step=step))
    )


#: A groupage container from Xi'an's land port: what consolidated boxes to Türkiye carry
#: (HS 2022 subheadings; masses an estimate for a 45' box, 15.8 t in all).
GROUPAGE = [
    ("Photovoltaic modules", "854143", 40, "PX", "2400"),
    ("Parts for electric buses", "870899", 30, "PX", "1500"),
    ("Cotton yarn, single, uncombed", "520512", 60, "BL", "1200"),
    ("Glazed ceramic wall tiles", "690721", 24, "PX", "2200"),
    ("New tyres for buses and lorries", "401120", 80, "PK", "1600"),
    ("LED light sources", "853952", 120, "CT", "480"),
    ("Polyethylene film", "392010", 20, "PX", "900"),
    ("Portable computers", "847130", 60, "CT", "300"),
    ("Static converters (inverters)", "850440", 40, "CT", "520"),
    ("Network switches and routers", "851762", 50, "CT", "250"),
    ("Steel fasteners and fittings", "732690", 30, "BX", "750"),
    ("Split air conditioners", "841510", 50, "CT", "1100"),
    ("Wooden furniture, flat-packed", "940360", 40, "CT", "800"),
    ("Cotton T-shirts, knitted", "610910", 70, "CT", "420"),
    ("Men's cotton trousers", "620342", 60, "CT", "360"),
    ("Sports footwear", "640299", 80, "CT", "400"),
    ("Plastic household articles", "392690", 45, "CT", "270"),
    ("Valves for pipes", "848180", 25, "BX", "350"),
]


GROUPAGE_BOX = {
    "number": "TGHU8712040",
    "size_type": "45G1",
    "seals": [{"number": "CN2026120", "identifier": "CN-XIAN", "affixed_by": "customs"}],
}


def _container_by_road(
    ctx: NodeContext, reference: str = "XIA-IST-0007", goods: list[dict[str, object]] | None = None
) -> str:
    """A container on a Kazakh truck Xi'an -> Istanbul, booked by the Xi'an forwarder (lithium-
    ion batteries in CSQU3054383 unless `goods` says otherwise); its e-CMR issued and both
    signatures of the taking over."""
    route = RouteQuery(origin="Xi'an", destination="Istanbul", unit=CargoUnit.TRUCK, alternatives=1)
    plan = plan_routes(ctx.planner, route)[0]
    cargo = Cargo.model_validate(
        {
            **BATTERIES,
            **({"goods": goods, "containers": [GROUPAGE_BOX]} if goods else {}),
            "vehicle_plates": [{"number": "123ABC02", "country": "KZ"}],
            "date_of_taking_over": ctx.clock().date(),
        }
    )
    booking = BookingRequest(
        reference=reference,
        route=route,
        plan_key=plan.plan_key,
        consignee="istanbul-imports",
        road_carrier="ktz-express",
        guarantee_chain="uz-tir-association",
        cargo=cargo,
    )
    booked = book_shipment(ctx.unit_of_work(), _caller(ctx, "xian-forwarding"), booking)
    (ecmr,) = _documents(ctx, "xian-forwarding", booked.id)["e-CMR"]
    _sign(ctx, "xian-forwarding", ecmr, "issue")
    _sign(ctx, "xian-forwarding", ecmr, "sign_taking_over")
    _sign(ctx, "ktz-express", ecmr, "sign_taking_over")
    return ecmr


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[Printed]:
    folder = tmp_path_factory.mktemp("web-print")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        seeded = seed_corridor(app)
        ctx: NodeContext = app.state.node
        ecmr = _container_by_road(ctx)
        lines = [
            {
                "description": d,
                "hs_code": hs,
                "packages": n,
                "package_kind": kind,
                "gross_weight_kg": kg,
                "marks": f"XIA-IST-0008/{i:02d}",
            }
            for i, (d, hs, n, kind, kg) in enumerate(GROUPAGE, start=1)
        ]
        groupage = _container_by_road(ctx, "XIA-IST-0008", lines)
        truck = next(s for s in seeded if s.stage == "booked")
        delivered = next(s for s in seeded if s.stage == "delivered")
        (cimsmgs,) = _documents(ctx, "xian-forwarding", delivered.id)["CIM-SMGS"]
        kinds = _documents(ctx, "tashkent-cotton", truck.id)
        (tir,) = kinds["e-TIR"]
        today = ctx.clock().date()
        guarantee = GuaranteeRequest(
            reference="XU71234567", valid_from=today, valid_until=today + timedelta(days=60)
        )
        register_guarantee(
            ctx.unit_of_work(),
            _caller(ctx, "uz-tir-association"),
            RegisterGuarantee(tir, guarantee),
        )
        submit_declaration(ctx.unit_of_work(), _caller(ctx, "uz-trucking"), TirRef(tir))
        accept(ctx.unit_of_work(), _caller(ctx, "uz-customs"), TirRef(tir))
        # The permit to enter Türkiye, issued by the Uzbek authority from Türkiye's quota.
        permits = {
            d.content["countries"][0]: d.id
            for d in shipment_documents(
                ctx.unit_of_work(), _caller(ctx, "tashkent-cotton"), ShipmentRef(truck.id)
            )
            if d.kind == "e-Permit"
        }
        wire = issue_for_shipment(
            ctx.unit_of_work(),
            _caller(ctx, "uz-permits"),
            IssueRequest(document_id=permits["TR"], valid_days=60),
        )
        with serve(app) as base_url:
            yield Printed(
                base_url=base_url,
                ecmr=ecmr,
                groupage=groupage,
                cimsmgs=cimsmgs,
                tir=tir,
                permit_document=permits["TR"],
                permit_id=str(wire["permit_id"]),
                permit_qr=str(wire["qr_code"]),
            )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, printed: Printed) -> Iterator[Page]:
    """A fresh browser context (no cookies); none of its requests may leave the machine."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1200, "height": 900})
    log = RequestLog(printed.base_url)
    context.on("request", lambda request: log.urls.append(request.url))
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()
    assert log.urls, "the browser made no requests at all: the recording is not working"
    assert log.outside() == [], f"requests left the machine: {log.outside()}"


def log_in(page: Page, base_url: str, org_id: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(org_id)
    page.get_by_label("Password").fill(password_of(org_id))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".session .who")).to_be_visible()


@dataclass(frozen=True)
class Pdf:
    """What a printed PDF holds: its pages' sizes in points, its text, the QR codes on it."""

    path: Path
    sizes: list[tuple[float, float]]
    text: str
    codes: list[str]


def print_pdf(page: Page, url: str, name: str) -> Pdf:
    """Open `url`, print it to PDF as Chromium prints it (the page's own @page size and
    margins), keep the PDF and read it back."""
    answer = page.goto(url)
    assert answer is not None, url
    assert answer.ok, f"{url}: {answer.status}"
    PDFS.mkdir(parents=True, exist_ok=True)
    path = PDFS / f"{name}.pdf"
    page.pdf(path=str(path), prefer_css_page_size=True)
    document = pdfium.PdfDocument(str(path))
    sizes: list[tuple[float, float]] = []
    texts: list[str] = []
    codes: list[str] = []
    try:
        for i in range(len(document)):
            pdf_page = document[i]
            width, height = pdf_page.get_size()
            sizes.append((float(width), float(height)))
            textpage = pdf_page.get_textpage()
            texts.append(textpage.get_text_range())  # pages joined by form feeds below
            textpage.close()
            bitmap = pdf_page.render(scale=4, grayscale=True)  # 288 dpi
            pixels = np.ascontiguousarray(bitmap.to_numpy())
            codes += [found.text for found in zxingcpp.read_barcodes(pixels)]
            bitmap.close()
            pdf_page.close()
    finally:
        document.close()
    return Pdf(path, sizes, "\f".join(texts), codes)


def one_a4_page(pdf: Pdf) -> None:
    assert len(pdf.sizes) == 1, f"{pdf.path.name}: {len(pdf.sizes)} pages"
    width, height = pdf.sizes[0]
    assert abs(width - A4_POINTS[0]) < 1.5, pdf.sizes
    assert abs(height - A4_POINTS[1]) < 1.5, pdf.sizes


def words(text: str) -> str:
    """The PDF's text with line breaks and repeated spaces as single spaces."""
    return re.sub(r"\s+", " ", text)


def test_ecmr_prints_as_the_cmr_form_on_one_a4_page(page: Page, printed: Printed) -> None:
    log_in(page, printed.base_url, "xian-forwarding")
    url = f"{printed.base_url}/documents/{printed.ecmr}/print"
    pdf = print_pdf(page, url, "ecmr-en")
    one_a4_page(pdf)
    text = words(pdf.text)
    # The boxes of the IRU model form, numbered, with the Russian label beneath.
    for label in (
        "International consignment note (CMR)",
        "Sender (name, address, country)",
        "Consignee (name, address, country)",
        "Place of delivery of the goods",
        "Place and date of taking over the goods",
        "Documents attached",
        "Marks and Nos",
        "Nature of the goods",
        "Statistical number",
        "Gross weight, kg",
        "Sender's instructions",
        "Cash on delivery",
        "Carrier (name, address, country)",
        "Successive carriers",
        "Carrier's reservations and observations",
        "Special agreements",
        "To be paid by",
        "Established in / on",
        "Signature and stamp of the sender",
        "Signature and stamp of the carrier",
        "Goods received: signature and stamp of the consignee",
        "Отправитель (наименование, адрес, страна)",
    ):
        assert label in text, label
    # The note's own values: parties, goods, container, vehicle, the dangerous goods.
    for value in (
        printed.ecmr,
        "Xi'an International Land Port Forwarding",
        "Istanbul Imports",
        "KTZ Express",
        "Lithium-ion batteries for electric buses",
        "850760",
        "18,200",
        "UN3480, class 9",
        "CSQU3054383",
        "CN2026118",
        "123ABC02 (KZ)",
        "Taking over of the goods",
        "signature verified",
        "chain of",
    ):
        assert value in text, value
    assert "NOT VERIFIED" not in text
    # Three verified signatures: the sender's issue and taking over, the carrier's taking over.
    assert text.count("signature verified") >= 3
    assert pdf.codes == [f"{printed.base_url}/verify?document={printed.ecmr}"]


def test_a_groupage_note_runs_over_two_a4_pages(page: Page, printed: Printed) -> None:
    log_in(page, printed.base_url, "xian-forwarding")
    url = f"{printed.base_url}/documents/{printed.groupage}/print"
    pdf = print_pdf(page, url, "ecmr-groupage-en")
    assert len(pdf.sizes) == 2
    for width, height in pdf.sizes:
        assert abs(width - A4_POINTS[0]) < 1.5
        assert abs(height - A4_POINTS[1]) < 1.5
    pages = pdf.text.split("\f")
    assert len(pages) == 2
    for number, text in enumerate(pages, start=1):
        assert printed.groupage in words(text)  # each page names its document
        assert f"page {number} / 2" in words(text)
    text = words(pdf.text)
    for description, hs_code, *_ in GROUPAGE:
        assert description in text
        assert hs_code in text
    assert "15,800" in text  # box 11's total, kg
    assert pdf.codes == [f"{printed.base_url}/verify?document={printed.groupage}"]  # once


def test_ecmr_prints_in_turkish_and_russian(page: Page, printed: Printed) -> None:
    log_in(page, printed.base_url, "xian-forwarding")
    url = f"{printed.base_url}/documents/{printed.ecmr}/print"
    turkish = print_pdf(page, url + "?lang=tr", "ecmr-tr")
    one_a4_page(turkish)
    text = words(turkish.text)
    assert "Uluslararası hamule senedi (CMR)" in text
    assert "Gönderici (adı, adresi, ülkesi)" in text
    assert "Sender (name, address, country)" in text  # English beneath, as on the form
    assert "18.200" in text  # Turkish digit grouping
    russian = print_pdf(page, url + "?lang=ru", "ecmr-ru")
    one_a4_page(russian)
    text = words(russian.text)
    assert "Международная товарно-транспортная накладная (CMR)" in text
    assert "Груз получен: подпись и печать получателя" in text
    assert "подпись проверена" in text
    assert russian.codes == turkish.codes == [f"{printed.base_url}/verify?document={printed.ecmr}"]
    # A language the forms do not print in is refused, not guessed.
    assert page.request.get(url + "?lang=de").status == 422


def test_cimsmgs_prints_with_its_route_and_railways(page: Page, printed: Printed) -> None:
    log_in(page, printed.base_url, "xian-forwarding")
    url = f"{printed.base_url}/documents/{printed.cimsmgs}/print"
    pdf = print_pdf(page, url, "cimsmgs-en")
    one_a4_page(pdf)
    text = words(pdf.text)
    for label in (
        "CIM/SMGS consignment note",
        "Consignor (name, address)",
        "Station of departure (taking over)",
        "Station of destination",
        "Wagon No. and seals",
        "Description of the goods",
        "Mass, kg",
        "Carriers and their sections",
        "Border and change stations",
        "Накладная ЦИМ/СМГС",
    ):
        assert label in text, label
    for value in (
        printed.cimsmgs,
        "Raw cotton" if "Raw cotton" in text else "Lithium-ion batteries for electric buses",
        "850760",
        "CSQU3054383",
        "Dostyk",
        "1520 mm",
        "1435 mm",
        "SMGS",
        "CIM",
        "Istanbul Imports",
        "signature verified",
    ):
        assert value in text, value
    assert "NOT VERIFIED" not in text
    assert pdf.codes == [f"{printed.base_url}/verify?document={printed.cimsmgs}"]


def test_tir_accompanying_document(page: Page, printed: Printed) -> None:
    log_in(page, printed.base_url, "uz-trucking")
    url = f"{printed.base_url}/documents/{printed.tir}/print"
    pdf = print_pdf(page, url, "etir-en")
    one_a4_page(pdf)
    text = words(pdf.text)
    for label in (
        "eTIR accompanying document",
        "Customs office of departure",
        "Holder (name, address, country, identification No.)",
        "Registration No(s) of road vehicle(s)",
        "Goods manifest",
        "Number of seals and identification marks",
        "TIR operations by country",
        "Acceptance by the customs office of departure",
    ):
        assert label in text, label
    for value in (
        "XU71234567",
        "Uzbek Trucking",
        "Customs Committee",
        "Raw cotton, not carded or combed",
        "520100",
        "20,000",
        "01 A 123 BC (UZ)",
        "Uzbekistan",
        "Türkiye",
        "Acceptance of the declaration",
        "signature verified",
    ):
        assert value in text, value
    assert "NOT VERIFIED" not in text
    assert pdf.codes == [f"{printed.base_url}/verify?document={printed.tir}"]


def test_permit_prints_as_the_authority_prints_it(page: Page, printed: Printed) -> None:
    log_in(page, printed.base_url, "uz-permits")
    url = f"{printed.base_url}/permits/{printed.permit_id}/print"
    pdf = print_pdf(page, url, "epermit-en")
    one_a4_page(pdf)
    text = words(pdf.text)
    for label in (
        "Bilateral road transport permit",
        "Permit No.",
        "Issued by the competent authority of",
        "Valid for the territory of",
        "Valid from / until",
        "Carrier (name, identification No.)",
        "Registration No. of the vehicle",
        "Control stamps: entries and exits",
        "Signature of the issuing authority",
    ):
        assert label in text, label
    for value in (
        printed.permit_id,
        "Uzbekistan",
        "Türkiye",
        "Uzbek Trucking",
        "01 A 123 BC",
        "Not yet used at a border.",
        "signature verified",
    ):
        assert value in text, value
    # The QR is the e-Permit token the authority signed; the public verify page finds it valid.
    assert pdf.codes == [printed.permit_qr]
    page.goto(f"{printed.base_url}/verify?qr={quote(pdf.codes[0])}")
    verdict = page.locator(".verdict")
    expect(verdict).to_have_attribute("data-status", "valid")
    expect(verdict).to_contain_text(printed.permit_id)


def test_the_carrier_prints_its_permit_and_a_revoked_permit_says_so(
    page: Page, printed: Printed
) -> None:
    # The carrier holding the permit prints it from its shipment's documents.
    log_in(page, printed.base_url, "uz-trucking")
    url = f"{printed.base_url}/documents/{printed.permit_document}/print"
    carried = print_pdf(page, url, "epermit-carrier-en")
    one_a4_page(carried)
    text = words(carried.text)
    assert printed.permit_id in text
    assert "Bilateral road transport permit" in text
    assert "chain of" in text  # the shipment's e-Permit document has its ledger chain
    assert carried.codes == [printed.permit_qr]
    # The authority revokes it (the plate was reported stolen); the print says so at the top.
    log_in(page, printed.base_url, "uz-permits")
    page.goto(f"{printed.base_url}/permits")
    row = page.locator("table.issued-table tbody tr", has_text=printed.permit_id)
    row.get_by_label("Reason for revoking").fill("plate reported stolen")
    row.get_by_label("I understand that the permit is revoked for good").check()
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".flash.ok")).to_contain_text(printed.permit_id)
    revoked = print_pdf(
        page, f"{printed.base_url}/permits/{printed.permit_id}/print", "epermit-revoked-en"
    )
    one_a4_page(revoked)
    stamp = r"Revoked \d\d\.\d\d\.\d{4} \d\d:\d\d UTC"  # set in capitals, as a stamp
    assert re.search(stamp, words(revoked.text), re.IGNORECASE)
    page.goto(f"{printed.base_url}/verify?qr={quote(revoked.codes[0])}")
    expect(page.locator(".verdict")).to_have_attribute("data-status", "revoked")

"""The people of the corridor in a real browser, on a node seeded with the corridor's
organisations: a forwarder plans Xi'an -> Istanbul and books, the carrier signs and takes over,
the Kazakh officer sees the shipment in the console with its lane and releases it, the
Azerbaijani officer records the crossing; a permit officer issues a permit whose QR an
anonymous visitor checks, and a document's evidence is verified without logging in; the
forwarder downloads the e-CMR's UN/CEFACT and eFTI exports from the shipment page; the
observatory draws its charts; the language switches. Not one request leaves the machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from kervan.services.demo_corridor import SeededShipment
from tests.efti_schemas import assert_valid as assert_valid_xml
from tests.uncefact_schemas import ECMR_SCHEMA, assert_valid
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    RequestLog,
    password_of,
    require_chromium,
    screenshot_path,
)

pytestmark = pytest.mark.browser

# What the journey hands from one person to the next (tests in this module run in order).
JOURNEY: dict[str, str] = {}


@pytest.fixture
def base_url(corridor_server: tuple[str, list[SeededShipment]]) -> str:
    return corridor_server[0]


@pytest.fixture
def context(tmp_path: Path) -> Iterator[BrowserContext]:
    require_chromium()
    with sync_playwright() as playwright:
        browser_context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
            locale="en-GB",
            accept_downloads=True,
        )
        try:
            yield browser_context
        finally:
            browser_context.close()


@pytest.fixture
def page(context: BrowserContext, base_url: str) -> Iterator[Page]:
    """A page whose every request is recorded; none may leave the machine."""
    log = RequestLog(base_url)
    context.on("request", lambda request: log.urls.append(request.url))
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(20_000)
    yield page
    assert log.urls, "the browser made no requests at all: the recording is not working"
    assert log.outside() == [], f"requests left the machine: {log.outside()}"


def log_in(page: Page, base_url: str, org_id: str, start: str = "/login") -> None:
    page.goto(base_url + start)
    page.get_by_label("Username").fill(org_id)
    page.get_by_label("Password").fill(password_of(org_id))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".session .who")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.locator(".session a[href='/login']")).to_be_visible()


def test_forwarder_plans_and_books_xian_istanbul(page: Page, base_url: str) -> None:
    # A page that needs a login sends the visitor to the login form and back.
    page.goto(base_url + "/shipments")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fshipments$"))
    page.screenshot(path=screenshot_path("login"), full_page=True)
    page.get_by_label("Username").fill("xian-forwarding")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".form-problems")).to_contain_text("wrong password")
    page.get_by_label("Password").fill(password_of("xian-forwarding"))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base_url + "/shipments")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shipments")
    # The forwarder sees the shipments it booked in the seed, not the Uzbek truck.
    expect(page.locator("table.shipments-table")).to_contain_text("XIA-HAL-0001")
    expect(page.locator("table.shipments-table")).not_to_contain_text("TAS-IST-0042")

    page.goto(base_url + "/")
    page.locator("#origin").fill("Xi'an")
    page.locator("#destination").fill("Istanbul")
    # A road journey under TIR: the forwarder books a semi-trailer (a container goes by rail).
    page.locator("#unit").select_option("truck")
    page.get_by_role("button", name="Plan routes").click()
    rows = page.locator("table.plans-table tbody tr")
    expect(rows.first).to_be_visible()
    routes = page.locator(".corridor-map .routes path.route")
    assert routes.count() == rows.count() >= 2
    page.get_by_role("button", name="Book route 1").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Book a shipment")
    expect(page.locator(".corridor-map .routes path.route")).to_have_count(1)
    page.get_by_label("Your reference").fill("WEB-XIA-IST-1")
    page.get_by_label("Consignee").select_option("istanbul-imports")
    page.get_by_label("Road carrier").select_option("ktz-express")
    page.get_by_label("Guarantee chain (TIR)").select_option("uz-tir-association")
    page.locator("#goods-0-description").fill("Lithium-ion batteries for electric buses")
    page.locator("#goods-0-hs_code").fill("850760")
    page.locator("#goods-0-packages").fill("24")
    page.locator("#goods-0-gross_weight_kg").fill("18200")
    page.locator("#goods-0-value").fill("412000")
    page.locator("#container_number").fill("CSQU3054383")  # on the truck's chassis
    page.locator("#seal_number").fill("CN2026118")
    page.locator("#plate-0-number").fill("123ABC02")
    page.locator("#plate-0-country").select_option("KZ")
    page.screenshot(path=screenshot_path("booking-form"), full_page=True)
    page.get_by_role("button", name="Book and open the documents").click()

    expect(page.locator(".flash.ok")).to_contain_text("Shipment booked")
    expect(page.locator(".flash.ok .flash-next")).to_contain_text("sign them in the order")
    expect(page.get_by_role("heading", level=1)).to_have_text("Shipment WEB-XIA-IST-1")
    shipment_id = page.url.rsplit("/", 1)[-1]
    JOURNEY["shipment"] = shipment_id
    assert page.locator(".corridor-map .routes path.route").count() == 1
    expect(page.locator("table.timeline-table tbody tr").first).to_contain_text("Taken over")
    cards = page.locator("article.document")
    assert cards.count() >= 3  # e-CMR, e-TIR and e-Permit requests
    ecmr = cards.filter(has_text="e-CMR consignment note").first
    JOURNEY["ecmr"] = ecmr.get_attribute("data-document") or ""
    # The forwarder, consignor on the e-CMR, issues it; the carrier's steps are not offered.
    expect(ecmr.get_by_role("button", name="Sign: start the carriage")).to_have_count(0)
    ecmr.get_by_role("button", name="Sign: issue the note").click()
    expect(page.locator(".flash.ok")).to_contain_text("Signed")
    ecmr = page.locator(f"article.document[data-document='{JOURNEY['ecmr']}']")
    expect(ecmr.locator("table.signatures tbody tr")).to_have_count(1)
    expect(ecmr.locator("table.signatures")).to_contain_text("consignor")
    expect(ecmr.locator(".state-badge")).to_have_text("issued")
    # The consignor signs the taking over too, as it hands the goods to the carrier.
    ecmr.get_by_role("button", name="Sign: taking over").click()
    expect(page.locator(".flash.ok")).to_contain_text("Signed")
    page.screenshot(path=screenshot_path("shipment-forwarder"), full_page=True)
    log_out(page)


def test_carrier_signs_and_takes_over(page: Page, base_url: str) -> None:
    shipment_id = JOURNEY["shipment"]
    log_in(page, base_url, "ktz-express")
    page.goto(f"{base_url}/shipments/{shipment_id}")
    ecmr = page.locator(f"article.document[data-document='{JOURNEY['ecmr']}']")
    ecmr.get_by_role("button", name="Sign: taking over").click()
    expect(page.locator(".flash.ok")).to_contain_text("Signed")
    ecmr = page.locator(f"article.document[data-document='{JOURNEY['ecmr']}']")
    expect(ecmr.locator("table.signatures tbody tr")).to_have_count(3)
    expect(ecmr.locator("table.signatures")).to_contain_text("KTZ Express")
    expect(ecmr.get_by_role("button", name="Sign: taking over")).to_have_count(0)
    # Taken over weeks ago: the borders on the route are due now.
    weeks_ago = datetime.now(UTC) - timedelta(days=30)
    page.locator("#event-at").fill(weeks_ago.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Record taking over").click()
    expect(page.locator(".flash.ok")).to_contain_text("Taking over recorded")
    expect(page.locator(".status-badge").first).to_have_text("in transit")
    first = page.locator("table.timeline-table tbody tr").first
    expect(first.locator("td").nth(2)).to_contain_text("UTC")
    page.screenshot(path=screenshot_path("shipment-carrier"), full_page=True)
    log_out(page)


def test_kazakh_officer_sees_the_lane_and_releases(page: Page, base_url: str) -> None:
    shipment_id = JOURNEY["shipment"]
    log_in(page, base_url, "kz-customs")
    expect(page).to_have_url(base_url + "/console")
    card = page.locator(f"article.work-item[data-shipment='{shipment_id}']")
    expect(card).to_be_visible()
    expect(card.locator(".lane-badge")).to_have_text(re.compile(r"^(green|yellow|red) lane$"))
    expect(card).to_contain_text("CN2026118")
    page.screenshot(path=screenshot_path("console-kz-arriving"), full_page=True)
    card.get_by_role("button", name="Record arrival").click()
    expect(page.locator(".flash.ok")).to_contain_text("Arrival recorded")
    card = page.locator(f"article.work-item[data-shipment='{shipment_id}']")
    expect(card).to_contain_text("arrived")
    card.get_by_label("Documentary check passed").check()
    card.get_by_label("Physical inspection").select_option("conform")
    card.get_by_role("button", name="Release").click()
    expect(page.locator(".flash.ok")).to_contain_text("Released")
    expect(page.locator(f"article.work-item[data-shipment='{shipment_id}']")).to_have_count(0)
    log_out(page)


def test_azerbaijani_officer_records_the_crossing(page: Page, base_url: str) -> None:
    shipment_id = JOURNEY["shipment"]
    log_in(page, base_url, "az-customs")
    card = page.locator(f"article.work-item[data-shipment='{shipment_id}']")
    expect(card).to_be_visible()
    # The Kazakh release travels with the shipment as a recognised control.
    expect(card.locator(".recognised")).to_be_visible()
    card.get_by_role("button", name="Record arrival").click()
    expect(page.locator(".flash.ok")).to_contain_text("Arrival recorded")
    page.screenshot(path=screenshot_path("console-az-at-border"), full_page=True)
    card = page.locator(f"article.work-item[data-shipment='{shipment_id}']")
    card.get_by_label("Documentary check passed").check()
    card.get_by_label("Physical inspection").select_option("conform")
    card.get_by_role("button", name="Release").click()
    expect(page.locator(".flash.ok")).to_contain_text("Released")
    # The officer's view of the shipment: no prices, the crossing in the timeline.
    page.goto(f"{base_url}/shipments/{shipment_id}")
    expect(page.locator("main")).to_contain_text("customs view, without prices")
    crossing = page.locator("table.timeline-table tbody tr", has_text="Release at the border")
    expect(crossing.nth(1).locator("td").nth(2)).to_contain_text("UTC")
    page.screenshot(path=screenshot_path("shipment-customs-view"), full_page=True)
    log_out(page)


def test_permit_issued_and_its_qr_checked_anonymously(
    page: Page, base_url: str, corridor_server: tuple[str, list[SeededShipment]]
) -> None:
    # The Uzbek truck's own authority issues its permits: one for each country it enters,
    # against the quotas KZ, AZ, GE and TR granted Uzbek hauliers (the seed's), 3 types each.
    log_in(page, base_url, "uz-permits")
    expect(page).to_have_url(base_url + "/permits")
    requests = page.locator("article.permit-request", has_text="Uzbek Trucking")
    expect(requests).to_have_count(4)
    request = requests.filter(has_text="route TR")
    expect(request).to_have_count(1)
    quotas = page.locator("table.quotas-table tbody tr")
    expect(quotas).to_have_count(12)
    page.get_by_label("Partner country").select_option("CN")
    page.locator("#quota-year").fill(str(datetime.now(UTC).year))
    page.get_by_label("Type", exact=True).select_option("1")
    page.get_by_label("Permits", exact=True).fill("5")
    page.get_by_role("button", name="Add a quota").click()
    expect(page.locator(".flash.ok")).to_contain_text("Quota added")
    expect(quotas).to_have_count(13)
    expect(quotas.filter(has_text="China")).to_contain_text("0 / 5")
    request.get_by_role("button", name="Issue the permit").click()
    expect(page.locator(".flash.ok")).to_contain_text("Permit issued")
    expect(requests).to_have_count(3)
    turkish = quotas.filter(has_text="Türkiye").filter(has_text="bilateral")
    expect(turkish).to_contain_text("1 / 50")
    page.screenshot(path=screenshot_path("permits"), full_page=True)
    permit_id = page.locator("table.issued-table tbody th").first.inner_text().strip()
    page.goto(f"{base_url}/permits/{permit_id}/print")
    expect(page.locator(".qr svg")).to_be_visible()
    page.screenshot(path=screenshot_path("permit-print"), full_page=True)
    page.go_back()
    check = page.get_by_role("link", name="Check its QR").first.get_attribute("href")
    assert check is not None
    log_out(page)

    page.goto(base_url + check)
    verdict = page.locator(".verdict")
    expect(verdict).to_have_attribute("data-status", "valid")
    expect(verdict).to_contain_text(permit_id)
    expect(verdict).to_contain_text("01 A 123 BC")
    expect(page.locator(".session a[href='/login']")).to_be_visible()
    page.screenshot(path=screenshot_path("verify-permit-anonymous"), full_page=True)
    tampered = check[:-6] + ("AAAAAA" if not check.endswith("AAAAAA") else "BBBBBB")
    page.goto(base_url + tampered)
    expect(page.locator(".verdict.refused")).to_contain_text("not a valid permit")

    # The truck's plate is reported stolen: the authority revokes the unused permit, with a
    # reason; the same QR then checks as revoked for anyone.
    log_in(page, base_url, "uz-permits")
    row = page.locator("table.issued-table tbody tr", has_text=permit_id)
    row.get_by_label("Reason for revoking").fill("plate reported stolen")
    row.get_by_label("I understand that the permit is revoked for good").check()
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Permit revoked: {permit_id}")
    expect(row.locator(".state-badge")).to_have_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    log_out(page)
    page.goto(base_url + check)
    expect(page.locator(".verdict")).to_have_attribute("data-status", "revoked")
    expect(page.locator(".verdict")).to_contain_text("Revoked permit")


def test_evidence_verified_without_login(page: Page, base_url: str, tmp_path: Path) -> None:
    log_in(page, base_url, "xian-forwarding")
    document = JOURNEY["ecmr"]
    bundle = page.request.get(f"{base_url}/documents/{document}/evidence.json")
    assert bundle.ok
    path = tmp_path / "evidence.json"
    path.write_bytes(bundle.body())
    assert json.loads(path.read_text())["format"] == "kervan.evidence-bundle/1"
    log_out(page)
    # A stranger cannot download it.
    refused = page.request.get(f"{base_url}/documents/{document}/evidence.json")
    assert "/login" in refused.url

    page.goto(f"{base_url}/verify?document={document}")
    expect(page.locator("main")).to_contain_text(document)
    page.locator("#bundle_file").set_input_files(str(path))
    page.get_by_role("button", name="Verify the evidence").click()
    verdict = page.locator(".verdict[data-verified]")
    expect(verdict).to_have_attribute("data-verified", "yes")
    expect(verdict.locator("li.failed")).to_have_count(0)
    assert verdict.locator("li.ok").count() >= 6
    page.screenshot(path=screenshot_path("verify-evidence-anonymous"), full_page=True)
    # One changed byte in the document and it no longer verifies.
    data = json.loads(path.read_text())
    data["document"]["version"] = data["document"]["version"] + 1
    page.locator("#bundle").fill(json.dumps(data))
    page.get_by_role("button", name="Verify the evidence").click()
    expect(page.locator(".verdict[data-verified]")).to_have_attribute("data-verified", "no")


def test_observatory_draws_kpis_and_scenarios(page: Page, base_url: str) -> None:
    page.set_default_timeout(180_000)  # the first visit simulates the two scenarios
    log_in(page, base_url, "ministry-analyst")
    expect(page).to_have_url(base_url + "/observatory")
    expect(page.get_by_role("heading", level=1)).to_have_text("Corridor observatory")
    charts = page.locator("svg.chart")
    assert charts.count() == 6
    # The delivered seed shipment crossed borders: the dwell chart has bars with a length.
    dwell = charts.first.locator("rect.series-0")
    assert dwell.count() >= 1
    assert float(dwell.first.get_attribute("width") or "0") > 0
    # Scenarios side by side: two series in each simulated chart.
    for i in (3, 4, 5):
        assert charts.nth(i).locator("rect.series-1").count() >= 1
    expect(page.locator("table.headline-table tbody tr").first).to_be_visible()
    # headline figures in words, with intervals; CAREC CPMM from the signed events
    expect(page.locator("table.headline-table")).to_contain_text("Trans-Caspian volume")
    expect(page.locator("table.headline-table")).not_to_contain_text("h/shipment")
    expect(page.locator("table.cpmm-table tbody tr").first).to_be_visible()
    expect(page.locator("table.cpmm-sections")).to_contain_text("Published CAREC CPMM")
    page.screenshot(path=screenshot_path("observatory"), full_page=True)


def test_targets_page_in_three_languages(page: Page, base_url: str) -> None:
    # the first visit simulates the scenarios (seconds on a quiet laptop, more on a busy one)
    page.set_default_timeout(180_000)
    log_in(page, base_url, "ministry-analyst")
    page.get_by_role("link", name="2030 targets: which scenario meets them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2030 freight targets")
    page.set_default_timeout(20_000)
    charts = page.locator("svg.target-chart")
    expect(charts).to_have_count(4)
    for i in range(4):
        chart = charts.nth(i)
        expect(chart.locator("line.target-line")).to_have_count(1)  # the target, drawn
        expect(chart.locator("path.interval")).to_have_count(2)  # each scenario's interval
        assert float(chart.locator("rect").last.get_attribute("width") or "0") > 0  # 2030
    tables = page.locator("table.targets-table")
    expect(tables).to_have_count(4)
    expect(tables.first).to_contain_text("2024 as measured")
    expect(tables.first).to_contain_text("not met")
    expect(page.locator(".context")).to_contain_text("not simulated")
    body = page.locator("main").inner_text()
    for raw in ("trans_caspian_volume", "aktau_containers", "line_haul", "tg."):
        assert raw not in body
    page.screenshot(path=screenshot_path("targets-en"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the figures (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("scenario,target,goal")
    assert "corridor-2030,cku_volume" in text

    page.get_by_role("button", name="Türkçe").click()
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    expect(page.get_by_role("heading", level=1)).to_have_text("2030 yük hedefleri")
    expect(tables.first).to_contain_text("ulaşılmadı")
    expect(page.locator("svg.target-chart").first).to_contain_text("hedef 11,00")
    page.screenshot(path=screenshot_path("targets-tr"), full_page=True)

    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Грузовые цели 2030 года")
    expect(tables.first).to_contain_text("не достигнута")
    expect(page.locator("section.target h3").first).to_contain_text("Объём перевозок через Каспий")
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать отчёт (HTML)").click()
    html = Path(download.value.path()).read_text(encoding="utf-8")
    assert '<html lang="ru">' in html
    assert html.count('class="target-line"') == 4
    page.screenshot(path=screenshot_path("targets-ru"), full_page=True)


def test_console_in_turkish_and_russian_and_on_a_phone(page: Page, base_url: str) -> None:
    log_in(page, base_url, "az-customs")
    page.get_by_role("button", name="Türkçe").click()
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sınır konsolu")
    expect(page.get_by_role("link", name="Gözlemevi")).to_have_count(0)  # not for customs
    page.screenshot(path=screenshot_path("console-tr"), full_page=True)
    page.goto(f"{base_url}/shipments/{JOURNEY['shipment']}")
    expect(page.locator("table.timeline-table")).to_contain_text("sınırında serbest bırakma")
    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("table.timeline-table")).to_contain_text("Выпуск на границе")
    months = "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
    expect(page.locator("table.timeline-table tbody")).to_contain_text(re.compile(months))
    page.screenshot(path=screenshot_path("shipment-ru"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/console", f"/shipments/{JOURNEY['shipment']}", "/verify"):
        page.goto(base_url + path)
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{path} is wider than the phone: {widths}"
    page.screenshot(path=screenshot_path("verify-phone"), full_page=True)
    page.goto(base_url + "/console")
    page.screenshot(path=screenshot_path("console-phone"), full_page=True)


def test_exports_downloaded_from_the_shipment_page(
    page: Page, corridor_server: tuple[str, list[SeededShipment]], tmp_path: Path
) -> None:
    base_url, seeded = corridor_server
    truck = next(s for s in seeded if s.stage == "booked")  # the Uzbek truck and its e-CMR
    log_in(page, base_url, "tashkent-cotton")
    page.goto(f"{base_url}/shipments/{truck.id}")
    card = page.locator(f"article.document[data-document='{truck.id}-ECMR-1']")
    with page.expect_download() as uncefact:
        card.get_by_role("link", name="UN/CEFACT D23B JSON").click()
    exported = tmp_path / "uncefact.json"
    uncefact.value.save_as(exported)
    assert uncefact.value.suggested_filename.endswith("-uncefact-d23b.json")
    assert_valid(ECMR_SCHEMA, json.loads(exported.read_text(encoding="utf-8")))
    with page.expect_download() as efti:
        card.get_by_role("link", name="eFTI consignment data set (XML)").click()
    dataset = tmp_path / "efti.xml"
    efti.value.save_as(dataset)
    assert efti.value.suggested_filename.endswith("-efti.xml")
    assert_valid_xml("common", dataset.read_bytes())
    log_out(page)

"""What each role sees, in a real browser on a desktop (1280x800) and a phone (390x844): the
actions offered now, in the order the work happens, with the steps that end a note set apart
and confirmed; the message after each action saying what comes next; the border console
offering an arrival only for cargo due at this country's border, with its lane reasons in
words; the pages in Turkish and Russian; error pages for people. Screenshots are kept under
test-artifacts/screenshots, named by the test and the viewport.

Each viewport books its own Uzbek truck (Tashkent -> Istanbul, raw cotton) on a node seeded
with the corridor's organisations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect, sync_playwright

from kervan.api.app import create_app
from kervan.network.model import Network
from kervan.services.access import Caller
from kervan.services.booking import book_shipment
from kervan.services.demo_corridor import (
    BATTERIES,
    CONTAINER_ROUTE,
    SeededShipment,
    book_uzbek_truck,
    caller_for,
)
from kervan.services.documents import SignRequest, SignStep, shipment_documents, sign_step
from kervan.services.node import NodeContext
from kervan.services.planning import plan_routes
from kervan.services.shipments import (
    BookingRequest,
    EventRequest,
    RecordEvent,
    ShipmentRef,
    record_event,
)
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType
from kervan.store.uow import UnitOfWork
from tests.api.conftest import node_settings
from tests.databases import migrated_database
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    RequestLog,
    password_of,
    require_chromium,
    screenshot_path,
    seed_corridor,
    serve,
)

pytestmark = pytest.mark.browser

VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}


@pytest.fixture(scope="module")
def node(
    tmp_path_factory: pytest.TempPathFactory, web_network: Network
) -> Iterator[tuple[str, FastAPI, list[SeededShipment]]]:
    """A seeded node on 127.0.0.1: (base URL, app, seeded shipments)."""
    folder = tmp_path_factory.mktemp("web-roles")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        seeded = seed_corridor(app)
        with serve(app) as base_url:
            yield base_url, app, seeded


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(
    tmp_path: Path, viewport: str, node: tuple[str, FastAPI, list[SeededShipment]]
) -> Iterator[Page]:
    """A page at the viewport's size; every request it makes stays on this machine."""
    require_chromium()
    log = RequestLog(node[0])
    with sync_playwright() as playwright:
        context: BrowserContext = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORTS[viewport],
            locale="en-GB",
        )
        try:
            context.on("request", lambda request: log.urls.append(request.url))
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            context.close()
    assert log.urls, "the browser made no requests at all"
    assert log.outside() == [], f"requests left the machine: {log.outside()}"


def shot(page: Page, name: str, viewport: str) -> None:
    page.screenshot(path=screenshot_path(f"roles-{name}-{viewport}"), full_page=True)


def log_in(page: Page, base_url: str, org_id: str) -> None:
    page.context.clear_cookies()
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(org_id)
    page.get_by_label("Password").fill(password_of(org_id))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".session .who")).to_be_visible()


def language(page: Page, name: str, code: str) -> None:
    page.get_by_role("button", name=name).click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def fits(page: Page) -> None:
    """Nothing wider than the window: no sideways scrolling at phone width."""
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client, f"{page.url} is wider than the window: {scroll} > {client}"


def test_shipper_and_carrier_are_offered_the_steps_in_order(
    page: Page, viewport: str, node: tuple[str, FastAPI, list[SeededShipment]]
) -> None:
    base_url, app, _ = node
    ctx: NodeContext = app.state.node
    truck, _ = book_uzbek_truck(ctx, f"TAS-IST-{viewport.upper()}", ctx.clock().date())
    ecmr_id = f"{truck.id}-ECMR-1"
    url = f"{base_url}/shipments/{truck.id}"

    # The shipper, consignor on the e-CMR: issuing first, cancelling set apart at the end.
    log_in(page, base_url, "tashkent-cotton")
    who = page.locator(".session .who").inner_text()
    assert who.count("Tashkent Cotton Export") == 1, who  # the organisation named once
    page.goto(url)
    todo = page.locator(".next-steps ol.todo li")
    expect(todo.first).to_contain_text("Sign: issue the note")
    expect(page.locator(".next-steps")).not_to_contain_text("cancel")
    card = page.locator(f"article.document[data-document='{ecmr_id}']")
    buttons = card.locator("button").all_inner_texts()
    assert buttons.index("Sign: issue the note") < buttons.index("Sign: cancel the note")
    assert buttons[-1] == "Sign: cancel the note"
    danger = card.locator(".danger-zone")
    expect(danger.get_by_role("button", name="Sign: cancel the note")).to_be_visible()
    expect(card.locator(".sign-form:not(.final-step)")).not_to_contain_text("cancel the note")
    expect(danger.locator("input[type=checkbox][name=confirm]")).to_have_attribute("required", "")
    expect(page.get_by_role("button", name="Record taking over")).to_have_count(0)
    shot(page, "shipper-draft", viewport)

    # The confirmation is the server's too: a cancel sent without it is refused.
    csrf = card.locator("form.final-step input[name=csrf]").get_attribute("value") or ""
    page.request.post(
        f"{base_url}/documents/{ecmr_id}/sign",
        form={"csrf": csrf, "step": "cancel", "shipment": truck.id, "reason": "test"},
        max_redirects=0,
    )
    page.goto(url)
    expect(page.locator(".flash.refused")).to_contain_text("tick the box")
    expect(card.locator(".state-badge")).to_have_text("draft")

    card.get_by_role("button", name="Sign: issue the note").click()
    flash = page.locator(".flash.ok")
    expect(flash).to_contain_text("Signed: the note is issued.")
    expect(flash.locator(".flash-next")).to_have_text(
        "Next: the carrier enters any reservations and signs the taking over; "
        "the consignor signs it too."
    )
    expect(card.locator(".state-badge")).to_have_text("issued")
    card.get_by_role("button", name="Sign: taking over").click()
    expect(page.locator(".flash.ok")).to_contain_text("Signed: the taking over.")
    shot(page, "shipper-signed", viewport)
    fits(page)

    # The carrier: its signature comes before the taking over is recorded.
    log_in(page, base_url, "uz-trucking")
    page.goto(url)
    expect(todo.locator("a")).to_have_text(["Sign: enter reservations", "Sign: taking over"])
    expect(page.locator("#event-form")).to_contain_text(
        "The taking over is recorded once the consignor and the carrier have both signed it"
    )
    expect(page.get_by_role("button", name="Record taking over")).to_have_count(0)
    card.get_by_role("button", name="Sign: taking over").click()
    expect(page.locator(".flash.ok .flash-next")).to_have_text(
        "Next: record the taking over on the timeline, then the carrier signs the start of "
        "the carriage."
    )
    expect(card.locator(".state-badge")).to_have_text("taken over")
    expect(todo.locator("a")).to_have_text(["Record taking over", "Sign: start the carriage"])
    shot(page, "carrier-signed", viewport)
    page.get_by_role("button", name="Record taking over").click()
    expect(page.locator(".flash.ok")).to_contain_text("Taking over recorded.")
    expect(page.locator(".flash.ok .flash-next")).to_contain_text("pre-arrival declaration")
    expect(todo.locator("a")).to_have_text(["Sign: start the carriage"])

    language(page, "Türkçe", "tr")
    expect(page.locator("#next-steps-heading")).to_have_text("Sıradaki adımlarınız")
    expect(card.locator(".state-badge")).to_have_text(re.compile(r"\S"))
    expect(page.locator("main")).not_to_contain_text("taken_over")
    shot(page, "carrier-tr", viewport)
    language(page, "Русский", "ru")
    expect(page.locator("#next-steps-heading")).to_have_text("Ваши следующие шаги")
    card.locator("button", has_text=re.compile("перевозк", re.I)).first.click()
    expect(page.locator(".flash.ok")).to_contain_text("Подписано: перевозка началась.")
    expect(page.locator(".flash.ok .flash-next")).to_contain_text("грузополучатель")
    fits(page)
    shot(page, "carrier-ru", viewport)
    language(page, "English", "en")


def container_taken_over_now(ctx: NodeContext, reference: str) -> str:
    """A container booked Xi'an -> Halkali by rail, its CIM/SMGS note signed and the cargo
    taken over now, through the services: days from its first border (Kazakhstan's)."""

    def caller(org_id: str) -> Caller:
        with UnitOfWork(ctx.sessions, reading=True) as uow:
            return caller_for(uow.session, org_id)

    now = ctx.clock()
    shipper, carrier = caller("xian-forwarding"), caller("ktz-express")
    plan = plan_routes(ctx.planner, CONTAINER_ROUTE)[0]
    body = BookingRequest(
        reference=reference,
        route=CONTAINER_ROUTE,
        plan_key=plan.plan_key,
        consignee="istanbul-imports",
        rail_carrier="ktz-express",
        cargo=Cargo.model_validate({**BATTERIES, "date_of_taking_over": now.date()}),
    )
    booked = book_shipment(ctx.unit_of_work(), shipper, body)
    (note,) = shipment_documents(ctx.unit_of_work(), shipper, ShipmentRef(booked.id))
    sign_step(ctx.unit_of_work(), shipper, SignStep(note.id, SignRequest(step="issue")))
    sign_step(ctx.unit_of_work(), carrier, SignStep(note.id, SignRequest(step="accept")))
    taken = EventRequest(type=EventType.TAKEN_OVER, at=now)
    record_event(ctx.unit_of_work(), carrier, RecordEvent(booked.id, taken))
    return booked.id


def test_officers_record_arrivals_only_where_the_cargo_is_due(
    page: Page, viewport: str, node: tuple[str, FastAPI, list[SeededShipment]]
) -> None:
    base_url, app, seeded = node
    at_border = next(s for s in seeded if s.stage == "at the Azerbaijani border")
    coming = container_taken_over_now(app.state.node, f"XIA-HAL-{viewport.upper()}")

    # Kazakhstan: its border is the container's next, but the train is days away.
    log_in(page, base_url, "kz-customs")
    card = page.locator(f"article.work-item[data-shipment='{coming}']")
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="Record arrival")).to_have_count(0)
    expect(card.locator(".arrival-closed")).to_contain_text(
        re.compile(r"Not due yet: its arrival can be recorded from \d+ \w+ 20\d\d, \d\d:\d\d UTC")
    )
    shot(page, "console-kz-not-due", viewport)

    # Georgia: the container is still at the Azerbaijani border; no arrival to record yet.
    log_in(page, base_url, "ge-customs")
    expect(page).to_have_url(base_url + "/console")
    card = page.locator(f"article.work-item[data-shipment='{at_border.id}']")
    expect(card).to_be_visible()
    expect(card.get_by_role("button", name="Record arrival")).to_have_count(0)
    expect(card.locator(".arrival-closed")).to_contain_text(
        "The cargo crosses the border of Azerbaijan first"
    )
    shot(page, "console-ge", viewport)
    fits(page)
    language(page, "Türkçe", "tr")
    expect(card.locator(".arrival-closed")).to_contain_text("Yük önce Azerbaycan sınırını geçer")
    language(page, "Русский", "ru")
    expect(card.locator(".arrival-closed")).to_contain_text("границу страны Азербайджан")
    language(page, "English", "en")

    # Azerbaijan: the container is at its border; its lane's reasons read as words.
    log_in(page, base_url, "az-customs")
    card = page.locator(f"article.work-item[data-shipment='{at_border.id}']")
    reasons = card.locator("ul.reasons li")
    expect(reasons.first).to_be_visible()
    for i in range(reasons.count()):
        rule = reasons.nth(i).get_attribute("data-rule") or ""
        text = reasons.nth(i).locator("strong").inner_text()
        assert rule, text
        assert rule not in text, (rule, text)
        assert "_" not in text, (rule, text)
    english = reasons.first.locator("strong").inner_text()
    expect(card.locator("dd").nth(1)).to_contain_text("intact")
    shot(page, "console-az-reasons", viewport)
    language(page, "Türkçe", "tr")
    assert reasons.first.locator("strong").inner_text() != english
    expect(card.locator("dd").nth(1)).to_contain_text("sağlam")
    shot(page, "console-az-reasons-tr", viewport)
    language(page, "Русский", "ru")
    assert reasons.first.locator("strong").inner_text() != english
    shot(page, "console-az-reasons-ru", viewport)
    language(page, "English", "en")


def test_error_pages_for_people(
    page: Page, viewport: str, node: tuple[str, FastAPI, list[SeededShipment]]
) -> None:
    base_url = node[0]
    answer = page.goto(base_url + "/shipments/no/such/page")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("There is no such page")
    expect(page.get_by_role("link", name="Back to the planner")).to_be_visible()
    fits(page)
    shot(page, "error-404", viewport)
    language(page, "Türkçe", "tr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Böyle bir sayfa yok")
    language(page, "Русский", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Такой страницы нет")
    shot(page, "error-404-ru", viewport)
    language(page, "English", "en")
    api = page.request.get(base_url + "/v1/no-such-thing")
    assert api.status == 404
    assert api.headers["content-type"] == "application/problem+json"

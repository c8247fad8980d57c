"""The planner in a real browser: search as you type, plans on the map and in the table, three
languages with their number and date formats, a phone-sized screen, keyboard use, and not one
request leaving the machine."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    RequestLog,
    require_chromium,
    screenshot_path,
)

pytestmark = pytest.mark.browser

PLANNED = "/?" + urlencode(
    {"origin": "Xi'an", "destination": "Istanbul", "departure": "2026-03-05"}
)


@pytest.fixture
def context(tmp_path: Path) -> Iterator[BrowserContext]:
    """A fresh chromium profile (its own --user-data-dir) per test."""
    require_chromium()
    with sync_playwright() as playwright:
        browser_context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
            locale="en-GB",
        )
        try:
            yield browser_context
        finally:
            browser_context.close()


@pytest.fixture
def requests_seen(context: BrowserContext, live_server: str) -> Iterator[RequestLog]:
    """Records every request of every page; after the test, asserts none left the machine."""
    log = RequestLog(live_server)
    context.on("request", lambda request: log.urls.append(request.url))
    yield log
    assert log.urls, "the browser made no requests at all: the recording is not working"
    assert log.outside() == [], f"requests left the machine: {log.outside()}"


@pytest.fixture
def page(context: BrowserContext, requests_seen: RequestLog) -> Page:
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(20_000)
    return page


def pick_place(page: Page, field: str, typed: str, name: str) -> None:
    box = page.locator(f"#{field}")
    box.click()
    box.press_sequentially(typed, delay=60)
    option = page.locator(
        f"#{field}-options [role=option]", has_text=re.compile(f"^\\s*{re.escape(name)}\\s")
    )
    expect(option.first).to_be_visible()
    option.first.click()
    expect(box).to_have_value(name)
    expect(page.locator(f"#{field}-options [role=option]")).to_have_count(0)


def test_plan_xian_to_istanbul_draws_routes_and_table(
    page: Page, live_server: str, requests_seen: RequestLog
) -> None:
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a route")
    # The network is on the map before anything is planned.
    assert page.locator(".corridor-map .network-links path").count() > 100
    assert page.locator(".corridor-map .link.planned").count() >= 1
    assert page.locator(".corridor-map .marker.gauge").count() >= 1
    assert page.locator(".corridor-map .marker.border").count() >= 1
    page.screenshot(path=screenshot_path("planner-empty"), full_page=True)

    pick_place(page, "origin", "Xi", "Xi'an")
    pick_place(page, "destination", "Istan", "Istanbul")
    page.get_by_role("button", name="Plan routes").click()

    rows = page.locator("table.plans-table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 2
    routes = page.locator(".corridor-map .routes path.route")
    assert routes.count() == rows.count()
    for i in range(routes.count()):
        assert (routes.nth(i).get_attribute("d") or "").count("L") >= 3
        assert routes.nth(i).bounding_box() is not None
    colours = {routes.nth(i).evaluate("e => getComputedStyle(e).stroke") for i in range(2)}
    assert len(colours) == 2, "each plan has its own colour"
    expect(page.locator("#status")).to_contain_text("Routes from Xi'an to Istanbul")
    # The swapped-in map is set up like a loaded one: its tools, its route ends named.
    expect(page.get_by_role("button", name="Zoom in")).to_be_visible()
    assert {"Xi'an", "Istanbul"} <= set(visible_labels(page))
    # The URL holds the question (bookmarkable), pushed by HTMX.
    assert "origin=Xi" in page.url
    assert "destination=Istanbul" in page.url

    first = rows.first
    expect(first.locator("td.days")).to_have_text(re.compile(r"^\d+\.\d / \d+\.\d$"))
    expect(first.locator("td.cost")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})+ USD$"))
    expect(first.locator("td.documents")).not_to_be_empty()
    # Book carries the plan key of its own plan.
    keys = page.locator("form.book-form input[name=plan_key]")
    assert keys.count() == rows.count()
    values = [keys.nth(i).get_attribute("value") or "" for i in range(keys.count())]
    assert all("#" in v and "|" in v for v in values)
    assert len(set(values)) == len(values)
    for name in ("origin", "destination", "unit"):
        assert page.locator(f"form.book-form input[name={name}]").count() == rows.count()
    form = page.locator("form.book-form").first
    assert form.get_attribute("action") == "/shipments/book"
    assert (form.get_attribute("method") or "").lower() == "post"
    expect(page.get_by_role("button", name="Book route 1")).to_be_visible()
    # Leg details of the first plan are open.
    expect(page.locator("#plan-1 table.legs-table tbody tr").first).to_be_visible()
    page.screenshot(path=screenshot_path("planner-xian-istanbul"), full_page=True)
    assert any(url.endswith("/web/map/countries.svg") for url in requests_seen.urls)
    assert any("/web/places?" in url for url in requests_seen.urls)


def test_keyboard_picks_a_suggestion_and_submits(page: Page, live_server: str) -> None:
    page.goto(live_server + "/")
    origin = page.locator("#origin")
    origin.focus()
    origin.press_sequentially("Xi'a", delay=60)
    expect(page.locator("#origin-options [role=option]").first).to_be_visible()
    expect(origin).to_have_attribute("aria-expanded", "true")
    origin.press("ArrowDown")
    expect(page.locator("#origin-options [role=option]").first).to_have_attribute(
        "aria-selected", "true"
    )
    origin.press("Enter")
    expect(origin).to_have_value("Xi'an")
    destination = page.locator("#destination")
    destination.focus()
    destination.fill("Istanbul")
    destination.press("Enter")  # no suggestion chosen: Enter submits the form
    expect(page.locator("table.plans-table tbody tr").first).to_be_visible()
    # Focus is visible: the focused control draws an outline.
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_a_chosen_suggestion_stays_chosen_when_the_list_refreshes(
    page: Page, live_server: str
) -> None:
    """The user picks "Xi'an" with the arrow key while the list still answers "Xi'", then types
    one more letter: the refreshed list for "Xi'a" keeps "Xi'an" chosen, and Enter takes it."""
    page.goto(live_server + "/")
    origin = page.locator("#origin")
    origin.focus()
    with page.expect_response(lambda response: asked_for(response.url) == "Xi'"):
        origin.press_sequentially("Xi'")
    first = page.locator("#origin-options [role=option]").first
    expect(first).to_have_attribute("data-value", "Xi'an")
    origin.press("ArrowDown")
    expect(first).to_have_attribute("aria-selected", "true")
    with page.expect_response(lambda response: asked_for(response.url) == "Xi'a"):
        origin.press("a")
    page.wait_for_timeout(100)  # the refreshed list is swapped in after its response
    expect(first).to_have_attribute("data-value", "Xi'an")
    expect(first).to_have_attribute("aria-selected", "true")
    expect(origin).to_have_attribute("aria-activedescendant", "origin-option-1")
    origin.press("Enter")
    expect(origin).to_have_value("Xi'an")


def asked_for(url: str) -> str:
    """The text a suggestions request asked about."""
    return parse_qs(urlparse(url).query).get("origin", [""])[0]


def test_languages_switch_texts_numbers_and_dates(page: Page, live_server: str) -> None:
    page.goto(live_server + PLANNED)
    row = page.locator("table.plans-table tbody tr").first
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(row.locator("td.cost")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})+ USD$"))
    expect(row.locator("td.arrival")).to_contain_text("March 2026")

    page.get_by_role("button", name="Türkçe").click()
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rota planla")
    expect(page.get_by_role("button", name="Rotaları planla")).to_be_visible()
    expect(row.locator("td.cost")).to_have_text(re.compile(r"^\d{1,3}(\.\d{3})+ USD$"))
    expect(row.locator("td.days")).to_have_text(re.compile(r"^\d+,\d / \d+,\d$"))
    expect(row.locator("td.arrival")).to_contain_text("Mart 2026")
    expect(page.get_by_role("button", name="Rota 1 için rezervasyon yap")).to_be_visible()
    page.screenshot(path=screenshot_path("planner-tr"), full_page=True)

    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Спланировать маршрут")
    expect(row.locator("td.cost")).to_have_text(re.compile(r"^\d{1,3}(\u00a0\d{3})+ USD$"))
    expect(row.locator("td.days")).to_have_text(re.compile(r"^\d+,\d / \d+,\d$"))
    expect(row.locator("td.arrival")).to_contain_text("марта 2026 г.")
    expect(page.locator(".legend")).to_contain_text("Железная дорога")
    page.screenshot(path=screenshot_path("planner-ru"), full_page=True)

    # The choice is kept: a new visit to the bare page still speaks Russian.
    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("button", name="Русский")).to_have_attribute("aria-pressed", "true")


def test_phone_sized_screen(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + PLANNED)
    expect(page.locator("table.plans-table tbody tr").first).to_be_attached()
    # Nothing wider than the screen: wide tables scroll inside their own box.
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"page is wider than the phone: {widths}"
    map_box = page.locator(".corridor-map > svg").bounding_box()
    assert map_box is not None
    assert map_box["width"] <= 390
    assert map_box["height"] > 100
    for control in ("#origin", "#destination", "#plan-submit"):
        box = page.locator(control).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
    page.screenshot(path=screenshot_path("planner-phone"), full_page=True)
    page.screenshot(path=screenshot_path("planner-phone-top"))


def test_pages_and_assets_load_only_from_this_node(
    page: Page, live_server: str, requests_seen: RequestLog
) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on(
        "console", lambda message: failed.append(message.text) if message.type == "error" else None
    )
    for path in ("/", PLANNED, "/?origin=Xian&destination=Nowhere"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
    expect(page.locator(".plan-error")).to_contain_text("Nowhere")
    page.screenshot(path=screenshot_path("planner-unknown-place"), full_page=True)
    kinds = {url.rsplit(".", 1)[-1] for url in requests_seen.urls if "/web/" in url}
    assert {"css", "js", "svg"} <= kinds
    assert failed == []


VISIBLE_LABELS = """() => Array.from(document.querySelectorAll('.corridor-map .place-label'))
  .filter((t) => getComputedStyle(t).display !== 'none')
  .map((t) => { const b = t.getBoundingClientRect();
                return { text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height }; })"""

LEG_POINT = """(leg) => { const p = leg.getPointAtLength(leg.getTotalLength() / 2);
  const m = leg.getScreenCTM(); return [p.x * m.a + m.e, p.y * m.d + m.f]; }"""


def visible_labels(page: Page) -> dict[str, dict[str, float]]:
    found: list[dict[str, Any]] = page.evaluate(VISIBLE_LABELS)
    boxes = {str(item["text"]): item for item in found}
    names = list(boxes)
    for i, a in enumerate(names):  # no two names drawn over each other
        for b in names[i + 1 :]:
            p, q = boxes[a], boxes[b]
            apart = (
                p["x"] + p["w"] <= q["x"] + 0.5
                or q["x"] + q["w"] <= p["x"] + 0.5
                or p["y"] + p["h"] <= q["y"] + 0.5
                or q["y"] + q["h"] <= p["y"] + 0.5
            )
            assert apart, f"{a} and {b} overlap: {p} {q}"
    return boxes


def test_map_names_places_by_zoom(page: Page, live_server: str) -> None:
    page.goto(live_server + "/")
    labels = visible_labels(page)
    for hub in ("Istanbul", "Tbilisi", "Almaty", "Xi'an", "Rotterdam"):
        assert hub in labels, f"{hub} is not named on the whole corridor: {sorted(labels)}"
    assert "Kapikule" not in labels  # a border post waits for the zoom
    height = labels["Istanbul"]["h"]
    zoom_in = page.get_by_role("button", name="Zoom in")
    for _ in range(4):
        zoom_in.click()
    zoomed = visible_labels(page)
    towns = set(zoomed) - set(labels)
    assert towns, "zooming in names more places"
    # Names keep their size on the screen whatever the zoom.
    assert abs(next(iter(zoomed.values()))["h"] - height) < 3
    before = page.locator(".corridor-map > svg").get_attribute("viewBox")
    box = page.locator(".corridor-map > svg").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 300, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 420, box["y"] + 260, steps=5)
    page.mouse.up()
    after = page.locator(".corridor-map > svg").get_attribute("viewBox")
    assert after != before, "dragging moves the map"
    page.get_by_role("button", name="Back to the first view").click()
    assert page.locator(".corridor-map > svg").get_attribute("viewBox") == page.locator(
        ".corridor-map > svg"
    ).get_attribute("data-view")


def test_chosen_plan_is_highlighted_and_legs_are_named(page: Page, live_server: str) -> None:
    page.goto(live_server + PLANNED)
    groups = page.locator(".corridor-map .routes .route-group")
    rows = page.locator("table.plans-table tbody tr")
    expect(rows.first).to_be_visible()
    count = rows.count()
    assert groups.count() == count >= 2
    selected = page.locator(".corridor-map .route-group.selected")
    expect(selected).to_have_attribute("data-plan", "1")
    expect(rows.first).to_have_class(re.compile(r"\bselected\b"))
    assert "Xi'an" in visible_labels(page)
    assert "Istanbul" in visible_labels(page)

    def look(plan: str) -> tuple[float, str]:
        line = page.locator(f".route-group[data-plan='{plan}'] path.route")
        style = line.evaluate(
            "e => [getComputedStyle(e).opacity, getComputedStyle(e).strokeDasharray]"
        )
        return float(style[0]), str(style[1])

    assert look("1") == (1.0, "none")
    opacity, dash = look("2")
    assert opacity < 0.5
    assert dash != "none", "the other plans are dashed, so shared links show both"

    # Choosing plan 2 in the table highlights it on the map and marks its row.
    page.get_by_role("link", name="Route 2", exact=True).click()
    expect(selected).to_have_attribute("data-plan", "2")
    assert (
        page.locator(".corridor-map .routes > .route-group").last.get_attribute("data-plan") == "2"
    )
    assert look("2") == (1.0, "none")
    assert look("1")[0] < 0.5
    expect(rows.nth(1)).to_have_class(re.compile(r"\bselected\b"))
    expect(rows.nth(1).locator(".selected-note")).to_have_text("(highlighted on the map)")
    expect(rows.first.locator(".selected-note")).to_be_hidden()
    expect(page.locator("#plan-2")).to_have_attribute("open", "")

    # The leg under the pointer is named: from - to, mode, distance, time, as in its table.
    leg = page.locator(".route-group[data-plan='2'] .route-leg").first
    x, y = leg.evaluate(LEG_POINT)
    page.mouse.move(x, y)
    tip = page.locator(".corridor-map .map-tip")
    expect(tip).to_be_visible()
    expect(tip).to_have_text(re.compile(r"^Xi'an – .+: Rail, [\d,]+ km, \d+ h$"))
    first_leg = page.locator("#plan-2 table.legs-table tbody tr:not(.segment)").first
    destination = first_leg.locator("td").nth(1).inner_text().split("→")[1].strip()
    distance = first_leg.locator("td").nth(3).inner_text().strip()
    assert f"Xi'an – {destination}: Rail, {distance}, " in tip.inner_text()
    page.mouse.move(5, 5)
    expect(tip).to_be_hidden()

    # A click on a plan's line on the map chooses it as well.
    last = str(count)
    leg = page.locator(f".route-group[data-plan='{last}'] .route-leg").last
    x, y = leg.evaluate(LEG_POINT)
    page.mouse.click(x, y)
    expect(selected).to_have_attribute("data-plan", last)
    page.screenshot(path=screenshot_path("planner-map-chosen-plan"), full_page=False)


def test_phone_reaches_every_book_button(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + PLANNED)
    rows = page.locator("table.plans-table tbody tr")
    expect(rows.first).to_be_visible()
    # The plans are cards: no header row, every figure named beside its value.
    expect(page.locator("table.plans-table thead")).to_have_css("position", "absolute")
    label = rows.first.locator("td.cost").evaluate("e => getComputedStyle(e, '::before').content")
    assert label == '"Cost"'
    for i in range(rows.count()):
        button = page.get_by_role("button", name=f"Book route {i + 1}")
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390, f"Book route {i + 1} is off-screen: {box}"
    wrap = page.locator("table.plans-table").locator("xpath=..")
    widths = wrap.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] <= widths[1], "the plans need no sideways scrolling"
    # A wide table (the legs) scrolls inside its box, with a shadow at the edge to scroll to.
    legs = page.locator("#plan-1 .table-wrap")
    widths = legs.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] > widths[1]
    assert "radial-gradient" in legs.evaluate("e => getComputedStyle(e).backgroundImage")
    page.screenshot(path=screenshot_path("planner-phone-plans"), full_page=True)

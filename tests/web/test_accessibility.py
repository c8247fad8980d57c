"""Every page each role reaches, checked by axe-core in Chromium at desktop size and at 390x844:
no serious or critical violation. The roles are the corridor's people on a seeded node (a
forwarder, a carrier, a customs officer, a permit clerk, an analyst) and an anonymous visitor
checking a QR; the pages include forms sent back with errors, the error pages, the planner with
its map and plans, the observatory, the permit network page and the border console. Folded
parts (<details>) are opened first; at 390x844 no page but a print sheet may be wider than the
screen. Each page is kept as a screenshot at both sizes (test-artifacts/screenshots/a11y-*).

The routes come from the app itself: a page route that no role visits fails the last test, so a
new page cannot escape the check. axe-core is vendored under tests/web/vendor (a test tool, never
served by the product) and evaluated in the page through the DevTools protocol, which the
pages' Content-Security-Policy does not govern.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from kervan.api.app import create_app
from kervan.api.problems import leaf_routes
from kervan.network.model import Network
from kervan.services.access import node_operator
from kervan.services.demo_corridor import SeededShipment
from kervan.services.epermit_network import NewPartner, PartnerSpec, add_partner
from kervan.signatures.keys import Es256Signer
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

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1400, "height": 1000},
    "phone": {"width": 390, "height": 844},
}
FAILING = ("serious", "critical")

# GET routes of the web that are not pages a person reads, with what they are instead.
NOT_PAGES = {
    "/web/places": "the planner's suggestion list (checked open, inside the planner)",
    "/web/map/countries.svg": "the map's base image",
    "/documents/{document_id}/evidence.json": "a download",
    "/documents/{document_id}/uncefact.json": "a download",
    "/documents/{document_id}/efti.xml": "a download",
    "/observatory/targets/report.csv": "a download",
    "/metrics": "Prometheus text for the operator's scraper",
}


@dataclass
class Audit:
    """What the roles visited and what axe found."""

    base_url: str
    app: FastAPI
    seeded: list[SeededShipment]
    visited: dict[str, list[str]] = field(default_factory=dict)  # URL path -> page names
    shared: dict[str, str] = field(default_factory=dict)  # handed from one role to the next

    def record(self, url: str, name: str) -> None:
        self.visited.setdefault(urlsplit(url).path, []).append(name)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[Audit]:
    """A node of its own (the roles here act: they issue a permit, record an arrival), seeded
    with the corridor and one e-Permit partner so the network page has a partner to show."""
    folder = tmp_path_factory.mktemp("web-a11y")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        seeded = seed_corridor(app)
        ctx = app.state.node
        partner_key = Es256Signer.generate("kz-permits-1", party="KZ").public_jwk()
        spec = PartnerSpec(code="KZ", url="http://127.0.0.1:9/", name="Kazakhstan",
                           keys=[{**partner_key, "kid": "kz-permits-1"}])  # fmt: skip
        operator = node_operator(ctx.settings.node_id, ctx.settings.node_country)
        add_partner(ctx.unit_of_work(), operator, NewPartner("uz-permits", spec))
        with serve(app) as base_url:
            yield Audit(base_url, app, seeded)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium for the whole module; each role gets its own context (its own cookies)."""
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
def page(browser: Browser, audit: Audit) -> Iterator[Page]:
    """A fresh context at desktop size whose every request is recorded; none may leave."""
    context: BrowserContext = browser.new_context(
        viewport=SIZES["desktop"], locale="en-GB", accept_downloads=True
    )
    log = RequestLog(audit.base_url)
    context.on("request", lambda request: log.urls.append(request.url))
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        yield tab
    finally:
        context.close()
    assert log.outside() == [], f"requests left the machine: {log.outside()}"


AXE_RUN = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 6).map((n) => ({
      target: n.target.join(" "),
      summary: (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300),
    })),
  }));
}"""


class Checker:
    """Runs axe on the page as it stands, at both sizes, and keeps a screenshot of each."""

    def __init__(self, page: Page, audit: Audit, role: str) -> None:
        self.page = page
        self.audit = audit
        self.role = role
        self.problems: list[str] = []
        self.names: set[str] = set()

    def __call__(self, name: str) -> None:
        page = self.page
        assert name not in self.names, f"two pages named {name}"
        self.names.add(name)
        page.wait_for_load_state("load")
        # Folded parts are checked too: every <details> is opened first.
        page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        self.audit.record(page.url, f"{self.role}/{name}")
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            if page.evaluate("typeof window.axe") != "object":
                page.evaluate(AXE.read_text(encoding="utf-8"))
            found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            # A print view is an A4 sheet, wider than a phone by design.
            if widths[0] > widths[1] and not name.endswith("print"):
                self.problems.append(
                    f"{self.role}/{name} [{size}] is wider than the screen: {widths}"
                )
            page.screenshot(path=screenshot_path(f"a11y-{self.role}-{name}-{size}"), full_page=True)
            for violation in found:
                if violation["impact"] in FAILING:
                    where = "; ".join(f"{n['target']} ({n['summary']})" for n in violation["nodes"])
                    self.problems.append(
                        f"{self.role}/{name} [{size}] {page.url}: {violation['impact']} "
                        f"{violation['id']} - {violation['help']}: {where}"
                    )
        page.set_viewport_size(SIZES["desktop"])

    def visit(self, path: str, name: str, status: int = 200, drawn: str | None = None) -> None:
        """Check the page at `path`; `drawn` names what a page drawn by script shows once it is
        drawn, so axe sees the page a reader sees and not the empty frame before it."""
        response = self.page.goto(self.audit.base_url + path)
        assert response is not None
        assert response.status == status, f"{path}: {response.status}, expected {status}"
        self.audit.record(path, f"{self.role}/{name}")  # as asked, before any redirect
        if drawn is not None:
            expect(self.page.locator(drawn).first).to_be_visible()
        self(name)

    def finish(self) -> None:
        assert not self.problems, "axe found serious or critical violations:\n" + "\n".join(
            self.problems
        )


def log_in(page: Page, base_url: str, org_id: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(org_id)
    page.get_by_label("Password").fill(password_of(org_id))
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".session .who")).to_be_visible()


def show_inline(route: Route) -> None:
    """Answer with the node's own response less its Content-Disposition (a download, read)."""
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-disposition"}
    route.fulfill(response=response, headers=headers)


def submit_unchecked(page: Page, form: str, button: Callable[[], None]) -> None:
    """Send `form` as typed, past the browser's own checks, so the server answers its errors."""
    page.locator(form).first.evaluate("f => { f.noValidate = true; }")
    button()


def test_forwarder_pages(page: Page, audit: Audit) -> None:
    check = Checker(page, audit, "forwarder")
    base = audit.base_url
    log_in(page, base, "xian-forwarding")
    check.visit("/", "planner")
    page.locator("#origin").press_sequentially("Xi", delay=40)
    expect(page.locator("#origin-options [role=option]").first).to_be_visible()
    check("planner-suggestions")
    page.goto(base + "/?origin=Xi%27an&destination=Istanbul&departure=2026-03-05")
    expect(page.locator("table.plans-table tbody tr").first).to_be_visible()
    check("planner-plans")
    check.visit("/?origin=Xian&destination=Nowhere", "planner-unknown-place")
    check.visit("/?origin=Xi%27an&destination=Istanbul&year=1999", "planner-form-problems")
    check.visit("/shipments", "shipments")
    page.goto(base + "/?origin=Xi%27an&destination=Istanbul&unit=truck")
    page.get_by_role("button", name="Book route 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a shipment")
    check("booking-form")
    submit_unchecked(
        page,
        "form.booking-form",
        lambda: page.get_by_role("button", name="Book and open the documents").click(),
    )
    expect(page.locator(".form-problems")).to_be_visible()
    check("booking-form-errors")
    delivered = next(s for s in audit.seeded if s.stage == "delivered")
    check.visit(f"/shipments/{delivered.id}", "shipment")
    document = page.locator("article.document").first.get_attribute("data-document") or ""
    audit.shared["document"] = document
    check.visit(f"/documents/{document}/print", "document-print")
    check.visit("/permits/network", "permit-network-refused", status=403)
    check.visit("/shipments/XIA-NOT-THERE", "shipment-not-found", status=404)
    check.visit("/verify", "verify")
    check.finish()


def test_carrier_pages(page: Page, audit: Audit) -> None:
    check = Checker(page, audit, "carrier")
    log_in(page, audit.base_url, "uz-trucking")
    check.visit("/shipments", "shipments")
    truck = next(s for s in audit.seeded if s.stage == "booked")
    check.visit(f"/shipments/{truck.id}", "shipment")
    check.visit("/console", "console-refused", status=403)
    check.finish()


def test_customs_officer_pages(page: Page, audit: Audit) -> None:
    check = Checker(page, audit, "customs")
    log_in(page, audit.base_url, "az-customs")
    check("console")
    # The seeded container stands at the Azerbaijani border: released without the checks
    # done, the console answers with its reasons.
    page.get_by_role("button", name="Release", exact=True).first.click()
    expect(page.locator(".flash")).to_be_visible()
    check("console-release-answered")
    check.visit("/console?qr=not.a.permit", "console-permit-check")
    check.visit("/exchange/messages", "exchange-messages")
    expect(page).to_have_url(re.compile(r"/exchange/az-customs/messages$"))
    in_transit = next(s for s in audit.seeded if s.stage != "delivered" and s.stage != "booked")
    check.visit(f"/shipments/{in_transit.id}", "shipment-customs-view")
    check.finish()


def test_permit_clerk_pages(page: Page, audit: Audit) -> None:
    check = Checker(page, audit, "permits")
    base = audit.base_url
    log_in(page, base, "uz-permits")
    check("desk")
    page.locator("#quantity").fill("-5")
    submit_unchecked(
        page, "form.quota-form", lambda: page.get_by_role("button", name="Add a quota").click()
    )
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    check("desk-quota-errors")
    page.goto(base + "/permits")
    page.locator("article.permit-request").first.get_by_role(
        "button", name="Issue the permit"
    ).click()
    expect(page.locator(".flash.ok")).to_contain_text("Permit issued")
    check("desk-issued")
    permit_id = page.locator("table.issued-table tbody th").first.inner_text().strip()
    qr = page.get_by_role("link", name="Check its QR").first.get_attribute("href") or ""
    assert qr.startswith("/verify?qr=")
    audit.shared["permit_qr"] = qr
    check.visit(f"/permits/{permit_id}/print", "permit-print")
    check.visit("/permits/network", "network")
    page.locator("#use-qr").fill("not.a.permit-qr")
    page.locator("#use-plate").fill("01A123BC")
    page.get_by_role("button", name=re.compile("Record", re.I)).last.click()
    expect(page.locator(".flash, .verdict, [role=alert]").first).to_be_visible()
    check("network-border-refused")
    check.finish()


def test_analyst_pages(page: Page, audit: Audit) -> None:
    page.set_default_timeout(180_000)  # the first visit simulates the scenarios
    check = Checker(page, audit, "analyst")
    log_in(page, audit.base_url, "ministry-analyst")
    check("observatory")
    check.visit("/observatory/targets", "targets")
    # The report is a download; shown in the tab here (without its attachment header).
    page.route("**/observatory/targets/report.html", show_inline)
    check.visit("/observatory/targets/report.html", "targets-report")
    check.finish()


def test_anonymous_pages(page: Page, audit: Audit) -> None:
    check = Checker(page, audit, "anonymous")
    check.visit("/", "planner")
    check.visit("/login", "login")
    page.get_by_label("Username").fill("xian-forwarding")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".form-problems")).to_be_visible()
    check("login-refused")
    page.goto(audit.base_url + "/shipments")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    check("login-asked")
    if "permit_qr" in audit.shared:
        check.visit(audit.shared["permit_qr"], "verify-permit")
    check.visit("/verify?qr=not.a.permit-qr", "verify-permit-refused")
    if "document" in audit.shared:
        check.visit(f"/verify?document={audit.shared['document']}", "verify-document")
        page.locator("#bundle").fill('{"format": "kervan.evidence-bundle/1"}')
        page.get_by_role("button", name="Verify the evidence").click()
        expect(page.locator(".verdict")).to_be_visible()
        check("verify-evidence-refused")
    check.visit("/docs", "api-docs", drawn=".opblock-summary-method")
    check.visit("/redoc", "api-reference", drawn=".api-content h2")
    # An unknown address answers a browser with the site's own page (the API keeps JSON).
    check.visit("/no-such-page", "not-found", status=404)
    assert "text/html" in page.evaluate("document.contentType")
    check.finish()


def test_every_page_route_was_checked(audit: Audit) -> None:
    """Each GET page route of the app was visited by some role above (run after them)."""
    if not audit.visited:
        pytest.skip("the role tests did not run in this session")
    missing: list[str] = []
    for route in leaf_routes(audit.app.router.routes):
        methods = getattr(route, "methods", None) or set()
        endpoint = getattr(route, "endpoint", None)
        module = getattr(endpoint, "__module__", "")
        if "GET" not in methods or not module.startswith(("kervan.web", "kervan.api.docs")):
            continue
        if route.path in NOT_PAGES:
            continue
        pattern = re.compile(route.path_regex.pattern)
        if not any(pattern.match(path) for path in audit.visited):
            missing.append(route.path)
    assert missing == [], f"page routes no role visited: {missing}"


def test_the_axe_tool_is_the_vendored_release() -> None:
    head = AXE.read_text(encoding="utf-8")[:40]
    assert head.startswith("/*! axe v4."), head
    assert "Mozilla Public License" in (AXE.parent / "LICENSE").read_text(encoding="utf-8")


def test_axe_finds_a_planted_violation(page: Page, audit: Audit) -> None:
    """The check can fail: an image without alt text on a real page is reported."""
    page.goto(audit.base_url + "/verify")
    page.evaluate(
        "() => { const i = document.createElement('img'); i.src = '/web/static/img/favicon.svg';"
        " document.querySelector('main').appendChild(i); }"
    )
    check = Checker(page, audit, "planted")
    check("verify-with-bad-image")
    assert any("image-alt" in p for p in check.problems), check.problems

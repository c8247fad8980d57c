"""`/docs` and `/redoc` in a real browser: both render the node's API from the vendored scripts
under their Content-Security-Policy, with no request leaving the machine and no script or
policy error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests.web.conftest import CHROMIUM, CHROMIUM_FLAGS, RequestLog, require_chromium

pytestmark = pytest.mark.browser


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
        )
        try:
            yield browser_context
        finally:
            browser_context.close()


def watched(context: BrowserContext, base_url: str) -> tuple[Page, RequestLog, list[str]]:
    """A page recording every request and every console error or failed request."""
    log = RequestLog(base_url)
    problems: list[str] = []
    context.on("request", lambda request: log.urls.append(request.url))
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(30_000)
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, log, problems


def test_swagger_ui_renders_the_api_offline(context: BrowserContext, live_server: str) -> None:
    page, log, problems = watched(context, live_server)
    page.goto(live_server + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kervan")
    expect(page.locator(".opblock-summary-path", has_text="/v1/auth/login").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert any(url.endswith("/vendor/swagger-ui/swagger-ui-bundle.js") for url in log.urls)
    assert log.outside() == [], log.outside()
    assert problems == []


def test_redoc_renders_the_api_offline(context: BrowserContext, live_server: str) -> None:
    page, log, problems = watched(context, live_server)
    page.goto(live_server + "/redoc")
    expect(page.locator("h1", has_text="Kervan").first).to_be_visible()
    expect(page.get_by_text("/v1/oauth/token").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    assert any(url.endswith("/vendor/redoc/redoc.standalone.js") for url in log.urls)
    assert log.outside() == [], log.outside()
    assert problems == []

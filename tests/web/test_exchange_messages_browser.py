"""Turkiye's customs officer looks after the node's messages in a real browser: from the
navigation to the page, a sequence gap with the message held behind it, a forged message
refused, a dead letter received again with one click (which fills the gap), the page in Turkish
and Russian; Azerbaijan's officer is told the page does not exist. Nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from kervan.api.app import create_app
from kervan.exchange.inbox import Inbox
from kervan.exchange.status import channel_heads
from kervan.network.model import Network
from kervan.services.customs.handlers import message_handler
from kervan.services.node import NodeContext
from kervan.store.db import unit_of_work
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
from tests.web.test_exchange_messages_page import AZ, PAGE, TR, control

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("web-messages-browser")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        seed_corridor(app)
        ctx: NodeContext = app.state.node
        az = ctx.keys.load(AZ, ctx.keys.kids(AZ)[-1])
        with UnitOfWork(ctx.sessions, reading=True) as uow:
            trust = uow.signing_keys.trust_list()
        inbox = Inbox(TR, trust, message_handler(ctx.clock, ctx), clock=ctx.clock)
        with unit_of_work(ctx.sessions) as session:
            head = channel_heads(session, TR).get(AZ, 0)
            inbox.dead_letter(session, control(az, head + 1), "max_deliveries",
                              "failed on each of 5 deliveries", deliveries=5)  # fmt: skip
            inbox.receive(session, control(az, head + 2))
            forged = control(az, 99).replace(b"SHP-20261124-0099", b"SHP-20261124-0098")
            inbox.receive(session, forged)
        with serve(app) as base_url:
            yield base_url


@pytest.fixture
def page(tmp_path: Path, server: str) -> Iterator[Page]:
    require_chromium()
    log = RequestLog(server)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
            locale="en-GB",
        )
        context.on("request", lambda request: log.urls.append(request.url))
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(20_000)
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


def test_the_officer_replays_a_dead_letter_and_the_gap_closes(page: Page, server: str) -> None:
    log_in(page, server, TR)
    page.get_by_role("link", name="Node messages").click()
    expect(page).to_have_url(f"{server}{PAGE}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Messages held back by the node")
    gap = page.locator('tr[data-sender="az-customs"]')
    expect(gap).to_have_count(1)
    expect(page.locator("table.refused-table")).to_contain_text("az-customs:tr-customs:99")
    expect(page.locator("table.refused-table")).to_contain_text("forged")
    dead = page.locator("tr[data-dead-letter]")
    expect(dead).to_contain_text("max_deliveries")
    expect(gap.locator("td.gap-asks")).to_contain_text("Not yet")
    gap.get_by_role("button", name="Ask again now").click()
    expect(page.locator(".flash.ok")).to_contain_text("The node asks the sender's stream again")
    expect(gap.locator(".pending-ask")).to_contain_text("the node asks at its next check")
    page.screenshot(path=screenshot_path("messages-before"), full_page=True)
    dead.get_by_role("button", name="Receive again").click()
    expect(page.locator(".flash.ok")).to_contain_text("Received again:")
    expect(page.locator(".flash.ok")).to_contain_text("applied")
    expect(page.locator('tr[data-sender="az-customs"]')).to_have_count(0)
    expect(page.get_by_text("No gap: every channel is applied in order.")).to_be_visible()
    expect(page.locator("tr[data-dead-letter]")).to_contain_text("replayed")
    page.get_by_role("button", name="Türkçe").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Düğümün beklettiği mesajlar")
    expect(page.locator("tr[data-dead-letter]")).to_contain_text("yeniden alındı")
    page.get_by_role("button", name="Русский").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Сообщения, задержанные узлом")
    page.screenshot(path=screenshot_path("messages-ru"), full_page=True)


def test_another_authoritys_officer_finds_nothing(page: Page, server: str) -> None:
    log_in(page, server, "az-customs")
    answer = page.goto(server + PAGE)
    assert answer is not None
    assert answer.status == 404
    expect(page.locator("body")).not_to_contain_text("az-customs:tr-customs:99")

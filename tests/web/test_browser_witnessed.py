"""A document's QR on a witnessed node, in a real browser: the Kazakh node's log is co-signed by
two other national nodes (witnesses), the shipment page's verify link (what the document's QR
holds) gives a verdict from the QR alone, for a visitor who is not logged in; a QR whose digest
was changed is not verified."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from kervan.api.app import create_app
from kervan.network.model import Network
from kervan.services.demo_corridor import SeededShipment
from kervan.services.witness import (
    AddWitness,
    WatchLog,
    add_witness,
    gather_cosignatures,
    watch_log,
)
from kervan.settings import Settings
from kervan.store.repositories.witness import LogWitness
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


@pytest.fixture
def witnessed_server(
    tmp_path: Path, web_network: Network
) -> Iterator[tuple[str, list[SeededShipment]]]:
    """A seeded Kazakh node whose log two witness nodes (Azerbaijani, Turkish) co-signed."""
    witnesses: dict[str, TestClient] = {}
    with (
        migrated_database("sqlite", _folder(tmp_path, "kz")) as kz_url,
        migrated_database("sqlite", _folder(tmp_path, "az")) as az_url,
        migrated_database("sqlite", _folder(tmp_path, "tr")) as tr_url,
    ):
        app = create_app(_settings(kz_url, tmp_path / "kz", "KZ"), network=web_network)
        seeded = seed_corridor(app)
        kz = app.state.node
        log_vkey = TestClient(app).get("/v1/log/key").text.strip()
        for country, url in (("AZ", az_url), ("TR", tr_url)):
            witness = create_app(
                _settings(url, tmp_path / country.lower(), country), network=web_network
            )
            client = TestClient(witness)
            client.__enter__()
            witnesses[f"kervan-{country.lower()}"] = client
            watch_log(witness.state.node.unit_of_work(), WatchLog(log_vkey))
            key = client.get("/v1/witness/key").text.strip()
            add_witness(kz.unit_of_work(), AddWitness(key, f"http://{country.lower()}.example"))

        def post(witness: LogWitness, body: bytes) -> tuple[int, str]:
            answer = witnesses[witness.name].post("/v1/witness/add-checkpoint", content=body)
            return answer.status_code, answer.text

        try:
            report = gather_cosignatures(kz.unit_of_work(), post)
            assert report.cosigned_by == ["kervan-az", "kervan-tr"], report.refused
            with serve(app) as base_url:
                yield base_url, seeded
        finally:
            for client in witnesses.values():
                client.__exit__(None, None, None)


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def _settings(url: str, folder: Path, country: str) -> Settings:
    return Settings(
        environment="test",
        database_url=url,
        data_dir=folder,
        secret_key="t" * 48,
        node_id=f"kervan-{country.lower()}",
        node_country=country,
    )


@pytest.fixture
def page(tmp_path: Path, witnessed_server: tuple[str, list[SeededShipment]]) -> Iterator[Page]:
    require_chromium()
    base_url = witnessed_server[0]
    log = RequestLog(base_url)
    with sync_playwright() as playwright:
        context: BrowserContext = playwright.chromium.launch_persistent_context(
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
    assert log.outside() == [], f"requests left the machine: {log.outside()}"


def test_verdict_from_the_qr_alone(
    page: Page, witnessed_server: tuple[str, list[SeededShipment]], tmp_path: Path
) -> None:
    base_url, seeded = witnessed_server
    delivered = next(s for s in seeded if s.stage == "delivered")
    note = f"{delivered.id}-CIMSMGS-1"
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill("istanbul-imports")
    page.get_by_label("Password").fill(password_of("istanbul-imports"))
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base_url}/shipments/{delivered.id}")
    link = page.locator(f"article.document[data-document='{note}'] a.verify-link")
    qr_url = link.get_attribute("href")
    assert qr_url is not None
    assert "&digest=" in qr_url
    assert "&checkpoint=" in qr_url
    # The printed note's QR carries the same claim.
    printed = page.request.get(f"{base_url}/documents/{note}/print")
    assert printed.ok
    assert "checkpoint=" in printed.text()
    # and its ledger line says the version is in the checkpoint the witnesses co-signed.
    assert re.search(r"in the checkpoint of \d+ entries co-signed by the witnesses", printed.text())
    bundle = page.request.get(f"{base_url}/documents/{note}/evidence.json")
    assert "checkpoint" in bundle.json()
    evidence = tmp_path / "evidence.json"
    evidence.write_bytes(bundle.body())
    page.get_by_role("button", name="Log out").click()

    # The bundle, uploaded to the public verify page, is checked with the witnesses' keys.
    page.goto(f"{base_url}/verify?document={note}")
    page.locator("#bundle_file").set_input_files(str(evidence))
    page.get_by_role("button", name="Verify the evidence").click()
    checked = page.locator(".verdict[data-verified]")
    expect(checked).to_have_attribute("data-verified", "yes")
    expect(checked).to_contain_text("co-signed by 2 witnesses (kervan-az, kervan-tr)")

    # A border officer scans the QR: no login, no bundle, a verdict.
    page.goto(qr_url)
    verdict = page.locator(".qr-verdict")
    expect(verdict).to_have_attribute("data-qr-verified", "yes")
    expect(verdict).to_contain_text("kervan-az, kervan-tr")
    expect(verdict).to_contain_text(note)
    expect(verdict.locator("li.failed")).to_have_count(0)

    # The same QR with another digest: not a version this log recorded.
    page.goto(re.sub(r"digest=[0-9a-f]{64}", "digest=" + "f" * 64, qr_url))
    verdict = page.locator(".qr-verdict")
    expect(verdict).to_have_attribute("data-qr-verified", "no")
    expect(verdict.locator("li.failed")).to_contain_text("recorded no such version")

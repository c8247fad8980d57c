"""The print pages over HTTP: their own content policy and A4 page, the language asked for,
another organisation's document answering 404, a signature changed in the store printing as
not verified, and a permit's control stamps and revocation as the form lays them out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from kervan.api.app import create_app
from kervan.documents.cimsmgs import CimSmgsStep
from kervan.documents.ecmr import ChargeKind
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrStep
from kervan.documents.epermit import ActivityType, PermitType, PermitUsage, Quota, issue_permit
from kervan.documents.goods import SealingParty
from kervan.documents.kinds import DocumentKind
from kervan.documents.parties import PartyRole
from kervan.documents.parties import PartyRole as R
from kervan.network.model import Network
from kervan.services.demo_corridor import SeededShipment, caller_for
from kervan.services.documents import SignRequest, SignStep, sign_step
from kervan.services.node import NodeContext
from kervan.services.printing import Printable, PrintedSignature
from kervan.services.tir import OperationAction
from kervan.store.uow import UnitOfWork
from kervan.web.i18n import locale
from kervan.web.print_forms import render_printable
from tests.api.conftest import node_settings
from tests.databases import migrated_database
from tests.documents.corridor_samples import CONSIGNOR, T0, ecmr_content, sig
from tests.web.conftest import seed_corridor
from tests.web.test_pages_http import login

Seeded = tuple[TestClient, NodeContext, list[SeededShipment]]
#: The steps services.tir signs besides the operations (their JWS headers name them so).
TIR_STEPS = ("register_guarantee", "submit_declaration", "accept_declaration")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[Seeded]:
    folder: Path = tmp_path_factory.mktemp("web-print-pages")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        shipments = seed_corridor(app)
        ctx: NodeContext = app.state.node
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield client, ctx, shipments


def truck_ecmr(seeded: Seeded) -> str:
    _, _, shipments = seeded
    truck = next(s for s in shipments if s.stage == "booked")
    return f"{truck.id}-ECMR-1"


def test_print_page_is_a4_in_the_language_asked_for(seeded: Seeded) -> None:
    client, _, _ = seeded
    note = truck_ecmr(seeded)
    login(client, "tashkent-cotton")
    printed = client.get(f"/documents/{note}/print")
    assert printed.status_code == 200
    assert printed.headers["content-security-policy"].startswith("default-src 'none'")
    page = printed.text
    assert "@page { size: A4; margin: 10mm 10mm 12mm; }" in page
    assert f'@bottom-left {{ content: "{note}";' in page  # every page names the document
    assert '<html lang="en">' in page
    assert "International consignment note (CMR)" in page
    assert "Tashkent Cotton Export" in page
    assert "Raw cotton, not carded or combed" in page
    assert "<script" not in page
    assert 'href="?lang=ru"' in page  # print it in another language from the screen
    russian = client.get(f"/documents/{note}/print", params={"lang": "ru"})
    assert '<html lang="ru">' in russian.text
    assert "Международная товарно-транспортная накладная (CMR)" in russian.text
    assert client.get(f"/documents/{note}/print", params={"lang": "xx"}).status_code == 422


def test_another_organisations_document_is_not_found(seeded: Seeded) -> None:
    client, _, _ = seeded
    note = truck_ecmr(seeded)
    login(client, "ktz-express")  # not a party to the Uzbek truck
    assert client.get(f"/documents/{note}/print").status_code == 404
    login(client, "kz-permits")  # an authority, but not the one that issues its permits
    assert client.get("/permits/UZ-TR-2026-1-1/print").status_code == 404
    login(client, "tashkent-cotton")  # not an authority at all
    assert client.get("/permits/UZ-TR-2026-1-1/print").status_code == 403


def test_a_changed_signature_prints_as_not_verified(seeded: Seeded) -> None:
    client, ctx, _ = seeded
    note = truck_ecmr(seeded)
    with UnitOfWork(ctx.sessions, reading=True) as uow:
        shipper = caller_for(uow.session, "tashkent-cotton")
    sign_step(ctx.unit_of_work(), shipper, SignStep(note, SignRequest(step="issue")))
    login(client, "tashkent-cotton")
    before = client.get(f"/documents/{note}/print").text
    assert "signatures: 1, each verified against the trust list" in before
    assert "NOT VERIFIED" not in before
    # Someone with the database in hand drops its guard and changes the signature's bytes.
    with ctx.sessions() as session, session.begin():
        guards = session.scalars(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'document_signatures'"
            )
        ).all()
        for name in guards:
            session.execute(text(f'DROP TRIGGER "{name}"'))
        entry = session.execute(
            text("SELECT entry FROM document_signatures WHERE document_id = :d AND position = 0"),
            {"d": note},
        ).scalar_one()
        changed = json.loads(entry)
        first = changed["signature"][0]
        changed["signature"] = ("B" if first == "A" else "A") + changed["signature"][1:]
        session.execute(
            text("UPDATE document_signatures SET entry = :e WHERE document_id = :d"),
            {"e": json.dumps(changed), "d": note},
        )
    after = client.get(f"/documents/{note}/print").text
    assert "1 of 1 signatures NOT VERIFIED" in after
    assert "NOT VERIFIED: " in after
    assert "signature verified" not in after


def test_permit_stamps_and_revocation_as_printed() -> None:
    quota = Quota(
        permit_issuer="UZ",
        permit_issued_for="TR",
        permit_year=2026,
        permit_type=PermitType.BILATERAL,
        quantity=50,
    )
    permit = issue_permit(
        quota,
        0,
        plate_number="01 A 123 BC",
        company_name="Uzbek <Trucking>",
        company_id="uz-trucking",
        issued_at=date(2026, 3, 1),
        expires_at=date(2026, 4, 30),
        departure_country="UZ",
        arrival_country="TR",
    ).model_copy(update={"qr_code": "eyJhbGciOiJFUzI1NiJ9.eyJpZCI6IlVaLVRSLTIwMjYtMS0xIn0.c2ln"})
    entered = int(datetime(2026, 3, 9, 6, 40, tzinfo=UTC).timestamp())
    printable = Printable(
        document_id=permit.permit_id,
        kind=DocumentKind.EPERMIT,
        state="revoked",
        version=1,
        digest=None,
        qr=permit.qr_code or "",
        verification="https://kervan.example/verify",
        form=permit,
        signatures=(
            PrintedSignature(
                party="uz-permits",
                party_name="Ministry of Transport (permits)",
                role="permit_authority",
                step="issue",
                version=None,
                kid="uz-permits-es-1",
                signed_at=datetime(2026, 3, 1, tzinfo=UTC),
                verified=True,
            ),
        ),
        ledger=None,
        usages=(
            PermitUsage(
                permit_id=permit.permit_id,
                control_authority="TR",
                activity_type=ActivityType.ENTRANCE,
                activity_timestamp=entered,
                activity_details="Sarp border gate",
            ),
        ),
        revoked_at=datetime(2026, 3, 20, 9, 0, tzinfo=UTC),
    )
    page = render_printable(printable, locale("tr"), datetime(2026, 3, 21, tzinfo=UTC))
    assert "İkili karayolu taşıma izin belgesi" in page
    assert "Bilateral road transport permit" in page  # English beneath the Turkish
    assert "Uzbek &lt;Trucking&gt;" in page  # escaped
    assert "Giriş" in page
    assert "09.03.2026 06:40" in page
    assert "Sarp border gate" in page
    assert "İptal edildi: 20.03.2026 09:00 UTC" in page
    assert "01.03.2026 – 30.04.2026" in page


def _ecmr_printable(full: bool) -> Printable:
    note = Ecmr.draft("ECMR-CN-2025-000731", ecmr_content(), T0).issue(sig(CONSIGNOR, R.CONSIGNOR))
    if not full:  # as services.printing hands it to customs: the charges taken out
        versions = tuple(
            v.model_copy(update={"content": v.content.model_copy(update={"charges": ()})})
            for v in note.versions
        )
        note = note.model_copy(update={"versions": versions})
    return Printable(
        document_id=note.note_id,
        kind=DocumentKind.ECMR,
        state=note.state.value,
        version=1,
        digest="0" * 64,
        qr="https://kervan.example/verify?document=ECMR-CN-2025-000731",
        verification="https://kervan.example/verify?document=ECMR-CN-2025-000731",
        form=note,
        signatures=(),
        ledger=None,
        full=full,
    )


def test_ecmr_charges_successive_carriers_and_instructions_in_their_boxes() -> None:
    page = render_printable(_ecmr_printable(True), locale("en"), T0)
    assert "Carriage charges" in page
    assert "9,800.00" in page  # box 20, paid by the sender
    assert "Export declaration filed at Xi&#39;an customs; transit under TIR." in page  # box 13
    assert "UN3480, class 9" in page
    assert "CN2025001234 (CN-XIAN-CUSTOMS), customs" in page
    assert "10 AB 123 (AZ), 10 TT 456 (AZ)" in page
    assert page.count('class="tick">X</span>') == 1  # box 15: carriage paid
    customs = render_printable(_ecmr_printable(False), locale("ru"), T0)
    assert "Расходы таможне не показываются." in customs
    assert "9 800,00" not in customs


def test_every_label_the_forms_print_is_in_the_catalogues() -> None:
    english = locale("en").messages
    templates = resources.files("kervan.web").joinpath("templates")
    used: set[str] = set()
    for item in templates.iterdir():
        if item.name.startswith(("print_", "_print_")):
            page = item.read_text("utf-8")
            used |= set(re.findall(r"lbl\(\"([\w.]+)\"\)", page))
            used |= set(re.findall(r"box\((?:\d+|None), \"([\w.]+)\"\)", page))
    used |= {f"print.role.{role.value}" for role in PartyRole}
    used |= {f"print.act.{step.name.lower()}" for step in (*EcmrStep, *CimSmgsStep)}
    used |= {f"print.act.{a.value}_operation" for a in OperationAction}
    used |= {f"print.act.{step}" for step in TIR_STEPS}
    used |= {f"print.permit.title.{t.value}" for t in PermitType}
    used |= {f"print.permit.kind.{t.value}" for t in PermitType}
    used |= {f"print.charge.{kind.value}" for kind in ChargeKind}
    used |= {f"print.sealed_by.{who.value}" for who in SealingParty}
    assert len(used) > 100
    assert sorted(k for k in used if k not in english) == []

"""Printable HTML: self-contained, escaped, with a QR code that decodes to what was passed in."""

from __future__ import annotations

import re
from datetime import date

import segno

from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.epermit import PermitType, Quota, issue_permit
from kervan.documents.parties import PartyRole as R
from kervan.documents.render import qr_svg, render_cimsmgs, render_ecmr, render_permit, render_tir
from tests.documents.corridor_samples import CONSIGNOR, T0, btk_note, ecmr_content, sig
from tests.documents.test_etir import submitted

URL = "https://kervan.example/verify/ECMR-CN-2025-000731?v=1"


def self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|@import|url\(|src=", html, re.IGNORECASE)
    assert "<svg" in html


def test_ecmr_page() -> None:
    note = Ecmr.draft("ECMR-CN-2025-000731", ecmr_content(), T0).issue(sig(CONSIGNOR, R.CONSIGNOR))
    html = render_ecmr(note, URL)
    self_contained(html)
    assert "ADY Container" in html
    assert "850760" in html
    assert "UN3480 class 9" in html
    assert "Xi&#x27;an Longhai" in html  # escaped apostrophe
    assert "issued" in html
    assert CONSIGNOR.id in html


def test_qr_matches_the_payload() -> None:
    assert qr_svg(URL) == segno.make(URL, error="m").svg_inline(scale=3, title="verification code")
    assert qr_svg(URL) != qr_svg(URL + "2")


def test_rail_tir_and_permit_pages() -> None:
    rail = render_cimsmgs(btk_note(), "https://kervan.example/verify/AZ-2025-000417")
    self_contained(rail)
    assert "Akhalkalaki" in rail
    assert "1435 mm, CIM" in rail
    tir = render_tir_page()
    self_contained(tir)
    assert "KZ - AZ - GE - TR" in tir
    quota = Quota(
        permit_issuer="TR",
        permit_issued_for="UZ",
        permit_year=2025,
        permit_type=PermitType.BILATERAL,
        quantity=5,
    )
    permit = issue_permit(
        quota,
        0,
        plate_number="01 A 123 BC",
        company_name="Samarkand <Trans>",
        company_id="UZ305987612",
        issued_at=date(2025, 3, 1),
        expires_at=date(2025, 12, 31),
    )
    page = render_permit(permit, "eyJhbGciOiJFUzI1NiJ9.eyJpZCI6IlRSLVVaLTIwMjUtMS0xIn0.c2ln")
    self_contained(page)
    assert "TR-UZ-2025-1-1" in page
    assert "Samarkand &lt;Trans&gt;" in page
    assert "31/12/2025" in page


def render_tir_page() -> str:
    return render_tir(submitted(), "https://kervan.example/verify/TIR-KZ-2025-000188")

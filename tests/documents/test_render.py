"""The QR code drawn on printed documents decodes to exactly what was passed in."""

from __future__ import annotations

import segno

from kervan.documents.render import qr_svg

URL = "https://kervan.example/verify?document=TAS-IST-0042-ECMR-1"


def test_qr_matches_the_payload() -> None:
    assert qr_svg(URL) == segno.make(URL, error="m").svg_inline(scale=3, title="verification code")
    assert qr_svg(URL) != qr_svg(URL + "2")
    assert qr_svg(URL).startswith("<svg")

"""The QR code printed on documents and shown on their pages, as inline SVG.

The QR code carries what the caller passes in (a verification URL or a signed payload such as a
permit's compact JWS); this module draws it and signs nothing. The printed forms themselves are
laid out by the web (kervan.web.print_forms).
"""

from __future__ import annotations

import segno


def qr_svg(payload: str, *, scalable: bool = False) -> str:
    """In: the text to encode (URL or payload). Out: an inline <svg> QR code (error level M);
    `scalable` gives it a viewBox instead of a width and height, to be sized by the page."""
    code = segno.make(payload, error="m")
    return str(code.svg_inline(scale=3, title="verification code", omitsize=scalable))

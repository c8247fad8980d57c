"""Printable, self-contained HTML views of the documents, each with its QR code as inline SVG.

No external scripts, fonts or style sheets: the page prints and works offline. The QR code
carries what the caller passes in (a verification URL or a signed payload such as a permit's
compact JWS); this module draws it and signs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

import segno

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.epermit import Permit
from kervan.documents.etir import TirTransport
from kervan.documents.goods import GoodsItem
from kervan.documents.parties import Party

_STYLE = """
body{font-family:Helvetica,Arial,sans-serif;font-size:11pt;margin:2em;color:#111}
h1{font-size:16pt;margin:0 0 .2em}header{display:flex;justify-content:space-between;gap:2em}
table{border-collapse:collapse;width:100%;margin:.6em 0}th,td{border:1px solid #555;
padding:.25em .4em;text-align:left;vertical-align:top}th{background:#eee;width:28%}
.qr{text-align:center;font-size:8pt;max-width:14em;word-break:break-all}
@media print{body{margin:1cm}}
"""


def qr_svg(payload: str) -> str:
    """In: the text to encode (URL or payload). Out: an inline <svg> QR code (error level M)."""
    return str(segno.make(payload, error="m").svg_inline(scale=3, title="verification code"))


def _rows(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)


def _party(party: Party) -> str:
    a = party.address
    where = ", ".join(x for x in (a.street, a.postcode or "", a.city, party.country) if x)
    return f"{party.name} ({party.id}), {where}"


def _goods_table(goods: Sequence[GoodsItem]) -> str:
    head = "<tr><th>#</th><th>Description</th><th>HS</th><th>Packages</th><th>Gross kg</th>"
    head += "<th>Dangerous goods</th></tr>"
    body = ""
    for i, g in enumerate(goods, start=1):
        dg = g.dangerous_goods
        danger = f"{dg.un_number} class {dg.hazard_class}" if dg else "-"
        cells = (
            str(i),
            g.description,
            g.hs_code,
            f"{g.packages} {g.package_kind}",
            f"{g.gross_weight_kg}",
            danger,
        )
        body += "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"
    return f"<table>{head}{body}</table>"


def _page(title: str, subtitle: str, verification: str, sections: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><div><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></div>"
        f'<div class="qr">{qr_svg(verification)}<br>{escape(verification)}</div></header>'
        + "".join(sections)
        + "</body></html>"
    )


def render_ecmr(note: Ecmr, verification: str) -> str:
    """In: an e-CMR and the text its QR code carries. Out: a printable HTML page."""
    c = note.content
    rows = _rows(
        [
            ("1 Consignor", _party(c.consignor)),
            ("2 Consignee", _party(c.consignee)),
            ("3 Place of delivery", f"{c.place_of_delivery.name}, {c.place_of_delivery.country}"),
            ("4 Taking over", f"{c.place_of_taking_over.name}, {c.date_of_taking_over:%d/%m/%Y}"),
            ("16 Carrier", _party(c.carrier)),
            ("17 Successive carriers", "; ".join(_party(p) for p in c.successive_carriers) or "-"),
            ("Vehicles", ", ".join(f"{p.number} ({p.country})" for p in c.vehicle_plates)),
            ("Containers", ", ".join(x.number for x in c.containers) or "-"),
            ("13 Consignor's instructions", c.consignor_instructions or "-"),
            (
                "18 Carrier's reservations",
                "; ".join(r.text for r in note.carrier_reservations) or "-",
            ),
            (
                "24 Consignee's reservations",
                "; ".join(r.text for r in note.consignee_reservations) or "-",
            ),
            (
                "Charges",
                "; ".join(
                    f"{x.kind.value} {x.amount} {x.currency} ({x.payer.value})" for x in c.charges
                )
                or "-",
            ),
        ]
    )
    signed = _rows(
        (
            f"v{a.version} {a.step.value}",
            f"{a.evidence.role.value} {a.evidence.party_id} at "
            f"{a.evidence.signed_at.isoformat()} [{a.evidence.signature_ref}]",
        )
        for a in note.acts
    )
    return _page(
        f"e-CMR {note.note_id}",
        f"Version {note.current.number}, {note.state.value.replace('_', ' ')}",
        verification,
        [
            f"<table>{rows}</table>",
            _goods_table(c.goods),
            f"<h2>Signatures</h2><table>{signed}</table>",
        ],
    )


def render_cimsmgs(note: CimSmgsNote, verification: str) -> str:
    """In: a CIM/SMGS note and the text its QR code carries. Out: a printable HTML page."""
    c = note.content
    route = _rows(
        (
            f"{s.railway.name}",
            f"{s.from_station.name} - {s.to_station.name}, {int(s.gauge)} mm, {s.law.value}",
        )
        for s in c.route
    )
    points = ", ".join(p.station.name for p in c.change_points) or "-"
    rows = _rows(
        [
            ("Consignor", _party(c.consignor)),
            ("Consignee", _party(c.consignee)),
            ("Forwarding station", f"{c.forwarding_station.name} ({c.forwarding_station.code})"),
            ("Destination station", f"{c.destination_station.name} ({c.destination_station.code})"),
            ("Change points", points),
            ("Wagons", ", ".join(w.number for w in c.wagons) or "-"),
            ("Containers", ", ".join(x.number for x in c.containers) or "-"),
        ]
    )
    return _page(
        f"CIM/SMGS consignment note {note.note_id}",
        note.state.value.replace("_", " "),
        verification,
        [f"<table>{rows}</table>", f"<h2>Route</h2><table>{route}</table>", _goods_table(c.goods)],
    )


def render_tir(transport: TirTransport, verification: str) -> str:
    """In: a TIR transport and the text its QR code carries. Out: a printable HTML page."""
    d = transport.data
    rows = _rows(
        [
            ("Holder", _party(d.holder)),
            ("Guarantee", f"{transport.guarantee.reference} ({transport.guarantee.state.value})"),
            ("Itinerary", " - ".join(d.itinerary)),
            ("Office of departure", _party(d.office_of_departure)),
            ("Offices en route", "; ".join(_party(o) for o in d.offices_en_route) or "-"),
            ("Office of destination", _party(d.office_of_destination)),
            ("Vehicle", ", ".join(f"{p.number} ({p.country})" for p in d.vehicle)),
            ("Seals", ", ".join(s.number for s in d.seals) or "-"),
        ]
    )
    ops = _rows((o.country, o.state.value) for o in transport.operations)
    return _page(
        f"eTIR transport {transport.tir_reference}",
        f"Advance data version {transport.versions[-1].number}, {transport.state.value}",
        verification,
        [
            f"<table>{rows}</table>",
            _goods_table(d.goods),
            f"<h2>TIR operations</h2><table>{ops}</table>",
        ],
    )


def render_permit(permit: Permit, verification: str) -> str:
    """In: an e-Permit and its QR content (normally `permit.qr_code`). Out: an HTML page."""
    wire = permit.to_wire()
    rows = _rows((k, str(v)) for k, v in wire.items() if k != "qr_code")
    return _page(
        f"e-Permit {permit.permit_id}",
        f"{permit.permit_type.name.replace('_', ' ').lower()} permit, valid "
        f"{wire['issued_at']} to {wire['expires_at']}",
        verification,
        [f"<table>{rows}</table>"],
    )

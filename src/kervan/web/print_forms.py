"""The printed forms: each document laid out as the paper form people know, on A4.

e-CMR as the IRU model consignment note (boxes 1-24), CIM/SMGS as the common rail consignment
note, the eTIR accompanying document as a TIR carnet voucher, the e-Permit as authorities print
a bilateral road transport permit. Labels are in the page's language with a second language
beneath them, as official forms print them (English, or Russian under an English page); the box
numbers stay. The signatures print as the verified electronic signatures (signer, time, key
id), the QR code leads to the verification, and the page carries its own style and inline SVG
only (common.PRINT_POLICY), in black on white.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from markupsafe import Markup

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr import ChargeKind, Payer
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrStep
from kervan.documents.epermit import Permit
from kervan.documents.etir import TirTransport
from kervan.documents.goods import GoodsItem
from kervan.documents.parties import Party
from kervan.documents.render import qr_svg
from kervan.services.printing import Printable
from kervan.web.common import templates
from kervan.web.i18n import Locale, locale

#: A language a form may be printed in (the `lang` query of the print pages).
LANG_PATTERN: Final = "^(en|tr|ru)$"

#: The template of each form, by the type of its document model.
_TEMPLATES: Final[dict[type, str]] = {
    Ecmr: "print_ecmr.html",
    CimSmgsNote: "print_cimsmgs.html",
    TirTransport: "print_tir.html",
    Permit: "print_permit.html",
}


def second_language(loc: Locale) -> Locale:
    """The language printed under each label: English, or Russian under an English page."""
    return locale("ru" if loc.code == "en" else "en")


class Labels:
    """Box labels in two languages, as Markup (the page's language first)."""

    def __init__(self, loc: Locale) -> None:
        self.loc = loc
        self.other = second_language(loc)

    def __call__(self, key: str) -> Markup:
        first, second = self.loc.t(key), self.other.t(key)
        if first == second:
            return Markup('<span class="l1">{}</span>').format(first)
        return Markup('<span class="l1">{}</span> <span class="l2" lang="{}">{}</span>').format(
            first, self.other.code, second
        )


def party_lines(party: Party, loc: Locale) -> list[str]:
    """A party as a box prints it: name, street, postcode and city, country, identifier."""
    a = party.address
    city = " ".join(x for x in (a.postcode or "", a.city) if x)
    return [party.name, a.street, city, loc.label("country.", party.country), party.id]


def kilograms(value: Decimal, loc: Locale) -> str:
    """A mass in kg as the form writes it: whole kilograms unless grams are given."""
    digits = 0 if value == value.to_integral_value() else 3
    return loc.number(float(value), digits)


def goods_total(goods: tuple[GoodsItem, ...]) -> tuple[int, Decimal]:
    """Packages and gross kilograms of all the goods."""
    return sum(g.packages for g in goods), sum((g.gross_weight_kg for g in goods), Decimal(0))


def day(value: date | datetime) -> str:
    """A date as the forms write it (dd.mm.yyyy, read the same in every corridor country)."""
    return value.strftime("%d.%m.%Y")


def moment(value: datetime | None) -> str:
    """A time in UTC to the minute."""
    return "" if value is None else value.astimezone(UTC).strftime("%d.%m.%Y %H:%M")


def _ecmr_context(note: Ecmr) -> dict[str, Any]:
    c = note.content
    issued = note.acts_of(EcmrStep.ISSUE)
    payers: dict[str, dict[Payer, Decimal]] = {}
    currencies = sorted({x.currency for x in c.charges})
    for charge in c.charges:
        row = payers.setdefault(charge.kind.value, {})
        row[charge.payer] = row.get(charge.payer, Decimal(0)) + charge.amount
    carriage = [x for x in c.charges if x.kind is ChargeKind.CARRIAGE]
    return {
        "c": c,
        "established_on": issued[0].evidence.signed_at if issued else None,
        "charge_rows": [(k.value, payers.get(k.value, {})) for k in ChargeKind],
        "currency": currencies[0] if len(currencies) == 1 else " / ".join(currencies),
        "carriage_paid": any(x.payer is Payer.CONSIGNOR for x in carriage),
        "carriage_forward": any(x.payer is Payer.CONSIGNEE for x in carriage),
        "totals": {
            payer: sum((x.amount for x in c.charges if x.payer is payer), Decimal(0))
            for payer in Payer
        },
        "Payer": Payer,
    }


def render_printable(printable: Printable, loc: Locale, printed_at: datetime) -> str:
    """In: a document to print, the language and the time of printing. Out: the A4 page."""
    form = printable.form
    context: dict[str, Any] = {
        "p": printable,
        "form": form,
        "loc": loc,
        "lbl": Labels(loc),
        "qr": Markup(qr_svg(printable.qr, scalable=True)),  # noqa: S704 (segno writes the SVG)
        "party_lines": lambda party: party_lines(party, loc),
        "kg": lambda value: kilograms(value, loc),
        "goods_total": goods_total,
        "day": day,
        "moment": moment,
        "unix": lambda seconds: datetime.fromtimestamp(seconds, tz=UTC),
        "qr_caption": "print.permit.qr_caption" if isinstance(form, Permit) else "print.qr_caption",
        "printed_at": moment(printed_at),
        "languages": [(code, locale(code).name) for code in ("en", "tr", "ru")],
    }
    if isinstance(form, Ecmr):
        context.update(_ecmr_context(form))
    template = templates.env.get_template(_TEMPLATES[type(form)])
    return template.render(context)

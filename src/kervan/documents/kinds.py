"""The kinds of transport document a shipment travels on, one name each from plan to store.

The planner says which kinds a route needs, a booking opens a draft of each kind a node issues,
the store keeps the kind of every document and its CHECK constraint allows exactly those, and
the customs declaration lists them: all with these values. CIM/SMGS is written "CIM-SMGS" as a
value (a slash does not belong in ids, keys and URLs); `label` gives the name people read.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class DocumentKind(StrEnum):
    """A kind of transport document. Order: road, rail, TIR, permit, sea (plans list by it)."""

    ECMR = "e-CMR"
    CIM_SMGS = "CIM-SMGS"
    ETIR = "e-TIR"
    EPERMIT = "e-Permit"
    BILL_OF_LADING = "bill of lading"

    @classmethod
    def _missing_(cls, value: object) -> DocumentKind | None:
        # Plans and declarations written before the one spelling said "CIM/SMGS"; signed
        # messages from other nodes may still say it.
        return cls.CIM_SMGS if value == "CIM/SMGS" else None

    @property
    def label(self) -> str:
        """The document's name as people read it, e.g. "CIM/SMGS"."""
        return "CIM/SMGS" if self is DocumentKind.CIM_SMGS else self.value

    @property
    def id_part(self) -> str:
        """The part of a document id naming its kind: SHP-...-ECMR-1, -CIMSMGS-1, -PERMIT-2."""
        return _ID_PARTS[self]


_ID_PARTS: Final = {
    DocumentKind.ECMR: "ECMR",
    DocumentKind.CIM_SMGS: "CIMSMGS",
    DocumentKind.ETIR: "ETIR",
    DocumentKind.EPERMIT: "PERMIT",
    DocumentKind.BILL_OF_LADING: "BL",
}

#: The kinds a Kervan node issues and keeps (a bill of lading is the sea carrier's own).
ISSUED_KINDS: Final = (
    DocumentKind.ECMR,
    DocumentKind.ETIR,
    DocumentKind.EPERMIT,
    DocumentKind.CIM_SMGS,
)
#: The kinds whose parties sign their lifecycle steps (e-TIR and e-Permit go through an authority).
PARTY_SIGNED_KINDS: Final = frozenset({DocumentKind.ECMR, DocumentKind.CIM_SMGS})

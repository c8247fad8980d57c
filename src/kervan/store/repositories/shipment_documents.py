"""A shipment's document read in one statement: link, shipment, document, current version and
signatures.

Reading or signing a document by its id needs who owns it, which shipment it belongs to (and
that shipment's countries and status, for customs visibility), the document's lifecycle, state,
current version and every signature on it. `ShipmentDocumentRepository.find` reads all of it in one
joined SELECT (locking the document and its link on PostgreSQL when the caller is about to
change them, and then also reading the caller's current signing key id). Who may see the result
is the services' decision, on the roles the caller holds in the shipment (read with it).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from kervan.signatures.jws import JwsSignature
from kervan.store.direct import DirectStatement
from kervan.store.repositories.documents import (
    StoredSignature,
    signature_columns,
    stored_signature,
)
from kervan.store.repositories.ledger_pending import INSERT_EVENT
from kervan.store.tables import (
    DocumentRow,
    DocumentSignatureRow,
    DocumentVersionRow,
    ShipmentDocumentRow,
    ShipmentPartyRow,
    ShipmentRow,
    SigningKeyRow,
    table_of,
)


@dataclasses.dataclass(frozen=True, slots=True)
class ShipmentDocument:
    """A shipment's document and its current version, as stored (JSON columns as text)."""

    owner: str
    shipment_id: str
    document_id: str
    kind: str
    legs: str
    countries: str
    lifecycle: str
    shipment_countries: str
    shipment_status: str
    state: str
    version: int
    body: str
    digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class FoundDocument:
    """What `ShipmentDocumentRepository.find` read: the document, the roles the party holds in its
    shipment, every signature on it as (version, signature) in order, and (when read to sign)
    the party's newest current EdDSA key id."""

    record: ShipmentDocument
    roles: frozenset[str]
    signatures: list[tuple[int, StoredSignature]]
    party_kid: str | None


_LINKS: Final = table_of(ShipmentDocumentRow)
_SHIPMENTS: Final = table_of(ShipmentRow)
_DOCUMENTS: Final = table_of(DocumentRow)
_VERSIONS: Final = table_of(DocumentVersionRow)
_PARTIES: Final = table_of(ShipmentPartyRow)
_SIGNATURES: Final = table_of(DocumentSignatureRow)
_KEYS: Final = table_of(SigningKeyRow)

_FIND: Final = (
    select(
        _LINKS.c.org_id,
        _LINKS.c.shipment_id,
        _LINKS.c.document_id,
        _LINKS.c.kind,
        _LINKS.c.legs,
        _LINKS.c.countries,
        _LINKS.c.lifecycle,
        _SHIPMENTS.c.countries.label("shipment_countries"),
        _SHIPMENTS.c.status,
        _DOCUMENTS.c.state,
        _DOCUMENTS.c.current_version,
        _VERSIONS.c.body,
        _VERSIONS.c.digest,
        _PARTIES.c.role,
        _SIGNATURES.c.version.label("signature_version"),
        _SIGNATURES.c.position,
        _SIGNATURES.c.kid,
        _SIGNATURES.c.party,
        _SIGNATURES.c.role.label("signature_role"),
        _SIGNATURES.c.signed_at,
        _SIGNATURES.c.entry,
    )
    .join(
        _SHIPMENTS,
        (_SHIPMENTS.c.org_id == _LINKS.c.org_id) & (_SHIPMENTS.c.id == _LINKS.c.shipment_id),
    )
    .join(
        _DOCUMENTS,
        (_DOCUMENTS.c.org_id == _LINKS.c.org_id) & (_DOCUMENTS.c.id == _LINKS.c.document_id),
    )
    .join(
        _VERSIONS,
        (_VERSIONS.c.org_id == _DOCUMENTS.c.org_id)
        & (_VERSIONS.c.document_id == _DOCUMENTS.c.id)
        & (_VERSIONS.c.version == _DOCUMENTS.c.current_version),
    )
    .outerjoin(
        _PARTIES,
        (_PARTIES.c.org_id == _LINKS.c.org_id)
        & (_PARTIES.c.shipment_id == _LINKS.c.shipment_id)
        & (_PARTIES.c.party_org_id == bindparam("party")),
    )
    # One row per (role, signature): a party holds a role or two, a document a few signatures.
    .outerjoin(
        _SIGNATURES,
        (_SIGNATURES.c.org_id == _LINKS.c.org_id)
        & (_SIGNATURES.c.document_id == _LINKS.c.document_id),
    )
    .where(_LINKS.c.document_id == bindparam("document_id"))
)
_PARTY_KID: Final = (
    select(_KEYS.c.kid)
    .where(
        _KEYS.c.org_id == bindparam("party"),
        _KEYS.c.alg == "EdDSA",
        _KEYS.c.revoked_at.is_(None),
        _KEYS.c.superseded_at.is_(None),
    )
    .order_by(_KEYS.c.not_before.desc())
    .limit(1)
    .scalar_subquery()
)
_FIND_FOR_UPDATE: Final = _FIND.add_columns(_PARTY_KID.label("party_kid")).with_for_update(
    of=[_DOCUMENTS, _LINKS]
)
_SET_STATE: Final = (
    update(_DOCUMENTS)
    .where(_DOCUMENTS.c.org_id == bindparam("owner"), _DOCUMENTS.c.id == bindparam("document"))
    .values(state=bindparam("new_state"), updated_at=bindparam("at"))
)
_SET_LIFECYCLE: Final = (
    update(_LINKS)
    .where(
        _LINKS.c.org_id == bindparam("owner"),
        _LINKS.c.shipment_id == bindparam("shipment"),
        _LINKS.c.document_id == bindparam("document"),
    )
    .values(lifecycle=bindparam("new_lifecycle"))
)


_INSERT_SIGNATURE: Final = insert(_SIGNATURES).values(
    org_id=bindparam("owner"),
    document_id=bindparam("document"),
    version=bindparam("version"),
    position=bindparam("position"),
    kid=bindparam("kid"),
    party=bindparam("party"),
    role=bindparam("role"),
    signed_at=bindparam("signed_at"),
    entry=bindparam("entry"),
)
# PostgreSQL: the signature, the document's state and the link's lifecycle in one statement
# (data-modifying CTEs), one round trip instead of three.
_SIGNED_STEP_CTES: Final = _SET_LIFECYCLE.add_cte(_INSERT_SIGNATURE.cte("new_signature")).add_cte(
    _SET_STATE.cte("new_state")
)
_SIGNED_STEP: Final = DirectStatement(_SIGNED_STEP_CTES)
# ... and the step's ledger event, pending for the sequencer, in the same statement.
_SIGNED_STEP_AND_EVENT: Final = DirectStatement(
    _SIGNED_STEP_CTES.add_cte(INSERT_EVENT.cte("new_event"))
)
_FIND_DIRECT: Final = DirectStatement(_FIND)
_FIND_FOR_UPDATE_DIRECT: Final = DirectStatement(_FIND_FOR_UPDATE)


def _record(row: Any) -> ShipmentDocument:
    return ShipmentDocument(
        owner=row.org_id,
        shipment_id=row.shipment_id,
        document_id=row.document_id,
        kind=row.kind,
        legs=row.legs,
        countries=row.countries,
        lifecycle=row.lifecycle,
        shipment_countries=row.shipment_countries,
        shipment_status=row.status,
        state=row.state,
        version=row.current_version,
        body=row.body,
        digest=row.digest,
    )


def _signature(row: Any) -> StoredSignature:
    return stored_signature(
        row.document_id, row.signature_version, row.position, row.kid, row.party,
        row.signature_role, row.signed_at, row.entry,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class DocumentLink:
    """A document's link to its shipment: the legs and countries it covers (JSON text) and its
    lifecycle (JSON text: the e-CMR or CIM/SMGS note, or an e-TIR / e-Permit state)."""

    org_id: str
    shipment_id: str
    document_id: str
    kind: str
    legs: str
    countries: str
    lifecycle: str


def _link(row: ShipmentDocumentRow) -> DocumentLink:
    return DocumentLink(
        row.org_id, row.shipment_id, row.document_id, row.kind, row.legs, row.countries,
        row.lifecycle,
    )  # fmt: skip


class ShipmentDocumentRepository:
    """The links between shipments and their documents, and a document read with its shipment
    (`find`) or signed (`record_signed_step`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, document_id: str, *, party: str, lock: bool = False) -> FoundDocument | None:
        """The document `document_id` of whichever shipment holds it, with the roles `party`
        holds in that shipment (empty when it is not a party) and its signatures; None when there
        is no such document.

        With `lock`, the document row and its link row stay locked until the transaction ends
        (PostgreSQL; SQLite's writer already holds the whole database): read, decide and write
        the next lifecycle step without another signer slipping in between. The party's current
        signing key id is read with it then.
        """
        query = _FIND_FOR_UPDATE_DIRECT if lock else _FIND_DIRECT
        rows = query.rows(self._session, {"document_id": document_id, "party": party})
        if not rows:
            return None
        signatures: dict[tuple[int, int], Any] = {}
        for row in rows:
            if row.signature_version is not None:
                signatures.setdefault((row.signature_version, row.position), row)
        return FoundDocument(
            _record(rows[0]),
            frozenset(row.role for row in rows if row.role is not None),
            [(key[0], _signature(signatures[key])) for key in sorted(signatures)],
            rows[0].party_kid if lock else None,
        )

    def record_signed_step(
        self,
        record: ShipmentDocument,
        *,
        position: int,
        entry: JwsSignature,
        state: str,
        lifecycle: str,
        at: datetime,
        event: dict[str, Any] | None = None,
    ) -> StoredSignature:
        """Store a signed step: the signature entry at `position` of the current version (a taken
        position fails on the primary key), the document's new state and its link's lifecycle, and
        the step's pending ledger `event` when given (`ledger_pending.event_params`)."""
        kid, party, role, signed_at, text = signature_columns(entry)
        params = {
            "owner": record.owner,
            "document": record.document_id,
            "shipment": record.shipment_id,
            "version": record.version,
            "position": position,
            "kid": kid,
            "party": party,
            "role": role,
            "signed_at": signed_at,
            "entry": text,
            "new_state": state,
            "at": at,
            "new_lifecycle": lifecycle,
        }
        if self._session.get_bind().dialect.name == "postgresql":
            if event is None:
                _SIGNED_STEP.run(self._session, params)
            else:
                _SIGNED_STEP_AND_EVENT.run(self._session, {**params, **event})
        else:
            self._session.execute(_INSERT_SIGNATURE, params)
            # The event before the state: the state's guard trigger looks for it.
            if event is not None:
                self._session.execute(INSERT_EVENT, event)
            self._session.execute(_SET_STATE, params)
            self._session.execute(_SET_LIFECYCLE, params)
        stored: JwsSignature = {"protected": entry["protected"], "signature": entry["signature"]}
        return StoredSignature(position, kid, party, role, signed_at, stored)

    def add(self, link: DocumentLink) -> None:
        """Link a new document to its shipment."""
        self._session.add(ShipmentDocumentRow(**dataclasses.asdict(link)))

    def link(self, document_id: str) -> DocumentLink | None:
        """The link of document `document_id`, whichever shipment holds it."""
        row = self._session.scalars(
            select(ShipmentDocumentRow).where(ShipmentDocumentRow.document_id == document_id)
        ).one_or_none()
        return None if row is None else _link(row)

    def set_lifecycle(self, link: DocumentLink, lifecycle: str) -> DocumentLink:
        """The link with its new `lifecycle` (stored when the unit of work flushes)."""
        row = self._session.get(
            ShipmentDocumentRow, (link.org_id, link.shipment_id, link.document_id)
        )
        assert row is not None  # read in this unit of work: the identity map holds it
        row.lifecycle = lifecycle
        return dataclasses.replace(link, lifecycle=lifecycle)

    def document_ids(self, org_id: str, shipment_id: str) -> list[str]:
        """The ids of the documents of shipment (`org_id`, `shipment_id`), in order."""
        return list(
            self._session.scalars(
                select(ShipmentDocumentRow.document_id)
                .where(
                    ShipmentDocumentRow.org_id == org_id,
                    ShipmentDocumentRow.shipment_id == shipment_id,
                )
                .order_by(ShipmentDocumentRow.document_id)
            )
        )

    def of_kind(self, kind: str) -> list[DocumentLink]:
        """Every link to a document of `kind`, by document id (a permit desk's requests)."""
        rows = self._session.scalars(
            select(ShipmentDocumentRow)
            .where(ShipmentDocumentRow.kind == kind)
            .order_by(ShipmentDocumentRow.document_id)
        )
        return [_link(row) for row in rows]

    def naming(self, kind: str, text: str) -> list[DocumentLink]:
        """Links to documents of `kind` whose lifecycle contains `text` (a permit's id as JSON,
        to find the e-Permit document it was issued for)."""
        rows = self._session.scalars(
            select(ShipmentDocumentRow).where(
                ShipmentDocumentRow.kind == kind,
                ShipmentDocumentRow.lifecycle.contains(text),
            )
        )
        return [_link(row) for row in rows]

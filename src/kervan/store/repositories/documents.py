"""Documents, their versions (canonical JSON, insert-only once signed) and signatures.

A version's body is stored as the exact RFC 8785 text its signatures cover, with its SHA-256.
Once a version carries a signature it never changes: this repository refuses, and a trigger in
the database refuses too. `verify_version` re-reads the stored bytes and checks digest, every
JWS signature and the signature columns, so a changed byte anywhere is reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kervan.errors import (
    CanonicalJsonError,
    ImmutableRecordError,
    InvalidRequestError,
    LedgerIntegrityError,
    NotFoundError,
    SignatureError,
)
from kervan.signatures.canonical import JsonValue, parse_canonical_json, parse_json
from kervan.signatures.encoding import b64url_decode, b64url_encode, from_unix_seconds
from kervan.signatures.jws import GeneralJws, JwsSignature, VerifiedSignature, verify
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories._common import canonical_text, sha256_hex, visible
from kervan.store.tables import (
    DOCUMENT_KINDS,
    DocumentRow,
    DocumentSignatureRow,
    DocumentVersionRow,
)


@dataclasses.dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document's identity and lifecycle position."""

    org_id: str
    id: str
    kind: str
    state: str
    current_version: int
    created_at: datetime
    updated_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version: `body` is the canonical JSON text exactly as stored, `digest` its SHA-256."""

    org_id: str
    document_id: str
    version: int
    body: str
    digest: str
    created_at: datetime

    def content(self) -> dict[str, JsonValue]:
        """Return the body parsed (strictly, refusing non-canonical text)."""
        value = parse_canonical_json(self.body.encode("utf-8"))
        if not isinstance(value, dict):
            raise LedgerIntegrityError("document_body", "a stored version is not a JSON object")
        return value


@dataclasses.dataclass(frozen=True, slots=True)
class StoredSignature:
    """One signature on a version, with the header fields it was stored under."""

    position: int
    kid: str
    party: str
    role: str
    signed_at: datetime
    entry: JwsSignature


def _document(row: DocumentRow) -> StoredDocument:
    return StoredDocument(row.org_id, row.id, row.kind, row.state, row.current_version,
                          row.created_at, row.updated_at)  # fmt: skip


def _version(row: DocumentVersionRow) -> StoredVersion:
    return StoredVersion(row.org_id, row.document_id, row.version, row.body, row.digest,
                         row.created_at)  # fmt: skip


def signature_columns(entry: JwsSignature) -> tuple[str, str, str, datetime, str]:
    """What a signature entry is stored under: kid, party, role and signing time from its
    protected header, and the entry as canonical JSON text (SignatureError if malformed)."""
    kid, party, role, signed_at = _header_fields(entry)
    text = canonical_text({"protected": entry["protected"], "signature": entry["signature"]})
    return kid, party, role, signed_at, text


def signature_of(row: Any) -> StoredSignature:
    """A stored signature row as a `StoredSignature` (LedgerIntegrityError if malformed)."""
    return stored_signature(
        row.document_id, row.version, row.position, row.kid, row.party, row.role,
        row.signed_at, row.entry,
    )  # fmt: skip


def stored_signature(
    document_id: str,
    version: int,
    position: int,
    kid: str,
    party: str,
    role: str,
    signed_at: datetime,
    entry_text: str,
) -> StoredSignature:
    """A signature's stored columns as a `StoredSignature` (LedgerIntegrityError if its entry
    is not a JWS signature entry)."""
    try:
        value = parse_json(entry_text.encode("utf-8"))
    except CanonicalJsonError as exc:
        value = exc.message
    if not (isinstance(value, dict) and set(value) == {"protected", "signature"}
            and all(isinstance(v, str) for v in value.values())):  # fmt: skip
        raise LedgerIntegrityError(
            "signature_entry",
            f"stored signature {position} of document {document_id!r} version {version} is "
            "not a JWS signature entry",
        )
    entry: JwsSignature = {
        "protected": str(value["protected"]),
        "signature": str(value["signature"]),
    }
    return StoredSignature(position, kid, party, role, signed_at, entry)


class DocumentRepository:
    """Documents of the caller's organisations; another organisation's is simply not found."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def create(
        self,
        org_id: str,
        document_id: str,
        *,
        kind: str,
        state: str,
        body: Mapping[str, Any],
        at: datetime,
    ) -> StoredVersion:
        """Store a new document owned by `org_id` with `body` as version 1; return the version.

        Raises InvalidRequestError for an unknown kind, ImmutableRecordError if the id exists,
        CanonicalJsonError for a body JSON cannot carry exactly.
        """
        if kind not in DOCUMENT_KINDS:
            raise InvalidRequestError(f"document kind {kind!r} is not one of {DOCUMENT_KINDS}")
        if self._session.get(DocumentRow, (org_id, document_id)) is not None:
            raise ImmutableRecordError(f"document {document_id!r} already exists")
        self._session.add(
            DocumentRow(
                org_id=org_id,
                id=document_id,
                kind=kind,
                state=state,
                current_version=1,
                created_at=at,
                updated_at=at,
            )
        )
        self._session.flush()
        return self._insert_version(org_id, document_id, 1, body, at)

    def add_version(
        self, document_id: str, body: Mapping[str, Any], *, at: datetime, org_ids: Collection[str]
    ) -> StoredVersion:
        """Store `body` as the document's next version and make it current; return it."""
        document = self._document_row(document_id, org_ids, lock=True)
        version = document.current_version + 1
        document.current_version = version
        document.updated_at = at
        return self._insert_version(document.org_id, document_id, version, body, at)

    def add_signatures(
        self,
        document_id: str,
        version: int,
        signatures: Sequence[JwsSignature],
        *,
        org_ids: Collection[str],
    ) -> list[StoredSignature]:
        """Append JWS signature entries (from `sign_version`/`add_signature`) to a version.

        Each entry's protected header gives kid, party, role and signing time. Raises
        SignatureError(malformed) for an entry that is not a Kervan signature entry.
        Cryptographic verification is the caller's (or `verify_version`'s) job.
        """
        row = self._version_row(document_id, version, org_ids, lock=True)
        start = self._signature_count(row.org_id, document_id, version)
        stored = []
        for offset, entry in enumerate(signatures):
            kid, party, role, signed_at = _header_fields(entry)
            sig_row = DocumentSignatureRow(
                org_id=row.org_id,
                document_id=document_id,
                version=version,
                position=start + offset,
                kid=kid,
                party=party,
                role=role,
                signed_at=signed_at,
                entry=canonical_text(
                    {"protected": entry["protected"], "signature": entry["signature"]}
                ),
            )
            self._session.add(sig_row)
            stored.append(sig_row)
        self._session.flush()
        return [signature_of(sig_row) for sig_row in stored]

    def set_state(
        self, document_id: str, state: str, *, at: datetime, org_ids: Collection[str]
    ) -> StoredDocument:
        """Record the document's new lifecycle state (the lifecycle decided it is allowed)."""
        row = self._document_row(document_id, org_ids, lock=True)
        row.state = state
        row.updated_at = at
        self._session.flush()
        return _document(row)

    def get(self, document_id: str, *, org_ids: Collection[str]) -> StoredDocument:
        """Return the document if one of the caller's organisations owns it; else NotFound."""
        return _document(self._document_row(document_id, org_ids))

    def get_version(
        self, document_id: str, version: int | None = None, *, org_ids: Collection[str]
    ) -> StoredVersion:
        """Return a version (default: the current one) of the caller's document."""
        if version is None:
            version = self._document_row(document_id, org_ids).current_version
        return _version(self._version_row(document_id, version, org_ids))

    def signatures(
        self, document_id: str, version: int, *, org_ids: Collection[str]
    ) -> list[StoredSignature]:
        """Return the version's signatures in JWS order."""
        row = self._version_row(document_id, version, org_ids)
        rows = self._session.scalars(
            select(DocumentSignatureRow)
            .where(
                DocumentSignatureRow.org_id == row.org_id,
                DocumentSignatureRow.document_id == document_id,
                DocumentSignatureRow.version == version,
            )
            .order_by(DocumentSignatureRow.position)
        )
        return [signature_of(sig) for sig in rows]

    def jws(self, document_id: str, version: int, *, org_ids: Collection[str]) -> GeneralJws:
        """Return the version as a JWS JSON General Serialization with its stored signatures."""
        stored = self.get_version(document_id, version, org_ids=org_ids)
        entries = [s.entry for s in self.signatures(document_id, version, org_ids=org_ids)]
        return {"payload": b64url_encode(stored.body.encode("utf-8")), "signatures": entries}

    def verify_version(
        self,
        document_id: str,
        version: int,
        trust_list: TrustList,
        *,
        org_ids: Collection[str],
    ) -> list[VerifiedSignature]:
        """Re-check a stored version from its stored bytes; return its verified signatures.

        Checks that the body is canonical JSON hashing to the stored digest, that every JWS
        signature verifies against `trust_list`, and that each signature row's kid, party, role
        and time are what its signed header says. Raises LedgerIntegrityError (body, digest,
        columns) or SignatureError (a signature) on the first thing that does not hold.
        """
        stored = self.get_version(document_id, version, org_ids=org_ids)
        where = f"document {document_id!r} version {version}"
        try:
            parse_canonical_json(stored.body.encode("utf-8"))
        except CanonicalJsonError as exc:
            raise LedgerIntegrityError("document_body", f"{where}: {exc.message}") from exc
        if sha256_hex(stored.body) != stored.digest:
            raise LedgerIntegrityError(
                "document_digest", f"{where}: the body does not hash to its stored digest"
            )
        rows = self.signatures(document_id, version, org_ids=org_ids)
        if [row.position for row in rows] != list(range(len(rows))):
            raise LedgerIntegrityError(
                "signature_positions", f"{where}: signature positions are not 0, 1, 2, ..."
            )
        if not rows:
            return []
        jws: GeneralJws = {
            "payload": b64url_encode(stored.body.encode("utf-8")),
            "signatures": [row.entry for row in rows],
        }
        verified = verify(jws, trust_list)
        for row, good in zip(rows, verified, strict=True):
            if (row.kid, row.party, row.role, row.signed_at) != (
                good.kid,
                good.party,
                good.role,
                good.signed_at,
            ):
                raise LedgerIntegrityError(
                    "signature_columns",
                    f"{where}: signature {row.position} is stored as kid {row.kid!r}, party "
                    f"{row.party!r}, role {row.role!r} at {row.signed_at.isoformat()} but was "
                    f"signed as kid {good.kid!r}, party {good.party!r}, role {good.role!r} at "
                    f"{good.signed_at.isoformat()}",
                )
        return verified

    def _insert_version(
        self, org_id: str, document_id: str, version: int, body: Mapping[str, Any], at: datetime
    ) -> StoredVersion:
        text = canonical_text(body)
        row = DocumentVersionRow(org_id=org_id, document_id=document_id, version=version,
                                 body=text, digest=sha256_hex(text), created_at=at)  # fmt: skip
        self._session.add(row)
        self._session.flush()
        return _version(row)

    def _document_row(
        self, document_id: str, org_ids: Collection[str], *, lock: bool = False
    ) -> DocumentRow:
        query = select(DocumentRow).where(
            DocumentRow.id == document_id, DocumentRow.org_id.in_(visible(org_ids))
        )
        if lock:
            query = query.with_for_update()
        row = self._session.scalars(query).one_or_none()
        if row is None:
            raise NotFoundError("document", document_id)
        return row

    def _version_row(
        self, document_id: str, version: int, org_ids: Collection[str], *, lock: bool = False
    ) -> DocumentVersionRow:
        query = select(DocumentVersionRow).where(
            DocumentVersionRow.document_id == document_id,
            DocumentVersionRow.version == version,
            DocumentVersionRow.org_id.in_(visible(org_ids)),
        )
        if lock:
            # Signing and revising a draft serialise on the version row.
            query = query.with_for_update()
        row = self._session.scalars(query).one_or_none()
        if row is None:
            raise NotFoundError("document version", f"{document_id} v{version}")
        return row

    def _signature_count(self, org_id: str, document_id: str, version: int) -> int:
        return (
            self._session.scalar(
                select(func.count()).where(
                    DocumentSignatureRow.org_id == org_id,
                    DocumentSignatureRow.document_id == document_id,
                    DocumentSignatureRow.version == version,
                )
            )
            or 0
        )


def _header_fields(entry: Mapping[str, Any]) -> tuple[str, str, str, datetime]:
    try:
        if set(entry) != {"protected", "signature"}:
            raise ValueError("a signature entry has exactly protected and signature")
        header = parse_json(b64url_decode(entry["protected"]))
        b64url_decode(entry["signature"])
        if not isinstance(header, dict):
            raise ValueError("the protected header is not a JSON object")
        kid, party, role, iat = (header.get(k) for k in ("kid", "party", "role", "iat"))
        if not (isinstance(kid, str) and isinstance(party, str) and isinstance(role, str)):
            raise ValueError("the protected header needs string kid, party and role")
        if isinstance(iat, bool) or not isinstance(iat, int) or iat < 0:
            raise ValueError("the protected header needs iat in whole Unix seconds")
    except (ValueError, TypeError, KeyError, CanonicalJsonError) as exc:
        raise SignatureError("malformed", f"cannot store signature entry: {exc}") from exc
    return kid, party, role, from_unix_seconds(iat)

"""The node's audit of its issued e-Permits: each permit row against what the ledger recorded.

An e-Permit document's version 2 carries the permit as issued (its wire fields and its QR, the
issuing authority's ES256 signature), and that version is in the ledger; a revocation is a
`revoke` event in the document's chain. So every stored permit must be the one a version 2
records, field for field, its QR must verify with the trust list, and it is stored as revoked
exactly when its document's chain records the revocation. A permit row edited (another plate,
a later expiry), deleted, swapped with another or un-revoked is named.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from kervan.documents.kinds import DocumentKind
from kervan.errors import KervanError
from kervan.ledger.audit import Finding
from kervan.signatures.jws import verify_compact
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories.audit import AuditedPermit, NodeRecords

_TABLE: Final = "permits"


def permit_findings(records: NodeRecords, trust: TrustList) -> Iterable[Finding]:
    """Findings about the stored permits (see the module's docstring)."""
    kinds = {document.id: document.kind for document in records.documents}
    recorded: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for version in records.versions:
        if kinds.get(version.document_id) != DocumentKind.EPERMIT or version.version != 2:
            continue
        wire = _wire_in(version.body)
        if wire is not None and isinstance(wire.get("permit_id"), str):
            recorded[wire["permit_id"]] = (version.document_id, wire)
    revoked = {
        stored.entry.document_id
        for stored in records.entries
        if stored.entry.event_type == "revoke"
    }
    stored = {permit.permit_id: permit for permit in records.permits}
    for permit_id in sorted(set(recorded) - set(stored)):
        document_id, _ = recorded[permit_id]
        yield Finding(_TABLE, permit_id, f"missing: version 2 of {document_id} records it")
    for permit in records.permits:
        yield from _one_permit(permit, recorded.get(permit.permit_id), revoked, trust)


def _one_permit(
    permit: AuditedPermit,
    recorded: tuple[str, Mapping[str, Any]] | None,
    revoked: set[str],
    trust: TrustList,
) -> Iterable[Finding]:
    row = permit.permit_id
    if permit.qr_code is not None:
        try:
            verify_compact(permit.qr_code, trust)
        except KervanError as exc:
            yield Finding(_TABLE, row, f"the QR does not verify: {exc.message}")
    if recorded is None:
        yield Finding(_TABLE, row, "no e-Permit document version in the ledger records it")
        return
    document_id, wire = recorded
    try:
        fields: Any = json.loads(permit.fields)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        yield Finding(_TABLE, row, "the stored fields are not a JSON object")
        return
    if permit.qr_code is not None:
        fields["qr_code"] = permit.qr_code
    differing = sorted(
        name for name in set(fields) | set(wire) if fields.get(name) != wire.get(name)
    )
    if differing:
        yield Finding(
            _TABLE,
            row,
            f"{', '.join(differing)} differ from what version 2 of {document_id} recorded",
        )
    if permit.revoked and document_id not in revoked:
        yield Finding(_TABLE, row, f"stored as revoked, but {document_id} records no revocation")
    if not permit.revoked and document_id in revoked:
        yield Finding(
            _TABLE, row, f"{document_id} records its revocation, but it is stored as valid"
        )


def _wire_in(body: str) -> Mapping[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None  # the version's own findings name a body that is not JSON
    content = value.get("content") if isinstance(value, dict) else None
    permit = content.get("permit") if isinstance(content, dict) else None
    return permit if isinstance(permit, dict) else None

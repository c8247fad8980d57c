"""e-Permit quotas, permits and usages, with sequence numbers that never pass the quota.

`issue_permit` takes the next sequence number with one statement,
``UPDATE permit_quotas SET used = used + 1 WHERE <quota> AND used < quantity RETURNING used``:
the database, not Python, decides who gets which number, so concurrent issuers can neither
share a number nor pass the quota (PostgreSQL re-checks the WHERE on the row it waited for;
SQLite runs one writer at a time). The increment and the permit insert share a savepoint, so a
permit that fails to be built or stored gives its number back: no gaps.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kervan.documents import epermit
from kervan.documents.epermit import (
    Permit,
    PermitRecord,
    PermitType,
    PermitUsage,
    Quota,
    UsageRule,
    next_permit_sequence,
    qr_claims,
)
from kervan.errors import (
    DocumentValidationError,
    ImmutableRecordError,
    NotFoundError,
    QuotaExhaustedError,
)
from kervan.signatures.jws import sign_compact
from kervan.signatures.keys import Signer
from kervan.store.repositories._common import canonical_text, visible
from kervan.store.tables import PermitQuotaRow, PermitRow, PermitUsageRow


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaKey:
    """Names one quota: the organisation holding it, issuer, issued-for, year and type."""

    org_id: str
    permit_issuer: str
    permit_issued_for: str
    permit_year: int
    permit_type: PermitType

    def label(self) -> str:
        """e.g. "TR->UZ 2025 type 1"."""
        return (
            f"{self.permit_issuer}->{self.permit_issued_for} {self.permit_year} "
            f"type {int(self.permit_type)}"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class StoredQuota:
    """A quota and how many of its permits have been issued."""

    org_id: str
    quota: Quota
    used: int

    @property
    def remaining(self) -> int:
        """Permits still to issue."""
        return self.quota.quantity - self.used


@dataclasses.dataclass(frozen=True, slots=True)
class IssuedPermit:
    """A permit an authority issued, and when it was revoked (None while it stands)."""

    permit: Permit
    revoked_at: datetime | None


def _quota(row: PermitQuotaRow) -> StoredQuota:
    quota = Quota(
        permit_issuer=row.permit_issuer,
        permit_issued_for=row.permit_issued_for,
        permit_year=row.permit_year,
        permit_type=PermitType(row.permit_type),
        quantity=row.quantity,
    )
    return StoredQuota(row.org_id, quota, row.used)


def _permit(row: PermitRow) -> Permit:
    fields: dict[str, Any] = json.loads(row.fields)
    if row.qr_code is not None:
        fields["qr_code"] = row.qr_code
    return Permit.model_validate(fields)


def _usage(row: PermitUsageRow) -> PermitUsage:
    return PermitUsage(
        permit_id=row.permit_id,
        control_authority=row.control_authority,
        activity_type=epermit.ActivityType(row.activity_type),
        activity_timestamp=row.activity_timestamp,
        activity_details=row.activity_details,
    )


class PermitRepository:
    """Quotas, permits and usages of the caller's organisations."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_quota(self, org_id: str, quota: Quota) -> StoredQuota:
        """Store a new quota held by `org_id` with nothing issued yet."""
        key = (org_id, quota.permit_issuer, quota.permit_issued_for, quota.permit_year,
               int(quota.permit_type))  # fmt: skip
        if self._session.get(PermitQuotaRow, key) is not None:
            raise ImmutableRecordError(
                f"quota {quota.permit_issuer}->{quota.permit_issued_for} {quota.permit_year} "
                f"type {int(quota.permit_type)} already exists"
            )
        row = PermitQuotaRow(
            org_id=org_id,
            permit_issuer=quota.permit_issuer,
            permit_issued_for=quota.permit_issued_for,
            permit_year=quota.permit_year,
            permit_type=int(quota.permit_type),
            quantity=quota.quantity,
            used=0,
        )
        self._session.add(row)
        self._session.flush()
        return _quota(row)

    def get_quota(self, key: QuotaKey, *, org_ids: Collection[str]) -> StoredQuota:
        """Return the quota if the caller's organisations hold it; else NotFoundError."""
        row = self._session.scalars(
            select(PermitQuotaRow).where(*_quota_filter(key, org_ids))
        ).one_or_none()
        if row is None:
            raise NotFoundError("permit quota", key.label())
        return _quota(row)

    def issue_permit(
        self,
        key: QuotaKey,
        *,
        org_ids: Collection[str],
        plate_number: str,
        company_name: str,
        company_id: str,
        issued_at: date,
        expires_at: date,
        at: datetime,
        plate_number2: str | None = None,
        departure_country: str | None = None,
        arrival_country: str | None = None,
        other_claims: dict[str, Any] | None = None,
        qr_signer: Signer | None = None,
    ) -> Permit:
        """Issue the quota's next permit (id ISSUER-ISSUEDFOR-YEAR-TYPE-SEQ) and store it.

        With `qr_signer` (the issuer's ES256 key) the permit carries its signed QR token.
        Raises QuotaExhaustedError past the quota, NotFoundError for a quota the caller does
        not hold, DocumentValidationError for haulier data the e-Permit rules refuse.
        """
        with self._session.begin_nested():
            claimed = self._session.execute(
                update(PermitQuotaRow)
                .where(*_quota_filter(key, org_ids), PermitQuotaRow.used < PermitQuotaRow.quantity)
                .values(used=PermitQuotaRow.used + 1)
                .returning(PermitQuotaRow.used, PermitQuotaRow.quantity)
                .execution_options(synchronize_session=False)
            ).one_or_none()
            if claimed is None:
                stored = self.get_quota(key, org_ids=org_ids)
                # The core says why there is no next number (the quota is used up).
                next_permit_sequence(stored.quota, stored.used)
                raise QuotaExhaustedError(
                    f"quota {key.label()} changed while issuing a permit; try again"
                )
            used, quantity = claimed
            quota = Quota(
                permit_issuer=key.permit_issuer,
                permit_issued_for=key.permit_issued_for,
                permit_year=key.permit_year,
                permit_type=key.permit_type,
                quantity=quantity,
            )
            try:
                permit = epermit.issue_permit(
                    quota,
                    used - 1,
                    plate_number=plate_number,
                    company_name=company_name,
                    company_id=company_id,
                    issued_at=issued_at,
                    expires_at=expires_at,
                    plate_number2=plate_number2,
                    departure_country=departure_country,
                    arrival_country=arrival_country,
                    other_claims=other_claims,
                )
            except ValidationError as exc:
                raise DocumentValidationError(f"cannot issue an e-Permit: {exc}") from exc
            if qr_signer is not None:
                token = sign_compact(qr_claims(permit), qr_signer)
                permit = permit.model_copy(update={"qr_code": token})
            fields = {k: v for k, v in permit.to_wire().items() if k != "qr_code"}
            self._session.add(
                PermitRow(
                    org_id=key.org_id,
                    permit_id=permit.permit_id,
                    permit_issuer=key.permit_issuer,
                    permit_issued_for=key.permit_issued_for,
                    permit_year=key.permit_year,
                    permit_type=int(key.permit_type),
                    sequence=used,
                    fields=canonical_text(fields),
                    qr_code=permit.qr_code,
                    created_at=at,
                    revoked_at=None,
                )
            )
        return permit

    def permits(self, key: QuotaKey, *, org_ids: Collection[str]) -> list[Permit]:
        """Return the quota's issued permits in sequence order."""
        rows = self._session.scalars(
            select(PermitRow)
            .where(
                PermitRow.org_id == key.org_id,
                PermitRow.org_id.in_(visible(org_ids)),
                PermitRow.permit_issuer == key.permit_issuer,
                PermitRow.permit_issued_for == key.permit_issued_for,
                PermitRow.permit_year == key.permit_year,
                PermitRow.permit_type == int(key.permit_type),
            )
            .order_by(PermitRow.sequence)
        )
        return [_permit(row) for row in rows]

    def get_permit(self, permit_id: str, *, org_ids: Collection[str]) -> PermitRecord:
        """Return the permit with its usages and revocation; NotFound unless the caller's."""
        return self._record(self._permit_row(permit_id, org_ids))

    def record_usage(
        self,
        permit_id: str,
        usage: PermitUsage,
        rule: UsageRule,
        *,
        at: datetime,
        org_ids: Collection[str],
    ) -> PermitRecord:
        """Record a usage the control authority's `rule` allows; return the updated record.

        The permit row is locked first so two usages at once are judged one after the other.
        Raises PermitUsageRefusedError, IllegalTransitionError or DocumentValidationError.
        """
        row = self._permit_row(permit_id, org_ids, lock=True)
        record = self._record(row)
        updated = record.record_usage(usage, rule)
        self._session.add(
            PermitUsageRow(
                org_id=row.org_id,
                permit_id=row.permit_id,
                position=len(updated.usages),
                control_authority=usage.control_authority,
                activity_type=usage.activity_type.value,
                activity_timestamp=usage.activity_timestamp,
                activity_details=usage.activity_details,
                recorded_at=at,
            )
        )
        self._session.flush()
        return updated

    def revoke_permit(
        self, permit_id: str, *, at: datetime, org_ids: Collection[str]
    ) -> PermitRecord:
        """Revoke an unused permit; IllegalTransitionError for a used or revoked one."""
        row = self._permit_row(permit_id, org_ids, lock=True)
        revoked = self._record(row).revoke(at)
        row.revoked_at = revoked.revoked_at
        self._session.flush()
        return revoked

    def quotas_of(self, org_id: str) -> list[StoredQuota]:
        """The quotas `org_id` holds, newest year first, then by partner country and type."""
        rows = self._session.scalars(
            select(PermitQuotaRow)
            .where(PermitQuotaRow.org_id == org_id)
            .order_by(
                PermitQuotaRow.permit_year.desc(),
                PermitQuotaRow.permit_issued_for,
                PermitQuotaRow.permit_type,
            )
        )
        return [_quota(row) for row in rows]

    def issued_by(self, org_id: str, limit: int) -> list[IssuedPermit]:
        """The latest `limit` permits `org_id` issued, newest first."""
        rows = self._session.scalars(
            select(PermitRow)
            .where(PermitRow.org_id == org_id)
            .order_by(PermitRow.created_at.desc())
            .limit(limit)
        )
        return [IssuedPermit(_permit(row), row.revoked_at) for row in rows]

    def qr_revocation(self, permit_id: str, qr_code: str) -> tuple[datetime, str | None] | None:
        """When (and why, when known) the permit this exact QR code was issued with was
        revoked; None while it stands or when this node holds no such permit (it cannot say)."""
        rows = self._session.scalars(
            select(PermitRow).where(PermitRow.permit_id == permit_id, PermitRow.qr_code == qr_code)
        ).all()
        for row in rows:
            if row.revoked_at is not None:
                return row.revoked_at, row.revoke_reason
        return None

    def _permit_row(
        self, permit_id: str, org_ids: Collection[str], *, lock: bool = False
    ) -> PermitRow:
        query = (
            select(PermitRow)
            .where(PermitRow.permit_id == permit_id, PermitRow.org_id.in_(visible(org_ids)))
            .order_by(PermitRow.org_id)
        )
        if lock:
            query = query.with_for_update()
        row = self._session.scalars(query).first()
        if row is None:
            raise NotFoundError("permit", permit_id)
        return row

    def _record(self, row: PermitRow) -> PermitRecord:
        usages = self._session.scalars(
            select(PermitUsageRow)
            .where(PermitUsageRow.org_id == row.org_id, PermitUsageRow.permit_id == row.permit_id)
            .order_by(PermitUsageRow.position)
        )
        return PermitRecord(
            permit=_permit(row),
            usages=tuple(_usage(usage) for usage in usages),
            revoked_at=row.revoked_at,
        )


def _quota_filter(key: QuotaKey, org_ids: Collection[str]) -> list[Any]:
    return [
        PermitQuotaRow.org_id == key.org_id,
        PermitQuotaRow.org_id.in_(visible(org_ids)),
        PermitQuotaRow.permit_issuer == key.permit_issuer,
        PermitQuotaRow.permit_issued_for == key.permit_issued_for,
        PermitQuotaRow.permit_year == key.permit_year,
        PermitQuotaRow.permit_type == int(key.permit_type),
    ]

"""A permit authority's e-Permit network records: its partners, the delivery state of the events
it produced for them (retries, dead letters), the last event each way, its revocation list and
the figures of its quota reconciliation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kervan.errors import ImmutableRecordError, NotFoundError
from kervan.store.tables import PermitQuotaRow, PermitRow, PermitUsageRow
from kervan.store.tables.exchange import (
    EpermitPartnerRow,
    EpermitPeerChainRow,
    EpermitPeerEventRow,
)


@dataclasses.dataclass(frozen=True, slots=True)
class Partner:
    """A partner authority: code, name, base URL and public JWKs."""

    code: str
    name: str
    url: str
    keys: tuple[dict[str, Any], ...]
    added_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class OutgoingRow:
    """An event produced for a partner, as stored, with its delivery state."""

    consumer: str
    event_id: str
    event_type: str
    previous_event_id: str
    body: str
    proof: str
    recorded_at: datetime
    sent_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    error_code: str | None
    error_message: str | None
    dead_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class LastEvent:
    """The latest event one way between this authority and a partner."""

    event_type: str
    event_id: str
    at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class RevokedPermit:
    """A revoked permit as the revocation list names it."""

    permit_id: str
    permit_issuer: str
    revoked_at: datetime
    reason: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaFigures:
    """One quota (issuer, issued_for, year, type) with what this node counts against it."""

    permit_issuer: str
    permit_issued_for: str
    permit_year: int
    permit_type: int
    granted: int
    issued: int
    revoked: int
    used: int


def _partner(row: EpermitPartnerRow) -> Partner:
    return Partner(row.code, row.name, row.url, tuple(json.loads(row.keys)), row.added_at)


def _outgoing(row: EpermitPeerEventRow) -> OutgoingRow:
    return OutgoingRow(
        row.event_consumer,
        row.event_id,
        row.event_type,
        row.previous_event_id,
        row.body,
        row.proof,
        row.recorded_at,
        row.sent_at,
        row.attempts,
        row.next_attempt_at,
        row.error_code,
        row.error_message,
        row.dead_at,
    )


class EpermitNetworkRepository:
    """The e-Permit network records of one node's permit authorities."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- partners --------------------------------------------------------------------------------

    def add_partner(self, org_id: str, partner: Partner) -> Partner:
        """Store a new partner of `org_id`; ImmutableRecordError when its code is taken."""
        if self._session.get(EpermitPartnerRow, (org_id, partner.code)) is not None:
            raise ImmutableRecordError(f"partner {partner.code} is configured already")
        self._session.add(
            EpermitPartnerRow(
                org_id=org_id,
                code=partner.code,
                name=partner.name,
                url=partner.url,
                keys=json.dumps(list(partner.keys), sort_keys=True),
                added_at=partner.added_at,
            )
        )
        self._session.flush()
        return partner

    def remove_partner(self, org_id: str, code: str) -> None:
        """Forget partner `code` (its stored events stay); NotFoundError if not configured."""
        row = self._session.get(EpermitPartnerRow, (org_id, code))
        if row is None:
            raise NotFoundError("e-Permit partner", code)
        self._session.delete(row)
        self._session.flush()

    def partners(self, org_id: str) -> list[Partner]:
        """The partners of `org_id` by code."""
        rows = self._session.scalars(
            select(EpermitPartnerRow)
            .where(EpermitPartnerRow.org_id == org_id)
            .order_by(EpermitPartnerRow.code)
        )
        return [_partner(row) for row in rows]

    def partner_keys(self) -> list[tuple[str, dict[str, Any]]]:
        """Every partner key configured on this node, as (partner code, JWK), once per kid."""
        seen: dict[str, tuple[str, dict[str, Any]]] = {}
        for row in self._session.scalars(
            select(EpermitPartnerRow).order_by(EpermitPartnerRow.code)
        ):
            for jwk in json.loads(row.keys):
                seen.setdefault(str(jwk.get("kid")), (row.code, jwk))
        return list(seen.values())

    # -- delivery --------------------------------------------------------------------------------

    def undelivered(self, org_id: str, producer: str) -> list[OutgoingRow]:
        """Events `producer` made for its partners, neither delivered nor dead, oldest first."""
        rows = self._session.scalars(
            select(EpermitPeerEventRow)
            .where(
                EpermitPeerEventRow.org_id == org_id,
                EpermitPeerEventRow.event_producer == producer,
                EpermitPeerEventRow.direction == "out",
                EpermitPeerEventRow.sent_at.is_(None),
                EpermitPeerEventRow.dead_at.is_(None),
            )
            .order_by(EpermitPeerEventRow.recorded_at, EpermitPeerEventRow.event_timestamp)
        )
        return [_outgoing(row) for row in rows]

    def _event(
        self, org_id: str, producer: str, consumer: str, event_id: str
    ) -> EpermitPeerEventRow:
        row = self._session.get(EpermitPeerEventRow, (org_id, producer, consumer, event_id))
        if row is None:
            raise NotFoundError("e-Permit event", event_id)
        return row

    def rechain(
        self,
        org_id: str,
        producer: str,
        consumer: str,
        event_id: str,
        *,
        previous_event_id: str,
        body: str,
        proof: str,
    ) -> None:
        """Store an event chained anew (after its old previous event was refused)."""
        row = self._event(org_id, producer, consumer, event_id)
        row.previous_event_id, row.body, row.proof = previous_event_id, body, proof
        self._session.flush()

    def delivered(
        self, org_id: str, producer: str, consumer: str, event_id: str, at: datetime
    ) -> None:
        """Mark an event accepted by its partner; the partner's chain head moves to it."""
        row = self._event(org_id, producer, consumer, event_id)
        row.sent_at = at
        row.attempts += 1
        row.next_attempt_at = None
        head = self._session.get(EpermitPeerChainRow, (org_id, producer, consumer))
        if head is not None:
            head.accepted_event_id = event_id
        self._session.flush()

    def try_later(
        self,
        org_id: str,
        producer: str,
        consumer: str,
        event_id: str,
        *,
        at: datetime,
        code: str,
        message: str,
    ) -> int:
        """Count a failed attempt, to be tried again from `at`; return the attempts so far."""
        row = self._event(org_id, producer, consumer, event_id)
        row.attempts += 1
        row.next_attempt_at = at
        row.error_code, row.error_message = code, message[:2000]
        self._session.flush()
        return row.attempts

    def dead_letter(
        self,
        org_id: str,
        producer: str,
        consumer: str,
        event_id: str,
        *,
        at: datetime,
        code: str,
        message: str,
    ) -> None:
        """Set an event the partner refused aside, with the partner's error code."""
        row = self._event(org_id, producer, consumer, event_id)
        row.attempts += 1
        row.dead_at, row.next_attempt_at = at, None
        row.error_code, row.error_message = code, message[:2000]
        self._session.flush()

    def mark_resent(
        self, org_id: str, producer: str, consumer: str, event_id: str, resent_as: str
    ) -> None:
        """Note on a dead letter the event that carries its content again."""
        row = self._event(org_id, producer, consumer, event_id)
        row.error_message = f"{row.error_message or ''} (resent as {resent_as})"
        self._session.flush()

    def accepted_head(self, org_id: str, producer: str, consumer: str) -> str | None:
        """The last event of `producer`'s chain to `consumer` the partner accepted."""
        head = self._session.get(EpermitPeerChainRow, (org_id, producer, consumer))
        return None if head is None else head.accepted_event_id

    def dead_letters(self, org_id: str) -> list[OutgoingRow]:
        """Events partners refused, newest first."""
        rows = self._session.scalars(
            select(EpermitPeerEventRow)
            .where(
                EpermitPeerEventRow.org_id == org_id,
                EpermitPeerEventRow.direction == "out",
                EpermitPeerEventRow.dead_at.is_not(None),
            )
            .order_by(EpermitPeerEventRow.dead_at.desc())
        )
        return [_outgoing(row) for row in rows]

    def outgoing(self, org_id: str, producer: str, consumer: str, event_id: str) -> OutgoingRow:
        """One produced event; NotFoundError when there is none."""
        return _outgoing(self._event(org_id, producer, consumer, event_id))

    def last_event(
        self, org_id: str, producer: str, consumer: str, *, delivered: bool
    ) -> LastEvent | None:
        """The latest event of `producer`->`consumer` (outgoing: the latest delivered one when
        `delivered`, else the latest waiting)."""
        query = select(EpermitPeerEventRow).where(
            EpermitPeerEventRow.org_id == org_id,
            EpermitPeerEventRow.event_producer == producer,
            EpermitPeerEventRow.event_consumer == consumer,
        )
        if delivered:
            query = query.where(
                (EpermitPeerEventRow.direction == "in") | EpermitPeerEventRow.sent_at.is_not(None)
            )
        else:
            query = query.where(
                EpermitPeerEventRow.sent_at.is_(None), EpermitPeerEventRow.dead_at.is_(None)
            )
        row = self._session.scalars(
            query.order_by(EpermitPeerEventRow.recorded_at.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return LastEvent(row.event_type, row.event_id, row.sent_at or row.recorded_at)

    # -- what the authority knows of permits ------------------------------------------------

    def revoked_permits(self, org_id: str) -> list[RevokedPermit]:
        """Every revoked permit `org_id` holds (its own and its partners'), newest first."""
        rows = self._session.scalars(
            select(PermitRow)
            .where(PermitRow.org_id == org_id, PermitRow.revoked_at.is_not(None))
            .order_by(PermitRow.revoked_at.desc(), PermitRow.permit_id)
        )
        return [
            RevokedPermit(row.permit_id, row.permit_issuer, row.revoked_at, row.revoke_reason)
            for row in rows
            if row.revoked_at is not None
        ]

    def set_revoke_reason(self, org_id: str, permit_id: str, reason: str) -> None:
        """Remember why a revoked permit was revoked."""
        row = self._session.get(PermitRow, (org_id, permit_id))
        if row is None:
            raise NotFoundError("permit", permit_id)
        row.revoke_reason = reason
        self._session.flush()

    def quota_figures(self, org_id: str) -> list[QuotaFigures]:
        """Per quota `org_id` holds: granted, permits issued (and revoked) against it, permits
        with at least one recorded use."""
        key = (
            PermitRow.permit_issuer,
            PermitRow.permit_issued_for,
            PermitRow.permit_year,
            PermitRow.permit_type,
        )
        issued = {
            tuple(row[:4]): (int(row[4]), int(row[5]))
            for row in self._session.execute(
                select(
                    *key,
                    func.count(),
                    func.count(PermitRow.revoked_at),  # counts the non-null ones
                )
                .where(PermitRow.org_id == org_id)
                .group_by(*key)
            )
        }
        used_ids = (
            select(PermitUsageRow.permit_id)
            .where(PermitUsageRow.org_id == org_id)
            .distinct()
            .subquery()
        )
        used = {
            tuple(row[:4]): int(row[4])
            for row in self._session.execute(
                select(*key, func.count())
                .where(PermitRow.org_id == org_id, PermitRow.permit_id.in_(select(used_ids)))
                .group_by(*key)
            )
        }
        quotas = self._session.scalars(
            select(PermitQuotaRow)
            .where(PermitQuotaRow.org_id == org_id)
            .order_by(
                PermitQuotaRow.permit_year.desc(),
                PermitQuotaRow.permit_issuer,
                PermitQuotaRow.permit_issued_for,
                PermitQuotaRow.permit_type,
            )
        )
        out: list[QuotaFigures] = []
        for quota in quotas:
            name: Sequence[object] = (
                quota.permit_issuer,
                quota.permit_issued_for,
                quota.permit_year,
                quota.permit_type,
            )
            count, revoked = issued.get(tuple(name), (0, 0))
            out.append(
                QuotaFigures(
                    quota.permit_issuer,
                    quota.permit_issued_for,
                    quota.permit_year,
                    quota.permit_type,
                    quota.quantity,
                    count,
                    revoked,
                    used.get(tuple(name), 0),
                )
            )
        return out

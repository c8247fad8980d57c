"""What a permit authority sees of its e-Permit network: per partner the last event each way,
what waits and the dead letters; and the quota reconciliation per partner, type and year
(granted vs issued vs used, with the drift between them and the partner)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from kervan.services.access import Who, identify
from kervan.services.epermit_network import AuthorityRef, acting_for, known_authority
from kervan.store.repositories.epermit_network import LastEvent, OutgoingRow

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork


class EventLine(BaseModel):
    event_type: str
    event_id: str
    at: datetime


class DeadLetterLine(BaseModel):
    """An event a partner refused: what to look at before sending it again."""

    partner: str
    event_type: str
    event_id: str
    error_code: str
    message: str
    dead_at: datetime
    attempts: int


class PartnerSync(BaseModel):
    """One partner: the last event each way, how many of ours wait, the last delivery error."""

    code: str
    name: str
    url: str
    last_sent: EventLine | None
    last_received: EventLine | None
    waiting: int
    waiting_since: datetime | None
    last_error: str | None
    dead_letters: int


class QuotaLine(BaseModel):
    """One quota in the reconciliation. `role` says which side this authority is: `issuer`
    (a partner granted us the quota, we issue to our hauliers) or `quota authority` (we
    granted it, the partner issues). `drift` names every figure that does not add up."""

    partner: str
    role: str
    permit_year: int
    permit_type: int
    granted: int
    issued: int
    revoked: int
    used: int
    not_delivered: int
    drift: list[str]


class NetworkView(BaseModel):
    """The partner-sync view and the quota reconciliation of one authority."""

    code: str
    partners: list[PartnerSync]
    dead_letters: list[DeadLetterLine]
    quotas: list[QuotaLine]


def _line(event: LastEvent | None) -> EventLine | None:
    if event is None:
        return None
    return EventLine(event_type=event.event_type, event_id=event.event_id, at=event.at)


def _dead(row: OutgoingRow) -> DeadLetterLine:
    assert row.dead_at is not None
    return DeadLetterLine(
        partner=row.consumer,
        event_type=row.event_type,
        event_id=row.event_id,
        error_code=row.error_code or "",
        message=row.error_message or "",
        dead_at=row.dead_at,
        attempts=row.attempts,
    )


def dead_letters(uow: UnitOfWork, caller: Who, command: AuthorityRef) -> list[DeadLetterLine]:
    """Events the authority's partners refused, newest first. Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        org_id = command.org_id or who.org_id
        acting_for(who, org_id)
        known_authority(uow, org_id)
        return [_dead(row) for row in uow.epermit_network.dead_letters(org_id)]


def network_view(uow: UnitOfWork, caller: Who, command: AuthorityRef) -> NetworkView:
    """The authority's partners with the last event each way, waiting events and dead letters,
    and its quota reconciliation. Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        org_id = command.org_id or who.org_id
        acting_for(who, org_id)
        code = known_authority(uow, org_id)
        repository = uow.epermit_network
        undelivered = repository.undelivered(org_id, code)
        letters = repository.dead_letters(org_id)
        partners = []
        for partner in repository.partners(org_id):
            mine = [row for row in undelivered if row.consumer == partner.code]
            partners.append(
                PartnerSync(
                    code=partner.code,
                    name=partner.name,
                    url=partner.url,
                    last_sent=_line(
                        repository.last_event(org_id, code, partner.code, delivered=True)
                    ),
                    last_received=_line(
                        repository.last_event(org_id, partner.code, code, delivered=True)
                    ),
                    waiting=len(mine),
                    waiting_since=mine[0].recorded_at if mine else None,
                    last_error=next(
                        (f"{r.error_code}: {r.error_message}" for r in mine if r.error_code),
                        None,
                    ),
                    dead_letters=sum(1 for r in letters if r.consumer == partner.code),
                )
            )
        pending_permits: dict[str, int] = {}
        for row in [*undelivered, *letters]:
            if row.event_type == "PERMIT_CREATED":
                pending_permits[row.consumer] = pending_permits.get(row.consumer, 0) + 1
        quotas = []
        for figures in repository.quota_figures(org_id):
            ours = figures.permit_issuer == code
            partner_code = figures.permit_issued_for if ours else figures.permit_issuer
            not_delivered = pending_permits.get(partner_code, 0) if ours else 0
            drift = []
            if figures.issued > figures.granted:
                drift.append(f"{figures.issued - figures.granted} issued beyond the quota")
            if figures.used > figures.issued:
                drift.append("uses recorded for permits not issued")
            if not_delivered:
                drift.append(f"{not_delivered} issued permits not yet accepted by {partner_code}")
            quotas.append(
                QuotaLine(
                    partner=partner_code,
                    role="issuer" if ours else "quota authority",
                    permit_year=figures.permit_year,
                    permit_type=figures.permit_type,
                    granted=figures.granted,
                    issued=figures.issued,
                    revoked=figures.revoked,
                    used=figures.used,
                    not_delivered=not_delivered,
                    drift=drift,
                )
            )
        return NetworkView(
            code=code, partners=partners, dead_letters=[_dead(r) for r in letters], quotas=quotas
        )

"""A permit authority's border node: issues e-Permits on request from its quotas and keeps the
usages the control authorities report.

A trade node asks for a shipment's permit (PERMIT_EVENT "requested"); this node issues the next
permit of the matching quota (`documents.epermit.issue_permit`: past the quota it refuses),
signs its QR code with the authority's ES256 key (whose party is the issuing country, as the
e-Permit specification names issuers) and answers "issued" with the permit in wire form. A
customs node that checked the permit at its border reports each ENTRANCE and EXIT ("used"); the
usage is added to the permit record under that control authority's usage rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kervan.customs.permits import usage_rule
from kervan.customs.rules import load_rules
from kervan.documents.epermit import (
    PermitRecord,
    PermitType,
    PermitUsage,
    Quota,
    format_permit_id,
    issue_permit,
    qr_claims,
)
from kervan.documents.kinds import DocumentKind
from kervan.errors import DocumentValidationError, NotFoundError
from kervan.exchange.channels import Clock, utc_now
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.services.border_node import (
    BorderService,
    Directory,
    as_json,
    permit_of,
    permits_of,
    read,
    save_permit,
    text,
)
from kervan.signatures.canonical import JsonValue
from kervan.signatures.jws import sign_compact
from kervan.signatures.keys import Signer
from kervan.store.tables.border import BorderPermitRow


class PermitAuthorityService(BorderService):
    """The border node of one country's permit authority (see the module docstring)."""

    def __init__(
        self,
        country: str,
        *,
        directory: Directory,
        signer: Signer,
        qr_signer: Signer,
        quotas: Sequence[Quota],
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(directory.permits_of(country), signer)
        if qr_signer.party != country or qr_signer.alg != "ES256":
            raise ValueError(f"{country}'s permit QR codes are signed with its ES256 key")
        if any(q.permit_issuer != country for q in quotas):
            raise ValueError(f"{self.authority} issues only from {country}'s quotas")
        self.country = country
        self._qr_signer = qr_signer
        self.quotas = tuple(quotas)
        self.clock = clock

    def handle(self, session: Session, message: CrossBorderMessage) -> None:
        """Issue on "requested", record on "used"; refuse anything else."""
        event = message.payload.get("event") if message.type is MessageType.PERMIT_EVENT else None
        if event == "requested":
            self._issue(session, message)
        elif event == "used":
            self._record_usage(session, message)
        else:
            self.refuse(message)

    def permits(self, session: Session) -> list[PermitRecord]:
        """Every permit this authority issued, with the usages reported so far."""
        return permits_of(session, self.authority)

    def _issue(self, session: Session, message: CrossBorderMessage) -> None:
        payload = message.payload
        kind = PermitType(_whole(payload.get("permit_type"), "permit_type"))
        issued_for = text(message, "issued_for")
        year = _whole(payload.get("year"), "year")
        quota = next(
            (
                q
                for q in self.quotas
                if (q.permit_issued_for, q.permit_year, q.permit_type) == (issued_for, year, kind)
            ),
            None,
        )
        if quota is None:
            raise NotFoundError("permit quota", f"{self.country}->{issued_for} {year} type {kind}")
        prefix = format_permit_id(self.country, issued_for, year, kind, 1)[:-1]
        used = session.scalar(
            select(func.count())
            .select_from(BorderPermitRow)
            .where(
                BorderPermitRow.org_id == self.authority,
                BorderPermitRow.role == "issued",
                BorderPermitRow.permit_id.startswith(prefix, autoescape=True),
            )
        )
        issued_at = date.fromisoformat(text(message, "issued_at"))
        permit = issue_permit(
            quota,
            int(used or 0),
            plate_number=text(message, "plate_number"),
            company_name=text(message, "company_name"),
            company_id=text(message, "company_id"),
            issued_at=issued_at,
            expires_at=issued_at + timedelta(days=_whole(payload.get("valid_days"), "valid_days")),
            departure_country=text(message, "departure_country"),
            arrival_country=text(message, "arrival_country"),
        )
        permit = permit.model_copy(
            update={"qr_code": sign_compact(qr_claims(permit), self._qr_signer)}
        )
        shipment = text(message, "shipment")
        save_permit(
            session, self.authority, shipment, "issued", PermitRecord(permit=permit), self.clock()
        )
        answer: dict[str, JsonValue] = {
            "event": "issued",
            "shipment": shipment,
            "request_id": text(message, "request_id"),
            "permit": as_json(permit),
        }
        self.send(session, message.sender, MessageType.PERMIT_EVENT, answer)

    def _record_usage(self, session: Session, message: CrossBorderMessage) -> None:
        usage = read(message, "usage", PermitUsage)
        record = permit_of(session, self.authority, usage.permit_id)
        if record is None:
            raise NotFoundError(DocumentKind.EPERMIT, usage.permit_id)
        rule = usage_rule(load_rules(usage.control_authority).permits)
        record = record.record_usage(usage, rule)
        save_permit(
            session, self.authority, text(message, "shipment"), "issued", record, self.clock()
        )


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DocumentValidationError(f"payload member {name!r} must be a whole number")
    return value

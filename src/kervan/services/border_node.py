"""The Simplified Customs Corridor across national nodes: what every border node shares.

One Kervan node per authority (trade, customs of each country, permit authority of each
country), each with its own store and key, exchanging signed messages over the broker
(`kervan.exchange.node.Node`, passed in). The messages and their payloads:

- PRE_ARRIVAL, trade -> customs of every country on the route, when the cargo is taken over:
  {"shipment", "declaration": DeclarationVersion}; an amendment is the next version.
- CONTROL_RESULT, customs -> customs of the countries still ahead and the trade node, at
  release: {"shipment", "control": ControlResult}.
- TIR_OPERATION, trade -> customs of departure (submitted); customs -> customs ahead and trade
  (accepted, started, discharged): {"shipment", "act", "country", "transport": TirTransport}.
- PERMIT_EVENT, trade -> permit authority (requested), permit authority -> trade (issued),
  customs -> issuing permit authority (used): {"event", "shipment", ...}.
- BORDER_CROSSING, customs -> trade at each step: {"shipment", "crossing": CrossingReport}.

Each node applies what it receives in its inbox transaction (exactly once) into its own tables
(`kervan.store.tables.border`) and answers every question from those tables only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn, Protocol, TypeVar, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.customs.crossing import BorderCrossingRecord, CrossingState
from kervan.customs.declaration import DeclarationVersion, PreArrivalDeclaration
from kervan.customs.recognition import ControlResult, InspectionResult
from kervan.customs.rules import Lane
from kervan.documents.epermit import PermitRecord
from kervan.documents.etir import TirTransport
from kervan.errors import CustomsRouteError, DocumentValidationError
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.signatures.canonical import JsonValue, canonical_json
from kervan.signatures.jws import sign_detached
from kervan.signatures.keys import Signer
from kervan.store.tables.border import (
    BorderControlRow,
    BorderCrossingRow,
    BorderDeclarationRow,
    BorderPermitRow,
    BorderTirRow,
)

Model = TypeVar("Model", bound=BaseModel)


class Sender(Protocol):
    """What a border service needs of its exchange node: put a signed message in the outbox
    of the caller's transaction (`kervan.exchange.node.Node.send`)."""

    def send(
        self,
        session: Session,
        receiver: str,
        message_type: MessageType,
        payload: Mapping[str, JsonValue],
    ) -> CrossBorderMessage: ...


@dataclass(frozen=True)
class Directory:
    """Which node answers for which country: its customs and its permit authority codes."""

    customs: Mapping[str, str]
    permits: Mapping[str, str]

    def customs_of(self, country: str) -> str:
        """The customs authority node of `country`; CustomsRouteError when there is none."""
        code = self.customs.get(country)
        if code is None:
            raise CustomsRouteError(
                f"no customs node of {country} in the corridor directory "
                f"(known: {', '.join(sorted(self.customs))})"
            )
        return code

    def permits_of(self, country: str) -> str:
        """The permit authority node of `country`; CustomsRouteError when there is none."""
        code = self.permits.get(country)
        if code is None:
            raise CustomsRouteError(
                f"no permit authority node of {country} in the corridor directory "
                f"(known: {', '.join(sorted(self.permits))})"
            )
        return code


class CrossingReport(BaseModel):
    """What a customs node tells the trade node about its crossing record (no risk scores)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipment: str
    country: str
    state: CrossingState
    lane: Lane
    entry_office: str
    arrival_office: str | None = None
    declaration_version: int
    arrived_at: AwareDatetime | None = None
    inspection: InspectionResult | None = None
    released_at: AwareDatetime | None = None
    exited_at: AwareDatetime | None = None
    recognised_control: str | None = None  # the country whose control was recognised

    @classmethod
    def of(cls, record: BorderCrossingRecord) -> CrossingReport:
        recognised = record.decision.recognised
        return cls(
            shipment=record.shipment,
            country=record.country,
            state=record.state,
            lane=record.decision.lane,
            entry_office=record.entry_office,
            arrival_office=record.arrival_office,
            declaration_version=record.declaration_version,
            arrived_at=record.arrived_at,
            inspection=record.physical_inspection.result if record.physical_inspection else None,
            released_at=record.released_at,
            exited_at=record.exited_at,
            recognised_control=recognised.country if recognised else None,
        )


class BorderService:
    """Base of the border services: the authority, its exchange node once bound, signing."""

    def __init__(self, authority: str, signer: Signer) -> None:
        if signer.party != authority:
            raise ValueError(f"{authority} signs with its own key, not {signer.party}'s")
        self.authority = authority
        self._signer = signer
        self._exchange: Sender | None = None

    def bind(self, exchange: Sender) -> None:
        """Give the service its exchange node (the node was built with `self.handle`)."""
        self._exchange = exchange

    def refuse(self, message: CrossBorderMessage) -> NoReturn:
        """Refuse a message this node takes no part in (the inbox records the refusal)."""
        raise DocumentValidationError(
            f"{self.authority} takes no {message.type.value} messages from {message.sender}"
        )

    def send(
        self, session: Session, receiver: str, kind: MessageType, payload: Mapping[str, JsonValue]
    ) -> None:
        """Send `payload` to `receiver` in `session`'s transaction."""
        if self._exchange is None:
            raise RuntimeError(f"{self.authority}'s border service is not bound to a node")
        self._exchange.send(session, receiver, kind, payload)

    def sign_ref(self, claims: Mapping[str, JsonValue]) -> str:
        """A detached JWS by this authority over the canonical JSON of `claims`."""
        return sign_detached(canonical_json(dict(claims)), self._signer)


# -- payloads ----------------------------------------------------------------------------------


def as_json(model: BaseModel) -> JsonValue:
    """A model as JSON values for a payload."""
    return cast(JsonValue, json.loads(model.model_dump_json()))


def read(message: CrossBorderMessage, name: str, model: type[Model]) -> Model:
    """Member `name` of the payload as `model`; DocumentValidationError (a refusal) if it is
    missing or invalid."""
    try:
        return model.model_validate(message.payload[name])
    except (KeyError, ValidationError) as exc:
        raise DocumentValidationError(
            f"{message.id}: payload member {name!r} is not a valid {model.__name__}: {exc}"
        ) from exc


def text(message: CrossBorderMessage, name: str) -> str:
    """Member `name` of the payload as a non-empty string (DocumentValidationError if not)."""
    value = message.payload.get(name)
    if not isinstance(value, str) or not value:
        raise DocumentValidationError(f"{message.id}: payload member {name!r} must be a string")
    return value


# -- the node's own tables ---------------------------------------------------------------------


def declaration_of(session: Session, org_id: str, shipment: str) -> PreArrivalDeclaration | None:
    """Every version of the shipment's declaration this node holds, or None."""
    rows = session.scalars(
        select(BorderDeclarationRow)
        .where(BorderDeclarationRow.org_id == org_id, BorderDeclarationRow.shipment_id == shipment)
        .order_by(BorderDeclarationRow.version)
    ).all()
    if not rows:
        return None
    versions = tuple(DeclarationVersion.model_validate_json(r.body) for r in rows)
    return PreArrivalDeclaration(versions=versions)


def lodged_by(session: Session, org_id: str, shipment: str) -> str:
    """The node that lodged the shipment's declaration (the trade node)."""
    sender = session.scalars(
        select(BorderDeclarationRow.lodged_by)
        .where(BorderDeclarationRow.org_id == org_id, BorderDeclarationRow.shipment_id == shipment)
        .order_by(BorderDeclarationRow.version)
    ).first()
    if sender is None:
        raise DocumentValidationError(f"{org_id} holds no declaration of {shipment}")
    return sender


def add_declaration_version(
    session: Session, org_id: str, version: DeclarationVersion, sender: str, at: datetime
) -> PreArrivalDeclaration:
    """Keep the next version of a declaration; out, the declaration with every version.

    A version that is not the next one (a gap or a repeat) is refused.
    """
    shipment = version.content.shipment
    held = declaration_of(session, org_id, shipment)
    expected = 1 if held is None else held.current.number + 1
    if version.number != expected:
        raise DocumentValidationError(
            f"declaration {shipment}: version {version.number} received, {expected} expected"
        )
    session.add(
        BorderDeclarationRow(
            org_id=org_id,
            shipment_id=shipment,
            version=version.number,
            lodged_by=sender,
            body=version.model_dump_json(),
            lodged_at=version.lodged_at,
            received_at=at,
        )
    )
    session.flush()
    versions = (held.versions if held is not None else ()) + (version,)
    return PreArrivalDeclaration(versions=versions)


def declarations(session: Session, org_id: str) -> dict[str, PreArrivalDeclaration]:
    """Every declaration this node holds, by shipment."""
    rows = session.scalars(
        select(BorderDeclarationRow)
        .where(BorderDeclarationRow.org_id == org_id)
        .order_by(BorderDeclarationRow.shipment_id, BorderDeclarationRow.version)
    ).all()
    grouped: dict[str, list[DeclarationVersion]] = {}
    for row in rows:
        grouped.setdefault(row.shipment_id, []).append(
            DeclarationVersion.model_validate_json(row.body)
        )
    return {s: PreArrivalDeclaration(versions=tuple(v)) for s, v in grouped.items()}


def add_control(
    session: Session, org_id: str, control: ControlResult, sender: str, at: datetime
) -> None:
    """Keep a control result; one per country and shipment (a second one is refused)."""
    if session.get(BorderControlRow, (org_id, control.shipment, control.country)) is not None:
        raise DocumentValidationError(
            f"{org_id} already holds {control.country}'s control of {control.shipment}"
        )
    session.add(
        BorderControlRow(
            org_id=org_id,
            shipment_id=control.shipment,
            country=control.country,
            sent_by=sender,
            body=control.model_dump_json(),
            controlled_at=control.at,
            received_at=at,
        )
    )
    session.flush()


def controls_of(session: Session, org_id: str, shipment: str) -> list[ControlResult]:
    """The control results this node holds for the shipment, oldest first."""
    rows = session.scalars(
        select(BorderControlRow)
        .where(BorderControlRow.org_id == org_id, BorderControlRow.shipment_id == shipment)
        .order_by(BorderControlRow.controlled_at)
    )
    return [ControlResult.model_validate_json(r.body) for r in rows]


def save_crossing(
    session: Session,
    org_id: str,
    shipment: str,
    country: str,
    state: CrossingState,
    entry_office: str,
    body: BaseModel,
    at: datetime,
) -> None:
    """Insert or replace the node's row of a shipment's crossing of `country`."""
    row = session.get(BorderCrossingRow, (org_id, shipment, country))
    if row is None:
        row = BorderCrossingRow(org_id=org_id, shipment_id=shipment, country=country)
        session.add(row)
    row.state = state.value
    row.entry_office = entry_office
    row.body = body.model_dump_json()
    row.updated_at = at
    session.flush()


def crossing_rows(
    session: Session, org_id: str, *, shipment: str | None = None, country: str | None = None
) -> list[BorderCrossingRow]:
    """The node's crossing rows, filtered by shipment and country."""
    query = select(BorderCrossingRow).where(BorderCrossingRow.org_id == org_id)
    if shipment is not None:
        query = query.where(BorderCrossingRow.shipment_id == shipment)
    if country is not None:
        query = query.where(BorderCrossingRow.country == country)
    return list(session.scalars(query.order_by(BorderCrossingRow.updated_at)))


def tir_progress(transport: TirTransport) -> int:
    """How many acts the transport records (a later copy always has more)."""
    acts = sum(
        1 for op in transport.operations for e in (op.started, op.terminated, op.discharged) if e
    )
    return len(transport.versions) + (transport.accepted is not None) + acts


def keep_tir(
    session: Session, org_id: str, shipment: str, transport: TirTransport, at: datetime
) -> bool:
    """Keep `transport` as this node's copy unless the copy it holds is as far or further;
    out, whether it was kept."""
    progress = tir_progress(transport)
    row = session.get(BorderTirRow, (org_id, shipment))
    if row is not None and row.progress >= progress:
        return False
    if row is None:
        row = BorderTirRow(org_id=org_id, shipment_id=shipment)
        session.add(row)
    row.tir_reference = transport.tir_reference
    row.state = transport.state.value
    row.progress = progress
    row.body = transport.model_dump_json()
    row.updated_at = at
    session.flush()
    return True


def tir_of(session: Session, org_id: str, shipment: str) -> TirTransport | None:
    """This node's copy of the shipment's TIR transport, or None."""
    row = session.get(BorderTirRow, (org_id, shipment))
    return None if row is None else TirTransport.model_validate_json(row.body)


def save_permit(
    session: Session, org_id: str, shipment: str, role: str, record: PermitRecord, at: datetime
) -> None:
    """Insert or replace this node's copy of a permit and its usages."""
    row = session.get(BorderPermitRow, (org_id, record.permit.permit_id))
    if row is None:
        row = BorderPermitRow(org_id=org_id, permit_id=record.permit.permit_id, role=role)
        session.add(row)
    row.shipment_id = shipment
    row.body = record.model_dump_json()
    row.updated_at = at
    session.flush()


def permit_of(session: Session, org_id: str, permit_id: str) -> PermitRecord | None:
    """This node's copy of a permit, or None."""
    row = session.get(BorderPermitRow, (org_id, permit_id))
    return None if row is None else PermitRecord.model_validate_json(row.body)


def permits_of(session: Session, org_id: str, shipment: str | None = None) -> list[PermitRecord]:
    """This node's permits (of one shipment), by permit id."""
    query = select(BorderPermitRow).where(BorderPermitRow.org_id == org_id)
    if shipment is not None:
        query = query.where(BorderPermitRow.shipment_id == shipment)
    rows = session.scalars(query.order_by(BorderPermitRow.permit_id))
    return [PermitRecord.model_validate_json(r.body) for r in rows]

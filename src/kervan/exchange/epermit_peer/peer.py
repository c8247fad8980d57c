"""An e-Permit authority run by Kervan, facing its partner authorities over the peer protocol.

`receive` applies the receiver rules in the order of the standard: the event must parse (400),
carry a proof (401), come from a known producer (AUTHORITY_NOT_FOUND) whose valid key signed the
exact serialisation (401), be addressed to this authority, be new (EVENT_ALREADY_EXISTS), extend
its producer->consumer chain (PREVIOUS_EVENT_NOTFOUND, GENESIS_EVENT_ALREADY_EXISTS), then pass
its own rules. Effects go to the store's permit tables of `org_id` in the caller's transaction
together with the event; key events change the partner keys only after that commit
(`Accepted.after_commit`). `produce` numbers, serialises, signs and stores an outgoing event
for the client to deliver.

Two error codes are Kervan's, as the standard names none for these cases:
EVENT_CONSUMER_MISMATCH (the event is addressed to another authority) and
EVENT_PRODUCER_MISMATCH (a quota, permit or key event produced by the wrong side); and
KEY_NOTFOUND for the revocation of a key the partner never announced.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.epermit import Permit, PermitType, Quota, parse_permit_id
from kervan.errors import (
    DocumentValidationError,
    EpermitPeerError,
    SignatureError,
    TrustListError,
)
from kervan.exchange.channels import Clock, utc_now
from kervan.exchange.epermit_peer.wire import (
    Common,
    EventBody,
    EventType,
    KeyCreated,
    KeyRevoked,
    PermitCreated,
    PermitRevoked,
    PermitUsed,
    QuotaCreated,
    event_type_of,
    parse_event,
    serialise,
)
from kervan.signatures.encoding import b64url_decode, from_unix_seconds, unix_seconds
from kervan.signatures.jws import sign_detached, verify_compact, verify_detached
from kervan.signatures.keys import ES256, Signer, public_key_from_jwk
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories._common import canonical_text
from kervan.store.tables import PermitQuotaRow, PermitRow, PermitUsageRow
from kervan.store.tables.exchange import EpermitPeerChainRow, EpermitPeerEventRow

GENESIS: Final = "0"
_WIRE_DATE: Final = "%d/%m/%Y"


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """An event the receiver took; run `after_commit` once the transaction committed."""

    event_id: str
    event_type: EventType
    after_commit: Callable[[], None] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """A produced event: where it goes, the exact bytes and the detached proof."""

    consumer: str
    event_type: EventType
    event_id: str
    body: bytes
    proof: str


class EpermitPeer:
    """This node's e-Permit authority `code` (e.g. "TR"), its records under `org_id`.

    `signer` is its ES256 key; `trust` holds its own and its partners' public keys (party = the
    authority code); `partners` are the authority codes it exchanges with.
    """

    def __init__(
        self,
        code: str,
        *,
        name: str,
        org_id: str,
        signer: Signer,
        trust: TrustList,
        partners: Mapping[str, str],
        version: str = "1.0.0",
        clock: Clock = utc_now,
    ) -> None:
        if signer.alg != ES256 or signer.party != code:
            raise ValueError(f"the e-Permit authority {code} signs with its own ES256 key")
        self.code = code
        self.name = name
        self.org_id = org_id
        self.signer = signer
        self.trust = trust
        self.partners = dict(partners)
        self.version = version
        self._clock = clock

    def now(self) -> datetime:
        """The authority's clock."""
        return self._clock()

    # -- what the authority publishes ----------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """GET /: code, name, version and the authority's valid public keys (EC P-256 JWKs)."""
        keys = [
            {**key.public_jwk, "kid": key.kid, "alg": key.alg, "use": "sig"}
            for key in self.trust.keys_of(self.code)
            if key.revoked_at is None
        ]
        return {"code": self.code, "name": self.name, "version": self.version, "keys": keys}

    def verify_qr(self, session: Session, qr: str) -> dict[str, Any]:
        """GET /verify/{qr}: check the QR's signature and return the permit it names."""
        try:
            token = verify_compact(qr, self.trust, now=self._clock())
        except SignatureError as exc:
            raise EpermitPeerError("INVALID_QRCODE", exc.message) from exc
        permit_id = token.claims.get("id")
        row = (
            session.get(PermitRow, (self.org_id, permit_id)) if isinstance(permit_id, str) else None
        )
        if row is None:
            raise EpermitPeerError("PERMIT_NOTFOUND", f"no permit {permit_id!r}")
        fields: dict[str, Any] = json.loads(row.fields)
        if row.qr_code is not None:
            fields["qr_code"] = row.qr_code
        return Permit.model_validate(fields).to_wire()

    # -- receiving -----------------------------------------------------------------------------

    def receive(
        self, session: Session, path: str, data: bytes, authorization: str | None
    ) -> Accepted:
        """Judge and apply an event POSTed to /events/`path` with its Authorization header.

        Raises EpermitPeerError with the standard's code and HTTP status (see the module).
        """
        try:
            kind = EventType.from_path(path)
        except ValueError as exc:
            raise EpermitPeerError("EVENT_NOTFOUND", f"no event type {path!r}", status=404) from exc
        body, common = parse_event(kind, data)
        proof = _bearer(authorization)
        producer = common.event_producer
        if producer not in self.partners or not self.trust.keys_of(producer):
            raise EpermitPeerError("AUTHORITY_NOT_FOUND", f"{producer} is not a known authority")
        self._check_proof(proof, serialise(body, common), common)
        if common.event_consumer != self.code:
            raise EpermitPeerError(
                "EVENT_CONSUMER_MISMATCH", f"addressed to {common.event_consumer}, not {self.code}"
            )
        self._check_chain(session, common)
        after = self._apply(session, body, common)
        session.add(
            EpermitPeerEventRow(
                org_id=self.org_id,
                event_producer=producer,
                event_consumer=common.event_consumer,
                event_id=common.event_id,
                direction="in",
                event_type=kind.value,
                previous_event_id=common.previous_event_id,
                event_timestamp=common.event_timestamp,
                body=serialise(body, common).decode("utf-8"),
                proof=proof,
                recorded_at=self._clock(),
                sent_at=None,
            )
        )
        self._move_head(session, producer, common.event_consumer, common.event_id)
        session.flush()
        return Accepted(common.event_id, kind, after)

    def _check_proof(self, proof: str, data: bytes, common: Common) -> None:
        header = proof.split(".", maxsplit=1)[0]
        try:
            kid = json.loads(b64url_decode(header)).get("kid")
        except (ValueError, AttributeError) as exc:
            raise EpermitPeerError("INVALID_PROOF", "malformed proof header", status=401) from exc
        if not isinstance(kid, str) or kid not in self.trust:
            raise EpermitPeerError("INVALID_PROOF", f"unknown key id {kid!r}", status=401)
        if self.trust.get(kid).party != common.event_producer:
            raise EpermitPeerError(
                "INVALID_PROOF", f"key {kid} is not {common.event_producer}'s", status=401
            )
        try:
            verify_detached(
                proof, data, self.trust, signed_at=from_unix_seconds(common.event_timestamp)
            )
        except SignatureError as exc:
            raise EpermitPeerError("INVALID_PROOF", exc.message, status=401) from exc

    def _check_chain(self, session: Session, common: Common) -> None:
        pair = (
            EpermitPeerEventRow.org_id == self.org_id,
            EpermitPeerEventRow.event_producer == common.event_producer,
            EpermitPeerEventRow.event_consumer == common.event_consumer,
            EpermitPeerEventRow.direction == "in",
        )
        if session.scalars(
            select(EpermitPeerEventRow.event_id).where(
                *pair, EpermitPeerEventRow.event_id == common.event_id
            )
        ).first():
            raise EpermitPeerError("EVENT_ALREADY_EXISTS", f"event {common.event_id} exists")
        if common.previous_event_id == GENESIS:
            if session.scalars(select(EpermitPeerEventRow.event_id).where(*pair)).first():
                raise EpermitPeerError(
                    "GENESIS_EVENT_ALREADY_EXISTS",
                    f"{common.event_producer}->{common.event_consumer} already has a first event",
                )
            return
        if not session.scalars(
            select(EpermitPeerEventRow.event_id).where(
                *pair, EpermitPeerEventRow.event_id == common.previous_event_id
            )
        ).first():
            raise EpermitPeerError(
                "PREVIOUS_EVENT_NOTFOUND", f"previous event {common.previous_event_id} not found"
            )

    def _apply(
        self, session: Session, body: EventBody, common: Common
    ) -> Callable[[], None] | None:
        if isinstance(body, QuotaCreated):
            self._expect(common, body.permit_issued_for, body.permit_issuer)
            self._add_quota(session, body)
            return None
        if isinstance(body, PermitCreated):
            self._expect(common, body.permit_issuer, body.permit_issued_for)
            self._add_permit(session, body)
            return None
        if isinstance(body, PermitUsed):
            row = self._permit(session, body.permit_id)
            self._expect(common, row.permit_issued_for, row.permit_issuer)
            self._add_usage(session, row, body, common)
            return None
        if isinstance(body, PermitRevoked):
            row = self._permit(session, body.permit_id)
            self._expect(common, row.permit_issuer, row.permit_issued_for)
            self._revoke(session, row, body)
            return None
        if isinstance(body, KeyCreated):
            return self._key_created(body, common)
        return self._key_revoked(body, common)

    @staticmethod
    def _expect(common: Common, producer: str, consumer: str) -> None:
        if (common.event_producer, common.event_consumer) != (producer, consumer):
            raise EpermitPeerError(
                "EVENT_PRODUCER_MISMATCH",
                f"this event is produced by {producer} for {consumer}, not by "
                f"{common.event_producer} for {common.event_consumer}",
            )

    def _add_quota(self, session: Session, body: QuotaCreated) -> None:
        key = (self.org_id, body.permit_issuer, body.permit_issued_for, body.permit_year,
               body.permit_type)  # fmt: skip
        row = session.get(PermitQuotaRow, key)
        if row is None:
            session.add(
                PermitQuotaRow(
                    org_id=self.org_id,
                    permit_issuer=body.permit_issuer,
                    permit_issued_for=body.permit_issued_for,
                    permit_year=body.permit_year,
                    permit_type=body.permit_type,
                    quantity=body.quantity,
                    used=0,
                )
            )
        else:
            row.quantity += body.quantity
        session.flush()

    def _add_permit(self, session: Session, body: PermitCreated) -> None:
        try:
            issuer, issued_for, year, kind, seq = parse_permit_id(body.permit_id)
        except DocumentValidationError as exc:
            raise EpermitPeerError("INVALID_PERMITID", exc.message) from exc
        if (issuer, issued_for, year, int(kind)) != (
            body.permit_issuer,
            body.permit_issued_for,
            body.permit_year,
            body.permit_type,
        ):
            raise EpermitPeerError(
                "INVALID_PERMITID", f"{body.permit_id} does not match issuer, for, year and type"
            )
        issued = datetime.strptime(body.issued_at, _WIRE_DATE).replace(tzinfo=UTC)
        expires = datetime.strptime(body.expires_at, _WIRE_DATE).replace(tzinfo=UTC)
        bad = [name for name, wrong in (("issued_at", issued > self._clock()),
                                        ("expires_at", expires <= issued)) if wrong]  # fmt: skip
        if bad:
            raise EpermitPeerError(
                "VALIDATION_ERROR",
                "issued_at must not be in the future and must be before expires_at",
                status=400,
                fields=bad,
            )
        try:
            permit = Permit.model_validate(body.model_dump(exclude_none=True))
        except ValidationError as exc:
            names = sorted(
                {".".join(str(p) for p in item["loc"]) or "permit" for item in exc.errors()}
            )
            raise EpermitPeerError(
                "VALIDATION_ERROR", f"invalid permit: {exc}", status=400, fields=names
            ) from exc
        if session.get(PermitRow, (self.org_id, body.permit_id)) is not None:
            raise EpermitPeerError("PERMITID_ALREADY_EXISTS", f"{body.permit_id} exists")
        quota = session.get(PermitQuotaRow, (self.org_id, issuer, issued_for, year, int(kind)))
        if quota is None or seq > quota.quantity or quota.used >= quota.quantity:
            granted = 0 if quota is None else quota.quantity
            raise EpermitPeerError(
                "INSUFFICIENT_PERMIT_QUOTA",
                f"{body.permit_id}: sequence {seq} is beyond the {granted} permits granted",
            )
        quota.used += 1
        session.add(
            PermitRow(
                org_id=self.org_id,
                permit_id=permit.permit_id,
                permit_issuer=issuer,
                permit_issued_for=issued_for,
                permit_year=year,
                permit_type=int(kind),
                sequence=seq,
                fields=canonical_text(
                    {k: v for k, v in permit.to_wire().items() if k != "qr_code"}
                ),
                qr_code=permit.qr_code,
                created_at=self._clock(),
                revoked_at=None,
            )
        )
        session.flush()

    def _permit(self, session: Session, permit_id: str) -> PermitRow:
        row = session.get(PermitRow, (self.org_id, permit_id))
        if row is None:
            raise EpermitPeerError("PERMIT_NOTFOUND", f"no permit {permit_id}")
        return row

    def _add_usage(
        self, session: Session, row: PermitRow, body: PermitUsed, common: Common
    ) -> None:
        count = len(
            session.scalars(
                select(PermitUsageRow.position).where(
                    PermitUsageRow.org_id == row.org_id, PermitUsageRow.permit_id == row.permit_id
                )
            ).all()
        )
        session.add(
            PermitUsageRow(
                org_id=row.org_id,
                permit_id=row.permit_id,
                position=count + 1,
                control_authority=common.event_producer,
                activity_type=body.activity_type,
                activity_timestamp=body.activity_timestamp,
                activity_details=body.activity_details,
                recorded_at=self._clock(),
            )
        )
        session.flush()

    def _revoke(self, session: Session, row: PermitRow, body: PermitRevoked) -> None:
        if row.revoked_at is not None:
            raise EpermitPeerError("PERMIT_ALREADY_REVOKED", f"{row.permit_id} is revoked")
        used = session.scalars(
            select(PermitUsageRow.position).where(
                PermitUsageRow.org_id == row.org_id, PermitUsageRow.permit_id == row.permit_id
            )
        ).first()
        if used is not None:
            raise EpermitPeerError("PERMIT_USED", f"{row.permit_id} is used; it stays valid")
        row.revoked_at = from_unix_seconds(body.revoked_at)
        session.flush()

    def _key_created(self, body: KeyCreated, common: Common) -> Callable[[], None]:
        if body.authority != common.event_producer:
            raise EpermitPeerError(
                "EVENT_PRODUCER_MISMATCH",
                f"{common.event_producer} announces {body.authority}'s key",
            )
        if body.kid in self.trust:
            raise EpermitPeerError("KEYID_ALREADY_EXISTS", f"key id {body.kid} exists")
        try:
            jwk = json.loads(body.jwk)
            if not isinstance(jwk, dict):
                raise ValueError("the jwk is not a JSON object")
            jwk = {**jwk, "kid": body.kid, "alg": jwk.get("alg", ES256)}
            public_key_from_jwk(jwk)
        except ValueError as exc:
            raise EpermitPeerError(
                "VALIDATION_ERROR", f"jwk: {exc}", status=400, fields=["jwk"]
            ) from exc
        return lambda: self._trust_key(jwk, body.authority, _day_of(common.event_timestamp))

    def _trust_key(self, jwk: Mapping[str, object], party: str, since: datetime) -> None:
        if jwk["kid"] not in self.trust:
            self.trust.add(jwk, party=party, not_before=since)

    def _key_revoked(self, body: KeyRevoked, common: Common) -> Callable[[], None]:
        if body.authority != common.event_producer:
            raise EpermitPeerError(
                "EVENT_PRODUCER_MISMATCH", f"{common.event_producer} revokes {body.authority}'s key"
            )
        if body.key_id not in self.trust or self.trust.get(body.key_id).party != body.authority:
            raise EpermitPeerError("KEY_NOTFOUND", f"{body.authority} has no key {body.key_id}")
        at = from_unix_seconds(body.revoked_at)
        return lambda: self._revoke_key(body.key_id, at)

    def _revoke_key(self, kid: str, at: datetime) -> None:
        try:
            self.trust.revoke(kid, at=at)
        except TrustListError:
            return

    def restore_keys(self, session: Session) -> int:
        """Replay the partners' stored key events into `trust` (after a restart); return how
        many were applied."""
        rows = session.scalars(
            select(EpermitPeerEventRow)
            .where(
                EpermitPeerEventRow.org_id == self.org_id,
                EpermitPeerEventRow.direction == "in",
                EpermitPeerEventRow.event_type.in_(("KEY_CREATED", "KEY_REVOKED")),
            )
            .order_by(EpermitPeerEventRow.event_timestamp, EpermitPeerEventRow.recorded_at)
        )
        count = 0
        for row in rows:
            kind = EventType(row.event_type)
            body, common = parse_event(kind, row.body.encode("utf-8"))
            if isinstance(body, KeyCreated):
                jwk = {**json.loads(body.jwk), "kid": body.kid}
                jwk.setdefault("alg", ES256)
                self._trust_key(jwk, body.authority, _day_of(common.event_timestamp))
            elif isinstance(body, KeyRevoked):
                self._revoke_key(body.key_id, from_unix_seconds(body.revoked_at))
            count += 1
        return count

    # -- producing -----------------------------------------------------------------------------

    def produce(self, session: Session, consumer: str, body: EventBody) -> OutgoingEvent:
        """Chain, serialise, sign and store an event for `consumer` in `session`'s transaction;
        the client delivers it after the commit."""
        if consumer not in self.partners:
            raise EpermitPeerError("AUTHORITY_NOT_FOUND", f"{consumer} is not a partner")
        # Locked until the transaction ends: two use cases producing for the same partner at
        # once chain one after the other instead of both onto the same previous event.
        head = session.get(
            EpermitPeerChainRow, (self.org_id, self.code, consumer), with_for_update=True
        )
        kind = event_type_of(body)
        common = Common(
            event_producer=self.code,
            event_consumer=consumer,
            event_timestamp=unix_seconds(self._clock()),
            event_type=kind,
            event_id=str(uuid.uuid4()),
            previous_event_id=GENESIS if head is None else head.last_event_id,
        )
        data = serialise(body, common)
        proof = sign_detached(data, self.signer, form="epermit")
        session.add(
            EpermitPeerEventRow(
                org_id=self.org_id,
                event_producer=self.code,
                event_consumer=consumer,
                event_id=common.event_id,
                direction="out",
                event_type=kind.value,
                previous_event_id=common.previous_event_id,
                event_timestamp=common.event_timestamp,
                body=data.decode("utf-8"),
                proof=proof,
                recorded_at=self._clock(),
                sent_at=None,
            )
        )
        self._move_head(session, self.code, consumer, common.event_id)
        session.flush()
        return OutgoingEvent(consumer, kind, common.event_id, data, proof)

    def rechain(self, kind: EventType, body: str, previous_event_id: str) -> tuple[bytes, str]:
        """A stored outgoing event pointed at another previous event: its new bytes and proof
        (same event id; used when the partner refused the event it pointed at)."""
        own, common = parse_event(kind, body.encode("utf-8"))
        data = serialise(own, common.model_copy(update={"previous_event_id": previous_event_id}))
        return data, sign_detached(data, self.signer, form="epermit")

    def grant_quota(self, session: Session, quota: Quota) -> OutgoingEvent:
        """As the quota authority (`quota.permit_issued_for` is this authority): record the
        quota, so permits announced against it can be checked, and tell the issuer."""
        if quota.permit_issued_for != self.code:
            raise EpermitPeerError(
                "EVENT_PRODUCER_MISMATCH",
                f"{self.code} cannot grant {quota.permit_issued_for}'s quota",
            )
        body = QuotaCreated(
            permit_issuer=quota.permit_issuer,
            permit_issued_for=quota.permit_issued_for,
            permit_year=quota.permit_year,
            permit_type=int(PermitType(quota.permit_type)),
            quantity=quota.quantity,
        )
        self._add_quota(session, body)
        return self.produce(session, quota.permit_issuer, body)

    def _move_head(self, session: Session, producer: str, consumer: str, event_id: str) -> None:
        head = session.get(EpermitPeerChainRow, (self.org_id, producer, consumer))
        if head is None:
            session.add(
                EpermitPeerChainRow(
                    org_id=self.org_id,
                    event_producer=producer,
                    event_consumer=consumer,
                    last_event_id=event_id,
                    updated_at=self._clock(),
                )
            )
        else:
            head.last_event_id = event_id
            head.updated_at = self._clock()


def permit_created(permit: Permit) -> PermitCreated:
    """The permit-created body of an issued permit."""
    return PermitCreated.model_validate(permit.to_wire())


def _day_of(timestamp: int) -> datetime:
    """00:00 UTC of the day of `timestamp`: an announced key is trusted from the start of that
    day, because the QR codes it signs carry their issue date at day precision (iat)."""
    return from_unix_seconds(timestamp).replace(hour=0, minute=0, second=0, microsecond=0)


def _bearer(authorization: str | None) -> str:
    if authorization is None or not authorization.startswith("Bearer "):
        raise EpermitPeerError(
            "INVALID_PROOF", "Authorization: Bearer <detached proof> is missing", status=401
        )
    proof = authorization.removeprefix("Bearer ").strip()
    if len(proof.split(".")) != 2:
        raise EpermitPeerError(
            "INVALID_PROOF", "the proof is 'header.signature' (detached JWS)", status=401
        )
    return proof

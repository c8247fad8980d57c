"""e-Permit control at the border: check the permit, then record ENTRANCE or EXIT.

In e-Permit the authority of the truck's own country issues the permit to its haulier, against
the quota the country to be entered granted it: permit TR-UZ-2025-1-7 is issued by TR for a
Turkish truck entering UZ. The control authority of the country entered checks, in order: the
QR code's signature against the trust list (signed by the issuing authority), that its claims
are this permit's, the validity dates, that the plate matches the vehicle, that the permit is
for entering this country and was issued by the truck's country, that its type is allowed for
this trip (bilateral, transit or third-country, from the truck's flag and where it loads and
unloads), and then the authority's usage rule. A refusal raises PermitRefusedError with a named
reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kervan.customs.rules import PermitRules
from kervan.documents.epermit import (
    ActivityType,
    PermitRecord,
    PermitUsage,
    UsageRule,
    qr_claims,
)
from kervan.documents.goods import VehiclePlate
from kervan.documents.permit_rules import MaxEntriesPerCountry, OneRoundTrip
from kervan.errors import (
    DocumentValidationError,
    IllegalTransitionError,
    PermitRefusedError,
    PermitUsageRefusedError,
    SignatureError,
)
from kervan.routing.requirements import PermitType as TripKind
from kervan.signatures.jws import verify_compact
from kervan.signatures.trustlist import TrustList


@dataclass(frozen=True)
class Trip:
    """What decides the permit a truck needs: its flag and where it loads and unloads."""

    truck_flag: str
    loading_country: str
    unloading_country: str

    def kind_in(self, country: str) -> TripKind:
        """Bilateral, transit or third-country, for a truck entering `country`."""
        ends = (self.loading_country, self.unloading_country)
        if country not in ends:
            return TripKind.TRANSIT
        return TripKind.BILATERAL if self.truck_flag in ends else TripKind.THIRD_COUNTRY


def usage_rule(rules: PermitRules, permit_type: int | None = None) -> UsageRule:
    """The control authority's usage rule from its rule file, for permits of `permit_type`
    (its `type_rules` entry where it has one, else its general rule)."""
    name = rules.usage_rule
    if permit_type is not None:
        name = rules.type_rules.get(str(permit_type), name)  # type: ignore[call-overload]
    if name == "max_entries_per_country":
        return MaxEntriesPerCountry(max_entries=rules.max_entries)
    return OneRoundTrip()


def accepted_types(rules: PermitRules, kind: TripKind) -> tuple[int, ...]:
    if kind is TripKind.BILATERAL:
        return rules.bilateral_trip
    if kind is TripKind.TRANSIT:
        return rules.transit_trip
    return rules.third_country_trip


@dataclass(frozen=True)
class PermitCheck:
    """A permit that passed every check at a border."""

    permit_id: str
    control_country: str
    trip_kind: TripKind
    signed_by: str  # the key id that signed the QR code


def check_permit(
    record: PermitRecord,
    qr_code: str,
    trust_list: TrustList,
    *,
    control_country: str,
    at: datetime,
    vehicles: Iterable[VehiclePlate],
    trip: Trip,
    rules: PermitRules,
) -> PermitCheck:
    """Check a presented permit at `control_country`'s border at time `at`; return what passed,
    or raise PermitRefusedError with the reason."""
    permit = record.permit
    pid = permit.permit_id
    if record.revoked_at is not None:
        raise PermitRefusedError(pid, "revoked", f"revoked at {record.revoked_at.isoformat()}")
    try:
        token = verify_compact(qr_code, trust_list)
    except SignatureError as exc:
        raise PermitRefusedError(pid, "qr_signature", exc.message) from exc
    if token.party != permit.permit_issuer:
        raise PermitRefusedError(
            pid,
            "qr_signer",
            f"the QR code is signed by {token.party}, the permit is issued by "
            f"{permit.permit_issuer}",
        )
    expected = qr_claims(permit)
    differing = sorted(k for k in expected if token.claims.get(k) != expected[k])
    if differing:
        raise PermitRefusedError(
            pid, "qr_claims", f"the QR code's {', '.join(differing)} differ from the permit"
        )
    day = at.date()
    if day < permit.issued_at:
        raise PermitRefusedError(pid, "not_yet_valid", f"valid from {permit.issued_at:%d/%m/%Y}")
    if day > permit.expires_at:
        raise PermitRefusedError(pid, "expired", f"expired on {permit.expires_at:%d/%m/%Y}")
    plates = {v.number for v in vehicles}
    if not plates & {permit.plate_number, permit.plate_number2}:
        raise PermitRefusedError(
            pid,
            "plate_mismatch",
            f"the permit is for {permit.plate_number}, the vehicle is {', '.join(sorted(plates))}",
        )
    if permit.permit_issued_for != control_country:
        raise PermitRefusedError(
            pid,
            "wrong_authority",
            f"valid for entering {permit.permit_issued_for}, not {control_country} whose border "
            "this is",
        )
    if permit.permit_issuer != trip.truck_flag:
        raise PermitRefusedError(
            pid,
            "wrong_haulier_country",
            f"issued by {permit.permit_issuer} to its hauliers, the truck is from "
            f"{trip.truck_flag}",
        )
    kind = trip.kind_in(control_country)
    allowed = accepted_types(rules, kind)
    if int(permit.permit_type) not in allowed:
        raise PermitRefusedError(
            pid,
            "permit_type",
            f"a {kind.value} trip ({trip.truck_flag} truck, {trip.loading_country} -> "
            f"{trip.unloading_country}) through {control_country} needs permit type "
            f"{' or '.join(str(t) for t in allowed)}, this one is type {int(permit.permit_type)}",
        )
    return PermitCheck(pid, control_country, kind, token.kid)


def record_permit_use(
    record: PermitRecord,
    qr_code: str,
    trust_list: TrustList,
    *,
    activity: ActivityType,
    control_country: str,
    at: datetime,
    vehicles: Iterable[VehiclePlate],
    trip: Trip,
    rules: PermitRules,
    details: str | None = None,
) -> PermitRecord:
    """Check the permit, then record the ENTRANCE or EXIT under the authority's usage rule;
    out, the permit record with the usage added (usages are never revoked)."""
    check_permit(
        record,
        qr_code,
        trust_list,
        control_country=control_country,
        at=at,
        vehicles=vehicles,
        trip=trip,
        rules=rules,
    )
    usage = PermitUsage(
        permit_id=record.permit.permit_id,
        control_authority=control_country,
        activity_type=activity,
        activity_timestamp=int(at.timestamp()),
        activity_details=details,
    )
    try:
        return record.record_usage(usage, usage_rule(rules, int(record.permit.permit_type)))
    except (PermitUsageRefusedError, DocumentValidationError, IllegalTransitionError) as exc:
        raise PermitRefusedError(record.permit.permit_id, "usage_rule", exc.message) from exc

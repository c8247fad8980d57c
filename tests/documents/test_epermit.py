"""e-Permit: TR-UZ bilateral quota, permit ids, QR claims, usage and revocation."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from kervan.documents.epermit import (
    ActivityType,
    Permit,
    PermitRecord,
    PermitType,
    PermitUsage,
    Quota,
    issue_permit,
    next_permit_sequence,
    parse_permit_id,
    qr_claims,
)
from kervan.documents.permit_rules import MaxEntriesPerCountry, OneRoundTrip
from kervan.errors import (
    DocumentValidationError,
    IllegalTransitionError,
    PermitUsageRefusedError,
    QuotaExhaustedError,
)

QUOTA = Quota(
    permit_issuer="TR",
    permit_issued_for="UZ",
    permit_year=2025,
    permit_type=PermitType.BILATERAL,
    quantity=2,
)


def permit(used: int = 0) -> Permit:
    return issue_permit(
        QUOTA,
        used,
        plate_number="01 A 123 BC",
        company_name="Samarkand Trans Logistic LLC",
        company_id="UZ305987612",
        issued_at=date(2025, 3, 1),
        expires_at=date(2025, 12, 31),
        departure_country="UZ",
        arrival_country="TR",
    )


def ts(day: int, hour: int = 10) -> int:
    return int(datetime(2025, 4, day, hour, tzinfo=UTC).timestamp())


def use(kind: ActivityType, authority: str, day: int) -> PermitUsage:
    return PermitUsage(
        permit_id="TR-UZ-2025-1-1",
        control_authority=authority,
        activity_type=kind,
        activity_timestamp=ts(day),
        activity_details=f"{authority} border post",
    )


def test_sequence_allocation_stops_at_the_quota() -> None:
    assert next_permit_sequence(QUOTA, 0) == 1
    assert next_permit_sequence(QUOTA, 1) == 2
    with pytest.raises(QuotaExhaustedError, match="2 of 2"):
        next_permit_sequence(QUOTA, 2)
    assert permit(0).permit_id == "TR-UZ-2025-1-1"
    assert permit(1).permit_id == "TR-UZ-2025-1-2"


def test_permit_id_parsing_and_consistency() -> None:
    assert parse_permit_id("TR-UZ-2025-1-1") == ("TR", "UZ", 2025, PermitType.BILATERAL, 1)
    for bad in ("tr-UZ-2025-1-1", "TR-UZ-25-1-1", "TR-UZ-2025-5-1", "TR-UZ-2025-1-0", "TR_UZ"):
        with pytest.raises(DocumentValidationError):
            parse_permit_id(bad)
    with pytest.raises(ValidationError, match="does not match"):
        Permit.model_validate({**permit().model_dump(), "permit_issuer": "AZ"})


def test_wire_form_dates_and_field_order() -> None:
    wire = permit().to_wire()
    assert list(wire)[:7] == [
        "permit_id",
        "permit_type",
        "permit_issuer",
        "permit_issued_for",
        "permit_year",
        "issued_at",
        "expires_at",
    ]
    assert wire["issued_at"] == "01/03/2025"
    assert wire["expires_at"] == "31/12/2025"
    assert "plate_number2" not in wire
    assert "qr_code" not in wire
    assert Permit.model_validate(wire) == permit()
    with pytest.raises(ValidationError, match="before"):
        Permit.model_validate({**wire, "expires_at": "01/03/2025"})


def test_qr_claims() -> None:
    assert qr_claims(permit()) == {
        "id": "TR-UZ-2025-1-1",
        "iat": 1740787200,
        "exp": 1767139200,
        "pn": "01 A 123 BC",
        "cn": "Samarkand Trans Logistic LLC",
    }


def test_used_permit_cannot_be_revoked_unused_can() -> None:
    record = PermitRecord(permit=permit())
    revoked = record.revoke(datetime(2025, 4, 1, tzinfo=UTC))
    assert revoked.state == "revoked"
    with pytest.raises(IllegalTransitionError, match="revoked"):
        revoked.revoke(datetime(2025, 4, 2, tzinfo=UTC))
    with pytest.raises(IllegalTransitionError):
        revoked.record_usage(use(ActivityType.ENTRANCE, "TR", 3), OneRoundTrip())
    used = record.record_usage(use(ActivityType.ENTRANCE, "TR", 3), OneRoundTrip())
    with pytest.raises(IllegalTransitionError, match="cannot revoke while it is used"):
        used.revoke(datetime(2025, 4, 4, tzinfo=UTC))
    assert used.usages == (use(ActivityType.ENTRANCE, "TR", 3),)


def test_one_round_trip() -> None:
    rule = OneRoundTrip()
    record = PermitRecord(permit=permit())
    with pytest.raises(PermitUsageRefusedError):
        record.record_usage(use(ActivityType.EXIT, "TR", 3), rule)
    record = record.record_usage(use(ActivityType.ENTRANCE, "TR", 3), rule)
    with pytest.raises(PermitUsageRefusedError, match="country entered"):
        record.record_usage(use(ActivityType.EXIT, "GE", 9), rule)
    record = record.record_usage(use(ActivityType.EXIT, "TR", 9), rule)
    with pytest.raises(PermitUsageRefusedError, match="already used"):
        record.record_usage(use(ActivityType.ENTRANCE, "TR", 20), rule)


def test_at_most_two_entries_per_country() -> None:
    rule = MaxEntriesPerCountry(max_entries=2)
    record = PermitRecord(permit=permit())
    for day, kind, where in [
        (2, ActivityType.ENTRANCE, "AZ"),
        (3, ActivityType.EXIT, "AZ"),
        (4, ActivityType.ENTRANCE, "GE"),
        (5, ActivityType.EXIT, "GE"),
        (10, ActivityType.ENTRANCE, "AZ"),
        (11, ActivityType.EXIT, "AZ"),
    ]:
        record = record.record_usage(use(kind, where, day), rule)
    with pytest.raises(PermitUsageRefusedError, match="2 of 2 entries"):
        record.record_usage(use(ActivityType.ENTRANCE, "AZ", 20), rule)
    with pytest.raises(PermitUsageRefusedError, match="earlier"):
        record.record_usage(use(ActivityType.ENTRANCE, "GE", 1), rule)
    assert record.record_usage(use(ActivityType.ENTRANCE, "GE", 20), rule).state == "used"


def test_usage_outside_validity_is_refused() -> None:
    late = PermitUsage(
        permit_id="TR-UZ-2025-1-1",
        control_authority="TR",
        activity_type=ActivityType.ENTRANCE,
        activity_timestamp=int(datetime(2026, 1, 5, tzinfo=UTC).timestamp()),
    )
    with pytest.raises(DocumentValidationError, match="valid"):
        PermitRecord(permit=permit()).record_usage(late, OneRoundTrip())

"""Another organisation's document, permit, key, ledger chain or idempotency key is not found."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from kervan.documents.epermit import PermitType, Quota
from kervan.errors import NotFoundError
from kervan.ledger.log import Ledger
from kervan.signatures.keys import Ed25519Signer
from kervan.store.repositories import (
    DocumentRepository,
    IdempotencyRepository,
    OrganisationKind,
    OrganisationRepository,
    PermitRepository,
    QuotaKey,
    SigningKeyRepository,
    SqlLedgerStore,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OWNER, OTHER = "kz-shipper", "az-carrier"
BOTH = [OWNER, OTHER]
KEY = QuotaKey(OWNER, "KZ", "AZ", 2026, PermitType.TRANSIT)


@pytest.fixture
def stored(session: Session, add_organisation: object) -> Session:
    add = add_organisation
    assert callable(add)
    add(OWNER, OrganisationKind.SHIPPER)
    add(OTHER, OrganisationKind.CARRIER, "AZ")
    documents = DocumentRepository(session)
    documents.create(OWNER, "ecmr-1", kind="e-CMR", state="draft", body={"n": 1}, at=T0)
    SigningKeyRepository(session).add_signer(
        Ed25519Signer.generate("kz-shipper-2026", party=OWNER), not_before=T0
    )
    permits = PermitRepository(session)
    permits.add_quota(OWNER, Quota(permit_issuer="KZ", permit_issued_for="AZ", permit_year=2026,
                                   permit_type=PermitType.TRANSIT, quantity=3))  # fmt: skip
    permits.issue_permit(
        KEY, org_ids=[OWNER], plate_number="123ABC02", company_name="Steppe Haulage",
        company_id="KZ-99", issued_at=date(2026, 2, 1), expires_at=date(2026, 3, 1), at=T0,
    )  # fmt: skip
    ledger = Ledger(
        SqlLedgerStore(session, org_id=OWNER), Ed25519Signer.generate("log", party="node")
    )
    ledger.append("ecmr-1", "created", {"n": 1}, T0)
    IdempotencyRepository(session).remember(
        OWNER, "req-1", "a" * 64, status_code=201, response={"id": "ecmr-1"}, at=T0,
        org_ids=[OWNER],
    )  # fmt: skip
    return session


def test_another_organisations_document_is_not_found(stored: Session) -> None:
    documents = DocumentRepository(stored)
    assert documents.get("ecmr-1", org_ids=[OWNER]).org_id == OWNER
    assert documents.get("ecmr-1", org_ids=BOTH).org_id == OWNER
    for read in (
        lambda: documents.get("ecmr-1", org_ids=[OTHER]),
        lambda: documents.get_version("ecmr-1", 1, org_ids=[OTHER]),
        lambda: documents.signatures("ecmr-1", 1, org_ids=[OTHER]),
        lambda: documents.jws("ecmr-1", 1, org_ids=[OTHER]),
        lambda: documents.set_state("ecmr-1", "issued", at=T0, org_ids=[OTHER]),
        lambda: documents.add_version("ecmr-1", {"n": 2}, at=T0, org_ids=[OTHER]),
        lambda: documents.add_signatures("ecmr-1", 1, [], org_ids=[OTHER]),
    ):
        with pytest.raises(NotFoundError, match="not found"):
            read()
    assert documents.get_version("ecmr-1", org_ids=[OWNER]).body == '{"n":1}'


def test_another_organisations_permit_and_quota_are_not_found(stored: Session) -> None:
    permits = PermitRepository(stored)
    assert permits.get_permit("KZ-AZ-2026-2-1", org_ids=[OWNER]).state == "unused"
    with pytest.raises(NotFoundError):
        permits.get_permit("KZ-AZ-2026-2-1", org_ids=[OTHER])
    with pytest.raises(NotFoundError):
        permits.get_quota(KEY, org_ids=[OTHER])
    with pytest.raises(NotFoundError):
        permits.revoke_permit("KZ-AZ-2026-2-1", at=T0, org_ids=[OTHER])
    with pytest.raises(NotFoundError):
        permits.issue_permit(
            KEY, org_ids=[OTHER], plate_number="123ABC02", company_name="Intruder",
            company_id="X", issued_at=date(2026, 2, 1), expires_at=date(2026, 3, 1), at=T0,
        )  # fmt: skip
    assert permits.permits(KEY, org_ids=[OTHER]) == []
    assert permits.get_quota(KEY, org_ids=[OWNER]).used == 1


def test_another_organisations_key_is_not_found(stored: Session) -> None:
    keys = SigningKeyRepository(stored)
    assert keys.get("kz-shipper-2026", org_ids=[OWNER]).party == OWNER
    with pytest.raises(NotFoundError):
        keys.get("kz-shipper-2026", org_ids=[OTHER])
    with pytest.raises(NotFoundError):
        keys.revoke("kz-shipper-2026", at=T0, org_ids=[OTHER])
    assert keys.keys_of(OWNER, org_ids=[OTHER]) == []
    assert keys.get("kz-shipper-2026", org_ids=[OWNER]).revoked_at is None
    # The published trust list is public by design: it carries public keys only.
    assert "kz-shipper-2026" in keys.trust_list()


def test_another_organisations_ledger_chain_and_idempotency_keys_are_not_found(
    stored: Session,
) -> None:
    store = SqlLedgerStore(stored, org_id=OTHER)
    assert len(store.document_entries("ecmr-1", org_ids=[OWNER])) == 1
    with pytest.raises(NotFoundError):
        store.document_entries("ecmr-1", org_ids=[OTHER])
    idempotency = IdempotencyRepository(stored)
    assert idempotency.lookup(OWNER, "req-1", "a" * 64, org_ids=[OWNER]) is not None
    assert idempotency.lookup(OWNER, "req-1", "a" * 64, org_ids=[OTHER]) is None


def test_organisations_see_only_themselves(stored: Session) -> None:
    organisations = OrganisationRepository(stored)
    assert organisations.get(OTHER, org_ids=[OTHER]).id == OTHER
    with pytest.raises(NotFoundError):
        organisations.get(OWNER, org_ids=[OTHER])

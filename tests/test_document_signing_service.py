"""Signing an e-CMR's steps through the service: each step signed with the signer's current key
(read with the locked document), every signature read back in order, the JWS verifying."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kervan.ledger.evidence import EvidenceBundle
from kervan.services.access import node_operator
from kervan.services.demo_corridor import book_uzbek_truck, caller_for, register_corridor
from kervan.services.documents import (
    DocumentRef,
    SignRequest,
    SignStep,
    document_view,
    evidence,
    sign_step,
    trust_list,
)
from kervan.services.members import RotateSigningKey, rotate_signing_key
from kervan.services.node import NodeContext
from kervan.signatures.jws import verify
from kervan.signatures.trustlist import TrustList
from kervan.store.db import unit_of_work
from kervan.store.repositories.signing_keys import SigningKeyRepository
from tests.databases import BACKENDS, migrated_database
from tests.nodes import node_on

SHIPPER = "tashkent-cotton"


@pytest.mark.parametrize("backend", BACKENDS)
def test_steps_are_signed_with_the_current_key_and_read_back_in_order(
    backend: str, tmp_path: Path
) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        try:
            signs_with_current_keys(ctx)
        finally:
            engine.dispose()


def signs_with_current_keys(ctx: NodeContext) -> None:
    register_corridor(ctx.sessions, ctx.keys)
    _, ids = book_uzbek_truck(ctx, "SIGN-KEYS-1", date(2026, 11, 24))
    ecmr = next(i for i in ids if "-ECMR-" in i)
    with unit_of_work(ctx.sessions) as session:
        shipper = caller_for(session, SHIPPER)
        carrier = caller_for(session, "uz-trucking")
        first_kid = SigningKeyRepository(session).keys_of(SHIPPER, org_ids=[SHIPPER])[-1].kid
    issued = sign_step(ctx.unit_of_work(), shipper, SignStep(ecmr, SignRequest(step="issue")))
    assert [(s.party, s.role, s.kid) for s in issued.signatures] == [
        (SHIPPER, "consignor", first_kid)
    ]

    # The node's administrator rotates the shipper's key (what `kervan org rotate-key` runs):
    # the next step is signed with the new one.
    operator = node_operator(ctx.settings.node_id, ctx.settings.node_country)
    rotated = rotate_signing_key(ctx.unit_of_work(), operator, RotateSigningKey(SHIPPER))
    assert rotated.previous_kids == (first_kid,)
    taking_over = SignStep(ecmr, SignRequest(step="sign_taking_over"))
    shipper_signed = sign_step(ctx.unit_of_work(), shipper, taking_over)
    taken = sign_step(ctx.unit_of_work(), carrier, taking_over)
    expected = [
        (SHIPPER, "consignor", first_kid),
        (SHIPPER, "consignor", rotated.kid),
        ("uz-trucking", "carrier", taken.signatures[-1].kid),
    ]
    assert [(s.party, s.role, s.kid) for s in shipper_signed.signatures] == expected[:2]
    assert [(s.party, s.role, s.kid) for s in taken.signatures] == expected
    assert taken.state == "taken_over"

    # Read back by another party, and as evidence: the same signatures in the same order.
    seen = document_view(ctx.unit_of_work(), carrier, DocumentRef(ecmr))
    bundle = EvidenceBundle.from_json(evidence(ctx.unit_of_work(), shipper, DocumentRef(ecmr)))
    trust = TrustList.from_jwks(trust_list(ctx.unit_of_work()))
    assert seen.signatures == taken.signatures
    assert seen.state == taken.state
    assert [v.kid for v in verify(bundle.jws, trust)] == [e[2] for e in expected]

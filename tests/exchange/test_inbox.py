"""The inbox on both databases: valid messages applied once; unsigned, tampered, unknown-sender,
revoked-key, replayed and misaddressed messages refused, logged and kept; a sequence gap held
until it closes; a handler's refusal leaves no effect; an outbox write rolls back with its
transaction."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kervan.errors import InvalidRequestError
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.inbox import Inbox
from kervan.exchange.outbox import Outbox, OutgoingMessage, pending_count
from kervan.exchange.status import applied_count, dead_letters, held_gaps, rejections
from kervan.signatures.canonical import canonical_json
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.tables.exchange import InboxRow, OutboxRow
from tests.exchange.conftest import AZ, EFFECTS, GE, KZ, T0, Store


def record(session: Session, message: CrossBorderMessage) -> None:
    number = message.payload["n"]
    assert isinstance(number, int)
    if number < 0:
        raise InvalidRequestError("negative numbers are refused by this handler")
    session.execute(
        insert(EFFECTS).values(authority=message.receiver, message_id=message.id, n=number)
    )


def sent_by_kz(store: Store, signer: Ed25519Signer, numbers: list[int]) -> list[bytes]:
    """Messages KZ -> AZ through KZ's outbox, as they would travel."""
    outbox = Outbox(KZ, signer)
    with store.sessions.begin() as session:
        return [
            outbox.enqueue(
                session, OutgoingMessage(AZ, MessageType.PRE_ARRIVAL, {"n": n})
            ).to_bytes()
            for n in numbers
        ]


def deliver(store: Store, inbox: Inbox, data: bytes) -> str:
    with store.sessions.begin() as session:
        return inbox.receive(session, data).outcome


@pytest.fixture
def az_inbox(trust: TrustList) -> Inbox:
    return Inbox(AZ, trust, record)


def test_messages_are_applied_in_order_and_once(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], az_inbox: Inbox
) -> None:
    messages = sent_by_kz(stores[KZ], signers[KZ], [10, 11, 12])
    assert [deliver(stores[AZ], az_inbox, m) for m in messages] == ["applied"] * 3
    # A broker's redelivery of what was applied: a duplicate, acknowledged, never a refusal.
    assert [deliver(stores[AZ], az_inbox, m) for m in messages] == ["duplicate"] * 3
    assert stores[AZ].effects(AZ) == {f"{KZ}:{AZ}:{i}": 1 for i in (1, 2, 3)}
    with stores[AZ].sessions.begin() as session:
        assert applied_count(session, AZ) == 3
        assert rejections(session, AZ) == []


def test_a_tampered_payload_byte_is_rejected_logged_and_not_applied(
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    az_inbox: Inbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (message,) = sent_by_kz(stores[KZ], signers[KZ], [7])
    tampered = message.replace(b'"n":7', b'"n":8')
    assert tampered != message
    with caplog.at_level(logging.WARNING, logger="kervan.exchange.inbox"):
        assert deliver(stores[AZ], az_inbox, tampered) == "rejected"
    assert "forged" in caplog.text
    assert stores[AZ].effects(AZ) == {}
    with stores[AZ].sessions.begin() as session:
        (rejected,) = rejections(session, AZ)
        assert (rejected.reason, rejected.message_id, rejected.sender) == (
            "forged",
            f"{KZ}:{AZ}:1",
            KZ,
        )
        assert rejected.body == tampered.decode()
    # The genuine message is still applied afterwards: the forgery did not consume its number.
    assert deliver(stores[AZ], az_inbox, message) == "applied"
    assert stores[AZ].numbers(AZ) == [7]


@pytest.mark.parametrize("position", [0, 40, 120, -30, -3])
def test_any_flipped_byte_is_never_applied(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], az_inbox: Inbox, position: int
) -> None:
    (message,) = sent_by_kz(stores[KZ], signers[KZ], [5])
    flipped = bytearray(message)
    flipped[position] ^= 0x01
    # A flipped brace is no JSON at all (dead-lettered); anywhere else the message is refused.
    assert deliver(stores[AZ], az_inbox, bytes(flipped)) in {"rejected", "dead_lettered"}
    assert stores[AZ].effects(AZ) == {}


def test_unsigned_unknown_sender_revoked_key_and_wrong_receiver_are_rejected(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    inbox = Inbox(AZ, trust, record)
    (genuine,) = sent_by_kz(stores[KZ], signers[KZ], [1])
    unsigned = json.loads(genuine)
    del unsigned["signature"]
    # A sender the trust list does not know, signing for itself.
    stranger = Ed25519Signer.generate("XX-1", party="XX-customs")
    unknown = Outbox("XX-customs", stranger)
    with stores[KZ].sessions.begin() as session:
        from_stranger = unknown.enqueue(
            session, OutgoingMessage(AZ, MessageType.PRE_ARRIVAL, {"n": 2})
        ).to_bytes()
        # The stranger's key claiming to be KZ.
        impostor = Outbox(KZ, Ed25519Signer.generate("KZ-fake", party=KZ))
        forged = impostor.enqueue(
            session, OutgoingMessage(AZ, MessageType.PRE_ARRIVAL, {"n": 3})
        ).to_bytes()
        to_ge = (
            Outbox(KZ, signers[KZ])
            .enqueue(session, OutgoingMessage(GE, MessageType.PRE_ARRIVAL, {"n": 4}))
            .to_bytes()
        )
    outcomes = [
        deliver(stores[AZ], inbox, canonical_json(unsigned)),
        deliver(stores[AZ], inbox, from_stranger),
        deliver(stores[AZ], inbox, forged),
        deliver(stores[AZ], inbox, to_ge),
        deliver(stores[AZ], inbox, b"{not json"),
    ]
    assert outcomes == ["rejected"] * 4 + ["dead_lettered"]
    # KZ's key revoked from an hour ago: a message made now is refused.
    trust.revoke(signers[KZ].kid, at=T0 + timedelta(hours=1))
    (after_revocation,) = sent_by_kz(stores[KZ], signers[KZ], [5])
    assert deliver(stores[AZ], inbox, after_revocation) == "rejected"
    assert stores[AZ].effects(AZ) == {}
    with stores[AZ].sessions.begin() as session:
        reasons = [r.reason for r in rejections(session, AZ)]
    assert sorted(reasons) == sorted(
        ["unsigned", "unknown_sender", "untrusted_key", "wrong_receiver", "key_revoked"]
    )  # fmt: skip


def test_a_sequence_gap_is_held_and_applied_in_order_when_it_closes(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], az_inbox: Inbox
) -> None:
    first, second, third, fourth = sent_by_kz(stores[KZ], signers[KZ], [1, 2, 3, 4])
    assert deliver(stores[AZ], az_inbox, first) == "applied"
    assert deliver(stores[AZ], az_inbox, fourth) == "held"
    assert deliver(stores[AZ], az_inbox, third) == "held"
    assert deliver(stores[AZ], az_inbox, third) == "duplicate"  # a held message comes twice
    assert stores[AZ].numbers(AZ) == [1]
    with stores[AZ].sessions.begin() as session:
        receipt = az_inbox.receive(session, second)
    assert receipt.outcome == "applied"
    assert receipt.applied == (f"{KZ}:{AZ}:2", f"{KZ}:{AZ}:3", f"{KZ}:{AZ}:4")
    assert stores[AZ].numbers(AZ) == [1, 2, 3, 4]
    with stores[AZ].sessions.begin() as session:
        outcomes = session.scalars(select(InboxRow.outcome).order_by(InboxRow.seq)).all()
    assert outcomes == ["applied"] * 4


def test_a_refusing_handler_leaves_no_effect_and_the_channel_moves_on(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], az_inbox: Inbox
) -> None:
    refused, accepted = sent_by_kz(stores[KZ], signers[KZ], [-1, 9])
    assert deliver(stores[AZ], az_inbox, refused) == "applied"
    assert deliver(stores[AZ], az_inbox, accepted) == "applied"
    assert stores[AZ].numbers(AZ) == [9]
    with stores[AZ].sessions.begin() as session:
        assert [r.reason for r in rejections(session, AZ)] == ["refused_by_handler"]
        assert session.get(InboxRow, (AZ, f"{KZ}:{AZ}:1")).outcome == "refused"  # type: ignore[union-attr]


def test_the_outbox_writes_in_the_callers_transaction(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer]
) -> None:
    outbox = Outbox(KZ, signers[KZ])

    def failing_change() -> None:
        with stores[KZ].sessions.begin() as session:
            outbox.enqueue(session, OutgoingMessage(AZ, MessageType.CONTROL_RESULT, {"n": 1}))
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        failing_change()
    with stores[KZ].sessions.begin() as session:
        assert pending_count(session, KZ) == 0
        message = outbox.enqueue(session, OutgoingMessage(AZ, MessageType.CONTROL_RESULT, {"n": 2}))
    # The rolled-back message gave its number back: no gap for the receiver to wait on.
    assert message.id == f"{KZ}:{AZ}:1"
    with stores[KZ].sessions.begin() as session:
        assert pending_count(session, KZ) == 1
        assert session.scalars(select(OutboxRow.body)).one() == message.to_bytes().decode()


def test_a_revoked_key_is_refused_whatever_signing_time_the_message_claims(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    inbox = Inbox(AZ, trust, record)
    revoked_at = T0 + timedelta(hours=2)
    # The sender (or whoever holds its stolen key) dates the message before the revocation.
    backdating = Outbox(KZ, signers[KZ], clock=lambda: T0 + timedelta(hours=1))
    with stores[KZ].sessions.begin() as session:
        backdated = backdating.enqueue(
            session, OutgoingMessage(AZ, MessageType.PRE_ARRIVAL, {"n": 1})
        ).to_bytes()
    trust.revoke(signers[KZ].kid, at=revoked_at)
    assert deliver(stores[AZ], inbox, backdated) == "rejected"
    assert stores[AZ].effects(AZ) == {}
    with stores[AZ].sessions.begin() as session:
        assert [r.reason for r in rejections(session, AZ)] == ["key_revoked"]


def test_a_nul_byte_poison_message_is_dead_lettered_once_and_the_channel_flows(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], az_inbox: Inbox
) -> None:
    (message,) = sent_by_kz(stores[KZ], signers[KZ], [3])
    poison = b'{"x":"\x00\x00"}\x00'
    assert deliver(stores[AZ], az_inbox, poison) == "dead_lettered"
    assert deliver(stores[AZ], az_inbox, message) == "applied"
    with stores[AZ].sessions.begin() as session:
        (dead,) = dead_letters(session, AZ)
        assert (dead.reason, dead.resolved, dead.message_id) == ("not_an_envelope", None, None)
        assert "\\x00" in dead.body
        assert "\x00" not in dead.body
        assert rejections(session, AZ) == []


def test_an_operator_skips_a_gap_never_filled_and_replays_a_dead_letter(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], az_inbox: Inbox
) -> None:
    first, second, _third, fourth = sent_by_kz(stores[KZ], signers[KZ], [1, 2, 3, 4])
    assert deliver(stores[AZ], az_inbox, first) == "applied"
    assert deliver(stores[AZ], az_inbox, fourth) == "held"
    with stores[AZ].sessions.begin() as session:
        (gap,) = held_gaps(session, AZ)
        assert (gap.sender, list(gap.missing), gap.held) == (KZ, [2, 3], 1)
    with stores[AZ].sessions.begin() as session:
        assert az_inbox.skip_gap(session, KZ) == [f"{KZ}:{AZ}:4"]
    assert stores[AZ].numbers(AZ) == [1, 4]
    with stores[AZ].sessions.begin() as session:
        assert held_gaps(session, AZ) == []
        skipped = dead_letters(session, AZ)
        assert [(d.seq, d.reason, d.resolved) for d in skipped] == [
            (2, "gap_skipped", "skipped"),
            (3, "gap_skipped", "skipped"),
        ]
        with pytest.raises(InvalidRequestError):
            az_inbox.skip_gap(session, KZ)
    # A skipped message that turns up after all is refused: its place in the channel is gone.
    assert deliver(stores[AZ], az_inbox, second) == "rejected"
    # A dead letter kept for a fault since mended is received again on the operator's word.
    (fifth,) = sent_by_kz(stores[KZ], signers[KZ], [5])
    with stores[AZ].sessions.begin() as session:
        az_inbox.dead_letter(session, fifth, "max_deliveries", "database was down", deliveries=5)
    with stores[AZ].sessions.begin() as session:
        (waiting,) = dead_letters(session, AZ, unresolved_only=True)
        assert waiting.message_id == f"{KZ}:{AZ}:5"
        assert az_inbox.replay(session, waiting.dead_letter_id).outcome == "applied"
    assert stores[AZ].numbers(AZ) == [1, 4, 5]
    with stores[AZ].sessions.begin() as session:
        assert dead_letters(session, AZ, unresolved_only=True) == []
        with pytest.raises(InvalidRequestError):
            az_inbox.replay(session, waiting.dead_letter_id)

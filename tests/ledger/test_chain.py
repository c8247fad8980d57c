"""Per-document hash chains: building links and finding the first broken one."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kervan.ledger.chain import GENESIS_HASH, LedgerEntry, next_entry, verify_chain
from kervan.signatures.canonical import canonical_json

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PAYLOADS: list[dict[str, Any]] = [
    {"event": "issued", "n": 1},
    {"event": "taken_over", "n": 2},
    {"event": "delivered"},
]


def make_chain(document_id: str = "ecmr:KZ-1") -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for i, payload in enumerate(PAYLOADS):
        entries.append(
            next_entry(
                entries[-1] if entries else None,
                log_index=10 + 2 * i,
                document_id=document_id,
                event_type=str(payload["event"]),
                payload=payload,
                recorded_at=T0 + timedelta(hours=i),
            )
        )
    return entries


def test_chain_links_and_hashes() -> None:
    chain = make_chain()
    assert [e.seq for e in chain] == [1, 2, 3]
    assert chain[0].previous_entry_hash == GENESIS_HASH
    assert chain[1].previous_entry_hash == chain[0].entry_hash()
    expected = hashlib.sha256(canonical_json(chain[2].to_json())).hexdigest()
    assert chain[2].entry_hash() == expected
    assert chain[0].payload_digest == hashlib.sha256(canonical_json(PAYLOADS[0])).hexdigest()
    verdict = verify_chain(chain, PAYLOADS)
    assert verdict.ok
    assert verdict.length == 3


def test_entry_round_trips_through_json() -> None:
    entry = make_chain()[1]
    assert LedgerEntry.from_json(entry.to_json()) == entry
    assert entry.to_json()["recorded_at"] == "2025-03-01T09:00:00Z"


@pytest.mark.parametrize(
    ("position", "change", "reason"),
    [
        (1, {"seq": 3}, "seq is 3"),
        (2, {"previous_entry_hash": "ab" * 32}, "previous_entry_hash"),
        (0, {"previous_entry_hash": "ab" * 32}, "genesis"),
        (1, {"event_type": "forged"}, "previous_entry_hash"),
        (1, {"document_id": "ecmr:OTHER"}, "belongs to document"),
        (2, {"log_index": 5}, "log_index does not increase"),
    ],
)
def test_first_broken_entry_is_reported(position: int, change: dict[str, Any], reason: str) -> None:
    chain = make_chain()
    chain[position] = dataclasses.replace(chain[position], **change)
    verdict = verify_chain(chain)
    assert not verdict.ok
    # Changing an entry breaks the link *after* it unless the change is to the link itself.
    assert verdict.broken_seq in (position + 1, position + 2)
    assert verdict.reason is not None
    assert reason in verdict.reason


def test_changed_payload_is_found() -> None:
    payloads = [dict(p) for p in PAYLOADS]
    payloads[1]["n"] = 99
    verdict = verify_chain(make_chain(), payloads)
    assert (verdict.ok, verdict.broken_seq) == (False, 2)
    assert verdict.reason is not None
    assert "payload changed" in verdict.reason


def test_missing_entry_is_found() -> None:
    chain = make_chain()
    verdict = verify_chain([chain[0], chain[2]])
    assert verdict.broken_seq == 2
    assert verdict.reason is not None
    assert "seq is 3, expected 2" in verdict.reason


def test_time_cannot_go_backwards() -> None:
    chain = make_chain()
    with pytest.raises(ValueError, match="never goes back in time"):
        next_entry(
            chain[-1],
            log_index=99,
            document_id="ecmr:KZ-1",
            event_type="late",
            payload={},
            recorded_at=T0,
        )


def test_naive_time_and_blank_names_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_entry(None, log_index=0, document_id="d", event_type="e", payload={},
                   recorded_at=datetime(2025, 1, 1))  # fmt: skip
    with pytest.raises(ValueError, match="document_id"):
        next_entry(None, log_index=0, document_id=" ", event_type="e", payload={}, recorded_at=T0)


def test_strict_parsing_refuses_other_spellings() -> None:
    data = make_chain()[0].to_json()
    for member, value in [
        ("payload_digest", data["payload_digest"].upper()),
        ("recorded_at", "2025-03-01T08:00:00+00:00"),
        ("seq", True),
    ]:
        with pytest.raises(ValueError, match=r"hex|RFC 3339|integer"):
            LedgerEntry.from_json({**data, member: value})
    with pytest.raises(ValueError, match="exactly"):
        LedgerEntry.from_json({**data, "extra": 1})

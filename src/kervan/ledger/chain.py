"""Per-document hash chains: every event on a document links to the hash of the one before.

An entry commits to its document, its place in the document's chain (seq from 1), the event
type, the SHA-256 of the event payload's canonical JSON, the previous entry's hash, the time it
was recorded and its index in the global Merkle log. Its hash is SHA-256 over the canonical JSON
of all that, and its Merkle leaf is the same canonical JSON. Payloads stay outside the ledger
(only digests are kept), so a ledger can be shared without the documents.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from kervan.ledger.merkle import leaf_hash
from kervan.signatures.canonical import CanonicalJson, canonical_digest_hex, canonical_json
from kervan.signatures.encoding import hex32_decode, parse_rfc3339, require_aware, rfc3339

#: previous_entry_hash of the first entry of every chain.
GENESIS_HASH: Final = "0" * 64
_FIELDS: Final = frozenset(
    {"log_index", "document_id", "seq", "event_type", "payload_digest",
     "previous_entry_hash", "recorded_at"}
)  # fmt: skip
_NAME = re.compile(r"\S(.*\S)?", re.DOTALL)
_MAX_SAFE_INTEGER: Final = 2**53 - 1
#: JSON string literal as RFC 8785 writes it: quotes, backslash and control characters
#: escaped (\b \t \n \f \r, else \u00xx in lowercase hex), everything else as it is. The
#: very function the stdlib encoder behind `canonical_json`'s fast path uses.
_json_string: Final[Callable[[str], str]] = json.encoder.encode_basestring


@dataclasses.dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One recorded event: a link of its document's chain and a leaf of the global log."""

    log_index: int
    document_id: str
    seq: int
    event_type: str
    payload_digest: str
    previous_entry_hash: str
    recorded_at: datetime

    def to_json(self) -> dict[str, Any]:
        """Return the entry as a JSON object (recorded_at as RFC 3339 UTC)."""
        return {
            "log_index": self.log_index,
            "document_id": self.document_id,
            "seq": self.seq,
            "event_type": self.event_type,
            "payload_digest": self.payload_digest,
            "previous_entry_hash": self.previous_entry_hash,
            "recorded_at": rfc3339(self.recorded_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LedgerEntry:
        """Parse `to_json` output strictly; raise ValueError naming the bad member."""
        if not isinstance(data, Mapping) or set(data) != _FIELDS:
            raise ValueError(f"a ledger entry has exactly the members {sorted(_FIELDS)}")
        for name in ("log_index", "seq"):
            if isinstance(data[name], bool) or not isinstance(data[name], int):
                raise ValueError(f"ledger entry {name} must be an integer")
        for name in ("document_id", "event_type"):
            if not isinstance(data[name], str) or _NAME.fullmatch(data[name]) is None:
                raise ValueError(f"ledger entry {name} must be a non-blank string")
        for name in ("payload_digest", "previous_entry_hash"):
            hex32_decode(data[name])
        return cls(
            data["log_index"],
            data["document_id"],
            data["seq"],
            data["event_type"],
            data["payload_digest"],
            data["previous_entry_hash"],
            parse_rfc3339(data["recorded_at"]),
        )

    def canonical_bytes(self) -> bytes:
        """Return the canonical JSON the entry hash and the Merkle leaf are computed over.

        Byte for byte `canonical_json(self.to_json())`: the member names are fixed ASCII (so
        their order is fixed) and each string is escaped as RFC 8785 escapes it, so the object
        is written directly; anything out of the ordinary takes the general encoder.
        """
        log_index, seq = self.log_index, self.seq
        document_id, event_type = self.document_id, self.event_type
        payload_digest, previous = self.payload_digest, self.previous_entry_hash
        if (
            type(log_index) is int
            and type(seq) is int
            and -_MAX_SAFE_INTEGER <= log_index <= _MAX_SAFE_INTEGER
            and -_MAX_SAFE_INTEGER <= seq <= _MAX_SAFE_INTEGER
            and type(document_id) is str
            and type(event_type) is str
            and type(payload_digest) is str
            and type(previous) is str
        ):
            text = (
                f'{{"document_id":{_json_string(document_id)},'
                f'"event_type":{_json_string(event_type)},"log_index":{log_index},'
                f'"payload_digest":{_json_string(payload_digest)},'
                f'"previous_entry_hash":{_json_string(previous)},'
                f'"recorded_at":{_json_string(rfc3339(self.recorded_at))},"seq":{seq}}}'
            )
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                pass  # a lone surrogate: canonical_json says why it cannot be carried
        return canonical_json(self.to_json())

    def entry_hash(self) -> str:
        """Return SHA-256 over the entry's canonical JSON, as lowercase hex."""
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def leaf_hash(self) -> bytes:
        """Return the entry's RFC 9162 leaf hash in the global Merkle log."""
        return leaf_hash(self.canonical_bytes())


def check_event(document_id: str, event_type: str, recorded_at: datetime) -> datetime:
    """Return `recorded_at` in UTC if an event on `document_id` can be recorded as it is given:
    ids and event types non-blank, the time zone-aware (what `next_entry` checks before the
    chain); raise ValueError otherwise."""
    for name, value in (("document_id", document_id), ("event_type", event_type)):
        if not isinstance(value, str) or _NAME.fullmatch(value) is None:
            raise ValueError(f"{name} must be a non-blank string")
    return require_aware(recorded_at, "recorded_at")


def next_entry(
    previous: LedgerEntry | None,
    *,
    log_index: int,
    document_id: str,
    event_type: str,
    payload: Mapping[str, Any] | CanonicalJson | None = None,
    payload_digest: str | None = None,
    recorded_at: datetime,
) -> LedgerEntry:
    """Return the entry that follows `previous` in `document_id`'s chain (None: the first).

    Give the event's `payload` (as its `CanonicalJson`, its bytes are digested as they are) or
    the SHA-256 `payload_digest` of its canonical JSON, taken earlier (64 lowercase hex).
    Raises ValueError for a blank id or event type, a malformed digest, a naive time, a time
    earlier than the previous entry's, or a `previous` of another document.
    """
    moment = check_event(document_id, event_type, recorded_at)
    if payload is not None and payload_digest is None:
        digest = canonical_digest_hex(payload)
    elif payload is None and payload_digest is not None:
        hex32_decode(payload_digest)
        digest = payload_digest
    else:
        raise ValueError("give either the event's payload or its digest")
    if previous is not None:
        if previous.document_id != document_id:
            raise ValueError("previous entry belongs to another document")
        if moment < previous.recorded_at:
            raise ValueError(
                f"recorded_at {rfc3339(moment)} is before the document's previous entry "
                f"({rfc3339(previous.recorded_at)}); a chain never goes back in time"
            )
    return LedgerEntry(
        log_index=log_index,
        document_id=document_id,
        seq=1 if previous is None else previous.seq + 1,
        event_type=event_type,
        payload_digest=digest,
        previous_entry_hash=GENESIS_HASH if previous is None else previous.entry_hash(),
        recorded_at=moment,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ChainVerdict:
    """Result of checking a chain: `ok`, else the first broken entry's seq and why."""

    document_id: str
    length: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every link held."""
        return self.reason is None


def verify_chain(
    entries: Sequence[LedgerEntry],
    payloads: Sequence[Mapping[str, Any] | CanonicalJson] | None = None,
) -> ChainVerdict:
    """Check one document's chain, in seq order; with `payloads` (one per entry) check digests.

    Returns a ChainVerdict naming the first entry that breaks: seq not contiguous from 1, another
    document, previous_entry_hash not the hash of the entry before, time going backwards, or a
    payload digest that does not match.
    """
    document_id = entries[0].document_id if entries else ""
    if payloads is not None and len(payloads) != len(entries):
        return ChainVerdict(document_id, len(entries), None, "payload count differs from entries")
    previous: LedgerEntry | None = None
    for position, entry in enumerate(entries):
        problem = _link_problem(previous, entry, position + 1, document_id)
        if (
            problem is None
            and payloads is not None
            and canonical_digest_hex(payloads[position]) != entry.payload_digest
        ):
            problem = "payload digest does not match the payload (payload changed)"
        if problem is not None:
            return ChainVerdict(document_id, len(entries), position + 1, problem)
        previous = entry
    return ChainVerdict(document_id, len(entries))


def _link_problem(
    previous: LedgerEntry | None, entry: LedgerEntry, expected_seq: int, document_id: str
) -> str | None:
    if entry.document_id != document_id:
        return f"entry belongs to document {entry.document_id!r}"
    if entry.seq != expected_seq:
        return f"seq is {entry.seq}, expected {expected_seq} (seq runs 1, 2, 3, ... with no gap)"
    if previous is None:
        if entry.previous_entry_hash != GENESIS_HASH:
            return "first entry must link to the genesis hash (64 zeros)"
        return None
    if entry.previous_entry_hash != previous.entry_hash():
        return "previous_entry_hash is not the hash of the entry before (an entry was changed)"
    if entry.recorded_at < previous.recorded_at:
        return "recorded_at is earlier than the previous entry's"
    if entry.log_index <= previous.log_index:
        return "log_index does not increase along the chain"
    return None

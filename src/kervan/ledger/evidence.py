"""Offline evidence bundles: everything needed to prove a signed document was logged, in one file.

A bundle holds the document version, its multi-party JWS, the ledger entry that recorded it, the
inclusion proof of that entry, and the signed tree head the proof leads to. `verify_bundle`
checks it with nothing but a trust list: no network, no database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final, cast

from kervan.errors import KervanError
from kervan.ledger.chain import LedgerEntry
from kervan.ledger.merkle import InclusionProof, verify_inclusion
from kervan.ledger.report import Check, VerificationReport
from kervan.ledger.sth import SignedTreeHead, verify_tree_head
from kervan.signatures.canonical import (
    JsonValue,
    canonical_digest_hex,
    canonical_json,
    parse_json,
)
from kervan.signatures.encoding import b64url_encode
from kervan.signatures.jws import GeneralJws, check_signatures
from kervan.signatures.trustlist import TrustList

BUNDLE_FORMAT: Final = "kervan.evidence-bundle/1"
_MEMBERS: Final = frozenset(
    {"format", "document", "jws", "ledger_entry", "inclusion_proof", "tree_head"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class EvidenceBundle:
    """A document version with its signatures, ledger entry, inclusion proof and tree head."""

    document: dict[str, JsonValue]
    jws: GeneralJws
    entry: LedgerEntry
    inclusion: InclusionProof
    tree_head: SignedTreeHead

    def to_json(self) -> dict[str, Any]:
        """Return the bundle as one JSON object (format, document, jws, ledger_entry, ...)."""
        return {
            "format": BUNDLE_FORMAT,
            "document": self.document,
            "jws": self.jws,
            "ledger_entry": self.entry.to_json(),
            "inclusion_proof": self.inclusion.to_json(),
            "tree_head": self.tree_head.to_json(),
        }

    def to_bytes(self) -> bytes:
        """Return the bundle as canonical JSON bytes, ready to be written to a file or a QR."""
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvidenceBundle:
        """Parse `to_json` output strictly; raise ValueError naming what is malformed."""
        if not isinstance(data, Mapping) or set(data) != _MEMBERS:
            raise ValueError(f"an evidence bundle has exactly the members {sorted(_MEMBERS)}")
        if data["format"] != BUNDLE_FORMAT:
            raise ValueError(f"unknown bundle format {data['format']!r}; expected {BUNDLE_FORMAT}")
        if not isinstance(data["document"], dict):
            raise ValueError("document must be a JSON object")
        jws = data["jws"]
        if not isinstance(jws, dict) or not isinstance(jws.get("signatures"), list):
            raise ValueError("jws must be a JWS JSON General Serialization object")
        return cls(
            document=data["document"],
            jws=cast(GeneralJws, jws),
            entry=LedgerEntry.from_json(data["ledger_entry"]),
            inclusion=InclusionProof.from_json(data["inclusion_proof"]),
            tree_head=SignedTreeHead.from_json(data["tree_head"]),
        )


def verify_bundle(bundle: EvidenceBundle, trust_list: TrustList) -> VerificationReport:
    """Verify an evidence bundle offline against `trust_list`; return the report of every check.

    Checks, in order: the document canonicalises; the JWS payload is that document; each
    signature (key rules and cryptography); the ledger entry's payload digest is the document's;
    the inclusion proof is for that entry and at the tree head's size; the entry's leaf leads to
    the tree head's root; the tree head's signature and fields.
    """
    checks: list[Check] = []
    try:
        payload_segment = b64url_encode(canonical_json(bundle.document))
        digest = canonical_digest_hex(bundle.document)
        checks.append(Check("document_canonical", True, f"sha256 {digest}"))
    except KervanError as exc:
        payload_segment, digest = None, None
        checks.append(Check("document_canonical", False, exc.message))
    same = payload_segment is not None and bundle.jws.get("payload") == payload_segment
    checks.append(
        _verdict(
            "jws_payload_is_document",
            same,
            "the signatures cover this document",
            "the signed payload is not this document (document or JWS changed)",
        )
    )
    entry = bundle.entry
    for outcome in check_signatures(bundle.jws, trust_list):
        name = f"signature[{outcome.index}]" if outcome.index >= 0 else "jws_format"
        if outcome.verified is not None:
            v = outcome.verified
            step = (
                f"signs {v.step!r} on version {v.version}"
                if v.step is not None
                else "signed before headers named the step and version"
            )
            detail = (
                f"{v.party} as {v.role} with {v.kid} ({v.alg}) at {v.signed_at.isoformat()}; {step}"
            )
            checks.append(Check(name, True, detail))
            if v.version is not None:
                checks.append(_version_check(name, v.version, entry))
        elif outcome.error is not None:
            checks.append(Check(name, False, outcome.error.message))
    matches = digest is not None and entry.payload_digest == digest
    checks.append(
        _verdict(
            "entry_digest_is_document",
            matches,
            f"entry {entry.log_index} recorded this document",
            "the ledger entry's payload digest is not the document's",
        )
    )
    proof, head = bundle.inclusion, bundle.tree_head
    for_entry = proof.leaf_index == entry.log_index
    checks.append(
        _verdict(
            "proof_is_for_entry",
            for_entry,
            f"leaf {proof.leaf_index}",
            f"proof is for leaf {proof.leaf_index}, entry is {entry.log_index}",
        )
    )
    at_head = proof.tree_size == head.tree_size
    checks.append(
        _verdict(
            "proof_at_tree_head_size",
            at_head,
            f"tree size {head.tree_size}",
            f"proof is at size {proof.tree_size}, tree head at {head.tree_size}",
        )
    )
    try:
        verify_inclusion(
            proof.leaf_index, proof.tree_size, entry.leaf_hash(), proof.hashes, head.root_hash
        )
        checks.append(Check("entry_in_tree_head", True, "inclusion proof leads to the signed root"))
    except KervanError as exc:
        checks.append(Check("entry_in_tree_head", False, exc.message))
    try:
        signed = verify_tree_head(head, trust_list)
        checks.append(
            Check("tree_head_signature", True, f"signed by {signed.party} ({signed.kid})")
        )
    except KervanError as exc:
        checks.append(Check("tree_head_signature", False, exc.message))
    return VerificationReport(_subject(bundle), tuple(checks))


def verify_bundle_json(
    data: bytes | str | Mapping[str, Any], trust_list: TrustList
) -> VerificationReport:
    """Parse and verify a bundle given as JSON bytes, text or object; never raises on bad input.

    A bundle that cannot be parsed yields a report whose single failed check is bundle_format.
    """
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        parsed = parse_json(raw) if isinstance(raw, bytes) else raw
        if not isinstance(parsed, Mapping):
            raise ValueError("an evidence bundle is a JSON object")
        bundle = EvidenceBundle.from_json(parsed)
    except (KervanError, ValueError, TypeError) as exc:
        reason = exc.message if isinstance(exc, KervanError) else str(exc)
        return VerificationReport("evidence bundle", (Check("bundle_format", False, reason),))
    return verify_bundle(bundle, trust_list)


def entry_version(entry: LedgerEntry) -> int | None:
    """The document version a version entry ("version:N") records; None for other events."""
    kind, _, number = entry.event_type.partition(":")
    return int(number) if kind == "version" and number.isdigit() else None


def _version_check(name: str, signed_version: int, entry: LedgerEntry) -> Check:
    # The header's version must be the one the bundle's ledger entry recorded: a signature of
    # an earlier version cannot be carried over to a later one with the same payload.
    recorded = entry_version(entry)
    return _verdict(
        f"{name}.version",
        recorded == signed_version,
        f"signed version {signed_version} is the one ledger entry {entry.log_index} recorded",
        f"the signature names version {signed_version}, the ledger entry records "
        f"{entry.event_type!r}",
    )


def _verdict(name: str, ok: bool, passed: str, failed: str) -> Check:
    return Check(name, ok, passed if ok else failed)


def _subject(bundle: EvidenceBundle) -> str:
    return (
        f"evidence for document {bundle.entry.document_id!r} (log entry {bundle.entry.log_index})"
    )

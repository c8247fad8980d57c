"""Offline verification of what a border officer holds, for `kervan verify FILE --trust-list JWKS`
(kervan.cli.verify).

FILE is either an evidence bundle (JSON, format kervan.evidence-bundle/1: a document, its
multi-party JWS, its ledger entry, the inclusion proof and the signed tree head) or a scanned
e-Permit QR payload (a compact ES256 JWS), alone or followed by (or wrapped with, as
{"qr": ..., "evidence": {...}}) the evidence bundle of the permit. Which one it is is detected
from the content and printed. Nothing but FILE and the trust list is read: no network, no
database.

Every check is printed by name, ok or FAILED with a stable reason code. Exit codes:
0 everything verified; 13 (SignatureError) a document or QR signature, or the payload it covers,
does not hold; 15 (LedgerIntegrityError) the ledger evidence (entry, inclusion proof, tree head)
does not hold and the signatures do; 2 (InvalidRequestError) FILE or the trust list is missing,
unreadable or not what it should be.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kervan.errors import (
    CanonicalJsonError,
    InvalidRequestError,
    KervanError,
    LedgerIntegrityError,
    SignatureError,
    TrustListError,
)
from kervan.ledger.evidence import BUNDLE_FORMAT, EvidenceBundle, verify_bundle_json
from kervan.ledger.sth import verify_tree_head
from kervan.signatures.canonical import JsonValue, parse_json
from kervan.signatures.encoding import b64url_decode, from_unix_seconds, rfc3339
from kervan.signatures.jws import check_signatures, verify_compact
from kervan.signatures.keys import ES256
from kervan.signatures.trustlist import TrustList

_COMPACT_JWS: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_QR_CLAIMS: Final = {"id": str, "iat": int, "exp": int, "pn": str, "cn": str}
# Reason codes for the bundle checks whose failure has one cause; the signature checks and the
# tree head carry the reason the core raised (unknown_kid, key_revoked, bad_signature, ...).
_BUNDLE_REASONS: Final = {
    "bundle_format": "malformed_bundle",
    "document_canonical": "document_not_canonical",
    "jws_payload_is_document": "payload_changed",
    "entry_digest_is_document": "entry_not_for_document",
    "proof_is_for_entry": "proof_for_another_entry",
    "proof_at_tree_head_size": "proof_size_mismatch",
    "entry_in_tree_head": "proof_does_not_match_root",
}
# Checks whose failure means a signature (or what it signs) does not hold; the rest are ledger.
_SIGNATURE_CHECKS: Final = frozenset(
    {"document_canonical", "jws_payload_is_document", "jws_format",
     "qr_format", "qr_signature", "qr_validity"}
)  # fmt: skip


class InputKind(StrEnum):
    """What FILE turned out to hold."""

    EVIDENCE_BUNDLE = "evidence bundle"
    QR = "e-Permit QR payload"
    QR_WITH_EVIDENCE = "e-Permit QR payload with its evidence bundle"


@dataclasses.dataclass(frozen=True, slots=True)
class Finding:
    """One check: its name, ok, a reason code when it failed, and what was found."""

    name: str
    ok: bool
    reason: str | None
    detail: str

    @property
    def about_signatures(self) -> bool:
        """True when this check is about a signature or the payload it covers."""
        return self.name in _SIGNATURE_CHECKS or self.name.startswith("signature[")

    def to_json(self) -> dict[str, JsonValue]:
        """Return {name, ok, reason, detail}."""
        return {"name": self.name, "ok": self.ok, "reason": self.reason, "detail": self.detail}


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """Everything checked about one FILE, in the order the checks ran."""

    kind: InputKind
    subject: str
    checked_at: datetime
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when there was at least one check and all passed."""
        return bool(self.findings) and all(f.ok for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        """The checks that failed."""
        return [f for f in self.findings if not f.ok]

    def error(self) -> KervanError | None:
        """Return the error whose exit code says what kind of check failed (None when ok)."""
        failures = self.failures
        if not failures:
            return None if self.findings else InvalidRequestError("nothing was checked")
        names = ", ".join(f"{f.name} ({f.reason})" for f in failures)
        tally = f"{len(failures)} of {len(self.findings)} checks failed: {names}"
        signature = [f for f in failures if f.about_signatures]
        if signature:
            return SignatureError(signature[0].reason or "failed", tally)
        return LedgerIntegrityError(failures[0].name, tally)

    def to_json(self) -> dict[str, JsonValue]:
        """Return {kind, subject, ok, checked_at, checks: [...]}."""
        return {
            "kind": self.kind.value,
            "subject": self.subject,
            "ok": self.ok,
            "checked_at": rfc3339(self.checked_at),
            "checks": [f.to_json() for f in self.findings],
        }


@dataclasses.dataclass(frozen=True, slots=True)
class _Input:
    kind: InputKind
    token: str | None
    bundle: Mapping[str, Any] | None


def load_trust_list(path: Path) -> TrustList:
    """Read a JWKS trust list (as `TrustList.to_jwks` writes it) from `path`.

    Raises InvalidRequestError, in one line, when the file is missing, unreadable, not JSON, not
    a JWKS, holds a private key, or holds no key at all.
    """
    raw = _read(path, "trust list")
    try:
        value = parse_json(raw)
    except CanonicalJsonError as exc:
        raise InvalidRequestError(f"trust list {path} is not JSON: {exc.message}") from None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"trust list {path} is not a JWKS object {{'keys': [...]}}")
    try:
        trust = TrustList.from_jwks(value)
    except TrustListError as exc:
        raise InvalidRequestError(f"trust list {path}: {exc.message}") from None
    if not len(trust):
        raise InvalidRequestError(f"trust list {path} holds no keys")
    return trust


def verify_file(path: Path, trust_list: TrustList, *, now: datetime) -> Verdict:
    """Detect what `path` holds and verify it against `trust_list` as of `now`.

    Returns the verdict with every check. Raises InvalidRequestError when the file is missing,
    unreadable, or neither an evidence bundle nor a QR payload.
    """
    found = _detect(path)
    findings: list[Finding] = []
    subject = "evidence bundle"
    claims: dict[str, JsonValue] = {}
    if found.token is not None:
        claims, qr_findings = _qr_findings(found.token, trust_list, now)
        findings += qr_findings
        permit = claims.get("id")
        subject = f"e-Permit {permit} QR" if isinstance(permit, str) else "e-Permit QR"
    if found.bundle is not None:
        bundle_subject, bundle_findings = _bundle_findings(found.bundle, trust_list)
        findings += bundle_findings
        if found.token is None:
            subject = bundle_subject
        else:
            findings.append(_qr_matches_evidence(found.token, claims, found.bundle))
    return Verdict(found.kind, subject, now, tuple(findings))


def print_verdict(verdict: Verdict, file: Path) -> None:
    """Print every check of `verdict` as a table, VERIFIED or NOT VERIFIED in its title."""
    out = Console(soft_wrap=False)
    out.print(f"Detected {verdict.kind.value} in {escape(str(file))}", highlight=False)
    state = (
        "[bold green]VERIFIED[/]"
        if verdict.ok
        else f"[bold red]NOT VERIFIED[/] ({len(verdict.failures)} failed)"
    )
    table = Table(title=f"{verdict.subject}: {state}", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for finding in verdict.findings:
        if finding.ok:
            table.add_row(finding.name, "[green]ok[/]", escape(finding.detail))
        else:
            reason = escape(f"{finding.reason}: ")
            detail = f"[bold]{reason}[/]{escape(finding.detail)}"
            table.add_row(finding.name, "[bold red]FAILED[/]", detail)
    out.print(table)
    out.print(f"checked at {rfc3339(verdict.checked_at)} against the given trust list only")


def moment(text: str | None) -> datetime:
    """The time --at names (RFC 3339 with a zone), or now; InvalidRequestError otherwise."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(f"--at {text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise InvalidRequestError(f"--at {text!r} needs a time zone, e.g. 2025-06-01T00:00:00Z")
    return moment.astimezone(UTC)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidRequestError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InvalidRequestError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _detect(path: Path) -> _Input:
    raw = _read(path, "file")
    neither = (
        f"{path} is neither an evidence bundle (JSON with format {BUNDLE_FORMAT}) nor a scanned "
        "QR payload (a compact JWS)"
    )
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidRequestError(f"{neither}: it is not UTF-8 text") from None
    if not text:
        raise InvalidRequestError(f"{path} is empty")
    if text.startswith("{"):
        return _detect_json(_json_object(text, f"{path}"), path, neither)
    token, _, rest = text.partition("\n")
    token = token.strip()
    if _COMPACT_JWS.fullmatch(token) is None:
        raise InvalidRequestError(neither)
    rest = rest.strip()
    if not rest:
        return _Input(InputKind.QR, token, None)
    bundle = _json_object(rest, f"the text after the QR payload in {path}")
    if bundle.get("format") != BUNDLE_FORMAT:
        raise InvalidRequestError(
            f"the text after the QR payload in {path} is not an evidence bundle "
            f"(format {BUNDLE_FORMAT})"
        )
    return _Input(InputKind.QR_WITH_EVIDENCE, token, bundle)


def _detect_json(value: dict[str, JsonValue], path: Path, neither: str) -> _Input:
    if "format" in value:
        if value["format"] != BUNDLE_FORMAT:
            raise InvalidRequestError(
                f"{path}: format {value['format']!r} is not supported; expected {BUNDLE_FORMAT}"
            )
        return _Input(InputKind.EVIDENCE_BUNDLE, None, value)
    if "qr" in value and set(value) <= {"qr", "evidence"}:
        token = value["qr"]
        if not isinstance(token, str) or _COMPACT_JWS.fullmatch(token.strip()) is None:
            raise InvalidRequestError(f"{path}: 'qr' must be the scanned compact JWS text")
        evidence = value.get("evidence")
        if evidence is None:
            return _Input(InputKind.QR, token.strip(), None)
        if not isinstance(evidence, dict) or evidence.get("format") != BUNDLE_FORMAT:
            raise InvalidRequestError(
                f"{path}: 'evidence' must be an evidence bundle (format {BUNDLE_FORMAT})"
            )
        return _Input(InputKind.QR_WITH_EVIDENCE, token.strip(), evidence)
    raise InvalidRequestError(neither)


def _json_object(text: str, what: str) -> dict[str, JsonValue]:
    try:
        value = parse_json(text.encode("utf-8"))
    except CanonicalJsonError as exc:
        raise InvalidRequestError(f"{what} is not valid JSON: {exc.message}") from None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"{what} is JSON but not an object")
    return value


def _bundle_findings(data: Mapping[str, Any], trust_list: TrustList) -> tuple[str, list[Finding]]:
    report = verify_bundle_json(data, trust_list)
    try:
        bundle: EvidenceBundle | None = EvidenceBundle.from_json(data)
    except (ValueError, TypeError):
        bundle = None
    # The report says which checks failed; the reason codes come from the same core functions
    # run again, since the report keeps only messages.
    signature_reasons: dict[str, str] = {}
    tree_head_reason = "tree_head_invalid"
    if bundle is not None:
        for outcome in check_signatures(bundle.jws, trust_list):
            if outcome.error is not None:
                name = f"signature[{outcome.index}]" if outcome.index >= 0 else "jws_format"
                signature_reasons[name] = outcome.error.reason
        tree_head_reason = _tree_head_reason(bundle, trust_list)
    findings = []
    for check in report.checks:
        reason = None
        if not check.ok:
            reason = (
                tree_head_reason
                if check.name == "tree_head_signature"
                else signature_reasons.get(check.name)
                or _BUNDLE_REASONS.get(check.name)
                or (
                    "signature_for_another_version" if check.name.endswith(".version") else "failed"
                )
            )
        findings.append(Finding(check.name, check.ok, reason, check.detail))
    return report.subject, findings


def _tree_head_reason(bundle: EvidenceBundle, trust_list: TrustList) -> str:
    try:
        verify_tree_head(bundle.tree_head, trust_list)
    except SignatureError as exc:
        return exc.reason
    except LedgerIntegrityError:
        return "tree_head_fields_changed"
    return "tree_head_invalid"


def _qr_findings(
    token: str, trust_list: TrustList, now: datetime
) -> tuple[dict[str, JsonValue], list[Finding]]:
    header_segment, claims_segment, _ = token.split(".")
    header = _segment_object(header_segment)
    claims = _segment_object(claims_segment) or {}
    problems = []
    if header is None:
        problems.append("the header is not a base64url JSON object")
    elif header.get("alg") != ES256:
        problems.append(f"alg is {header.get('alg')!r}; an e-Permit QR is signed with ES256")
    if not claims:
        problems.append("the claims are not a base64url JSON object")
    else:
        for name, kind in _QR_CLAIMS.items():
            value = claims.get(name)
            if isinstance(value, bool) or not isinstance(value, kind):
                problems.append(f"claim {name!r} is missing or not a {kind.__name__}")
    findings = [
        Finding("qr_format", False, "malformed", "; ".join(problems))
        if problems
        else Finding(
            "qr_format",
            True,
            None,
            f"compact ES256 JWS, permit {claims['id']}, plate {claims['pn']}, {claims['cn']}",
        )
    ]
    try:
        signed = verify_compact(token, trust_list)
        when = f" at {rfc3339(signed.signed_at)}" if signed.signed_at else ""
        detail = f"signed by {signed.party} with {signed.kid} ({signed.alg}){when}"
        findings.append(Finding("qr_signature", True, None, detail))
    except SignatureError as exc:
        findings.append(Finding("qr_signature", False, exc.reason, exc.message))
    findings.append(_qr_validity(claims, now))
    return claims, findings


def _qr_validity(claims: Mapping[str, JsonValue], now: datetime) -> Finding:
    iat, exp = _unix_seconds(claims.get("iat")), _unix_seconds(claims.get("exp"))
    if iat is None or exp is None:
        return Finding("qr_validity", False, "malformed", "the QR carries no usable iat and exp")
    start, end = from_unix_seconds(iat), from_unix_seconds(exp)
    span = f"valid from {rfc3339(start)} until {rfc3339(end)}, checked at {rfc3339(now)}"
    if now >= end:
        return Finding("qr_validity", False, "expired", f"the permit QR expired: {span}")
    if now < start:
        return Finding("qr_validity", False, "not_yet_valid", f"not valid yet: {span}")
    return Finding("qr_validity", True, None, span)


def _qr_matches_evidence(
    token: str, claims: Mapping[str, JsonValue], bundle: Mapping[str, Any]
) -> Finding:
    document = bundle.get("document")
    if not isinstance(document, dict):
        return Finding("qr_matches_evidence", False, "evidence_for_another_permit", "no document")
    pairs = (("permit_id", "id"), ("plate_number", "pn"), ("company_name", "cn"))
    differ = [
        f"{field} {document.get(field)!r} != QR {claim} {claims.get(claim)!r}"
        for field, claim in pairs
        if field in document or field == "permit_id"
        if document.get(field) != claims.get(claim)
    ]
    if "qr_code" in document and document["qr_code"] != token:
        differ.append("the permit's recorded qr_code is not this QR")
    if differ:
        return Finding(
            "qr_matches_evidence", False, "evidence_for_another_permit", "; ".join(differ)
        )
    return Finding(
        "qr_matches_evidence",
        True,
        None,
        f"the evidence records permit {claims.get('id')} with this QR",
    )


def _segment_object(segment: str) -> dict[str, JsonValue] | None:
    try:
        value = parse_json(b64url_decode(segment))
    except (ValueError, CanonicalJsonError):
        return None
    return value if isinstance(value, dict) else None


def _unix_seconds(value: JsonValue) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value

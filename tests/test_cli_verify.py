"""`kervan verify`: real evidence verified offline, every tampering named by the check it breaks."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner, Result

from kervan.cli import app
from kervan.documents.ecmr import EcmrVersion
from kervan.documents.epermit import Permit, PermitType, Quota, issue_permit, qr_claims
from kervan.ledger import EvidenceBundle, InMemoryLedgerStore, Ledger
from kervan.signatures.canonical import canonical_json
from kervan.signatures.encoding import b64url_decode, b64url_encode
from kervan.signatures.jws import add_signature, sign_compact, sign_document, sign_version
from kervan.signatures.keys import Ed25519Signer, Es256Signer
from kervan.signatures.trustlist import TrustList
from tests.documents.corridor_samples import CARRIER, CONSIGNOR, T0, ecmr_content
from tests.ledger.bundles import evidence_bundle, tree_head

runner = CliRunner()

BUNDLE_CHECKS = [
    "document_canonical",
    "jws_payload_is_document",
    "signature[0]",
    "signature[1]",
    "entry_digest_is_document",
    "proof_is_for_entry",
    "proof_at_tree_head_size",
    "entry_in_tree_head",
    "tree_head_signature",
]
QR_CHECKS = ["qr_format", "qr_signature", "qr_validity"]
SIGNATURE_EXIT, LEDGER_EXIT, INVALID_EXIT = 13, 15, 2
DURING_PERMIT = "2025-06-01T12:00:00Z"
AFTER_PERMIT = "2026-01-02T00:00:00Z"


@dataclasses.dataclass
class World:
    consignor: Ed25519Signer
    carrier: Ed25519Signer
    log: Ed25519Signer
    permit_authority: Es256Signer
    trust: TrustList
    ecmr_bundle: EvidenceBundle
    permit: Permit
    qr: str
    permit_bundle: EvidenceBundle
    old_qr: str


def _permit(quota: Quota, used: int, issued: date, expires: date) -> Permit:
    return issue_permit(
        quota,
        used,
        plate_number="34ABC123",
        company_name="Anadolu Taşımacılık A.Ş.",
        company_id="TR6210034567",
        issued_at=issued,
        expires_at=expires,
        departure_country="TR",
        arrival_country="UZ",
    )


@pytest.fixture(scope="module")
def world() -> World:
    consignor = Ed25519Signer.generate("cn-xian-longhai-2025", party=CONSIGNOR.id)
    carrier = Ed25519Signer.generate("az-ady-container-2025", party=CARRIER.id)
    log = Ed25519Signer.generate("ledger-az-node-1", party="ledger:az-node")
    authority = Es256Signer.generate("tr-permit-2025", party="TR")
    trust = TrustList()
    for signer in (consignor, carrier, log, authority):
        trust.add_signer(signer, not_before=datetime(2025, 1, 1, tzinfo=UTC))

    ledger = Ledger(InMemoryLedgerStore(), log)
    for i in range(5):
        ledger.append(f"ecmr:AZ-2025-00{i}", "issued", {"n": i}, T0 - timedelta(hours=5 - i))
    version = EcmrVersion(number=1, content=ecmr_content(), created_at=T0, reason="issued")
    document: dict[str, Any] = {
        "id": "ecmr:AZ-2025-000731",
        "version": version.model_dump(mode="json"),
    }
    jws = sign_document(document, consignor, "consignor", T0 + timedelta(minutes=5))
    jws = add_signature(jws, carrier, "carrier", T0 + timedelta(minutes=40))
    entry = ledger.append(document["id"], "signed", document, T0 + timedelta(hours=1))

    quota = Quota(
        permit_issuer="TR",
        permit_issued_for="UZ",
        permit_year=2025,
        permit_type=PermitType.BILATERAL,
        quantity=50,
    )
    permit = _permit(quota, 0, date(2025, 3, 1), date(2025, 12, 31))
    qr = sign_compact(qr_claims(permit), authority)
    permit = permit.model_copy(update={"qr_code": qr})
    wire = permit.to_wire()
    permit_jws = sign_document(wire, authority, "issuer", datetime(2025, 3, 1, 8, tzinfo=UTC))
    permit_entry = ledger.append(permit.permit_id, "issued", wire, T0 + timedelta(hours=2))
    for i in range(3):
        ledger.append("ecmr:AZ-2025-000731", "event", {"n": i}, T0 + timedelta(hours=3 + i))
    old = _permit(quota, 1, date(2025, 1, 2), date(2025, 3, 31))

    head = tree_head(ledger, log, T0 + timedelta(hours=8))
    return World(
        consignor=consignor,
        carrier=carrier,
        log=log,
        permit_authority=authority,
        trust=trust,
        ecmr_bundle=evidence_bundle(ledger, document, jws, entry.log_index, head),
        permit=permit,
        qr=qr,
        permit_bundle=evidence_bundle(ledger, wire, permit_jws, permit_entry.log_index, head),
        old_qr=sign_compact(qr_claims(old), authority),
    )


def write(tmp_path: Path, name: str, data: bytes | str | dict[str, Any]) -> Path:
    path = tmp_path / name
    if isinstance(data, dict):
        data = canonical_json(data)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def jwks(trust: TrustList) -> dict[str, Any]:
    return trust.to_jwks()


def run(file: Path, trust: Path, *extra: str) -> Result:
    return runner.invoke(app, ["verify", str(file), "--trust-list", str(trust), *extra])


def checks_of(result: Result) -> dict[str, dict[str, Any]]:
    report = json.loads(result.stdout)
    return {check["name"]: check for check in report["checks"]}


def failed(result: Result) -> set[str]:
    return {name for name, check in checks_of(result).items() if not check["ok"]}


def flip_char(text: str, position: int) -> str:
    """Change one base64url character so the decoded bytes differ but stay canonical."""
    replacement = "A" if text[position] != "A" else "B"
    return text[:position] + replacement + text[position + 1 :]


@pytest.fixture
def trust_file(tmp_path: Path, world: World) -> Path:
    return write(tmp_path, "trust.jwks", jwks(world.trust))


@pytest.fixture
def bundle_json(world: World) -> dict[str, Any]:
    # A fresh deep copy per test, to tamper with.
    result: dict[str, Any] = json.loads(world.ecmr_bundle.to_bytes())
    return result


# --- the good case -------------------------------------------------------------------------


def test_good_bundle_lists_every_check_ok(tmp_path: Path, world: World, trust_file: Path) -> None:
    bundle = write(tmp_path, "ecmr.evidence.json", world.ecmr_bundle.to_bytes())
    result = run(bundle, trust_file)
    assert result.exit_code == 0, result.output
    assert "Detected evidence bundle" in result.stdout
    assert "VERIFIED" in result.stdout
    assert "NOT VERIFIED" not in result.stdout
    assert "FAILED" not in result.stdout
    lines = result.stdout.splitlines()
    for name in BUNDLE_CHECKS:
        row = next(line for line in lines if f" {name} " in line)
        assert " ok " in row, row
    assert "ADY Container" not in result.stdout  # the document is checked, not printed
    assert result.stderr == ""


def test_good_bundle_as_json(tmp_path: Path, world: World, trust_file: Path) -> None:
    bundle = write(tmp_path, "ecmr.evidence.json", world.ecmr_bundle.to_bytes())
    result = run(bundle, trust_file, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "evidence bundle"
    assert report["ok"] is True
    assert "ecmr:AZ-2025-000731" in report["subject"]
    assert [c["name"] for c in report["checks"]] == BUNDLE_CHECKS
    assert all(c["ok"] and c["reason"] is None for c in report["checks"])
    signers = checks_of(result)
    assert CONSIGNOR.id in signers["signature[0]"]["detail"]
    assert "as carrier" in signers["signature[1]"]["detail"]
    assert "ledger:az-node" in signers["tree_head_signature"]["detail"]


# --- tampering, one part at a time -----------------------------------------------------------


def _sig(bundle: dict[str, Any], index: int) -> None:
    entry = bundle["jws"]["signatures"][index]
    entry["signature"] = flip_char(entry["signature"], 20)


def _proof_hash(bundle: dict[str, Any]) -> None:
    hashes = bundle["inclusion_proof"]["hashes"]
    assert hashes, "the proof must have hashes to tamper with"
    hashes[0] = "ab" * 32


def _proof_index(bundle: dict[str, Any]) -> None:
    bundle["inclusion_proof"]["leaf_index"] += 1


def _tree_head_root(bundle: dict[str, Any]) -> None:
    bundle["tree_head"]["root_hash"] = "cd" * 32


def _tree_head_signature(bundle: dict[str, Any]) -> None:
    head, claims, signature = bundle["tree_head"]["signature"].split(".")
    bundle["tree_head"]["signature"] = f"{head}.{claims}.{flip_char(signature, 10)}"


def _tree_head_size(bundle: dict[str, Any]) -> None:
    bundle["tree_head"]["tree_size"] += 1


def _entry_digest(bundle: dict[str, Any]) -> None:
    bundle["ledger_entry"]["payload_digest"] = "ef" * 32


def _signed_header(bundle: dict[str, Any]) -> None:
    entry = bundle["jws"]["signatures"][0]
    header = json.loads(b64url_decode(entry["protected"]))
    header["role"] = "consignee"
    entry["protected"] = b64url_encode(canonical_json(header))


def _swap_payload(bundle: dict[str, Any]) -> None:
    # The document and its JWS changed together: the signatures no longer cover the payload.
    bundle["document"]["version"]["reason"] = "re-issued"
    bundle["jws"]["payload"] = b64url_encode(canonical_json(bundle["document"]))


TAMPERINGS: list[tuple[str, Callable[[dict[str, Any]], None], int, dict[str, str]]] = [
    ("signature", lambda b: _sig(b, 1), SIGNATURE_EXIT, {"signature[1]": "bad_signature"}),
    ("signed header", _signed_header, SIGNATURE_EXIT, {"signature[0]": "bad_signature"}),
    (
        "document and payload",
        _swap_payload,
        SIGNATURE_EXIT,
        {
            "signature[0]": "bad_signature",
            "signature[1]": "bad_signature",
            "entry_digest_is_document": "entry_not_for_document",
        },
    ),
    (
        "proof hash",
        _proof_hash,
        LEDGER_EXIT,
        {"entry_in_tree_head": "proof_does_not_match_root"},
    ),
    (
        "proof index",
        _proof_index,
        LEDGER_EXIT,
        {
            "proof_is_for_entry": "proof_for_another_entry",
            "entry_in_tree_head": "proof_does_not_match_root",
        },
    ),
    (
        "tree head root",
        _tree_head_root,
        LEDGER_EXIT,
        {
            "entry_in_tree_head": "proof_does_not_match_root",
            "tree_head_signature": "tree_head_fields_changed",
        },
    ),
    (
        "tree head signature",
        _tree_head_signature,
        LEDGER_EXIT,
        {"tree_head_signature": "bad_signature"},
    ),
    (
        "tree head size",
        _tree_head_size,
        LEDGER_EXIT,
        {
            "proof_at_tree_head_size": "proof_size_mismatch",
            "tree_head_signature": "tree_head_fields_changed",
        },
    ),
    (
        "ledger entry",
        _entry_digest,
        LEDGER_EXIT,
        {
            "entry_digest_is_document": "entry_not_for_document",
            "entry_in_tree_head": "proof_does_not_match_root",
        },
    ),
]


@pytest.mark.parametrize(
    ("tamper", "exit_code", "expected"),
    [pytest.param(fn, code, expected, id=name) for name, fn, code, expected in TAMPERINGS],
)
def test_each_tampering_is_named(
    tmp_path: Path,
    trust_file: Path,
    bundle_json: dict[str, Any],
    tamper: Callable[[dict[str, Any]], None],
    exit_code: int,
    expected: dict[str, str],
) -> None:
    tamper(bundle_json)
    result = run(write(tmp_path, "tampered.json", bundle_json), trust_file, "--json")
    assert result.exit_code == exit_code, result.output
    checks = checks_of(result)
    assert failed(result) == set(expected)
    assert {name: checks[name]["reason"] for name in expected} == expected
    assert json.loads(result.stdout)["ok"] is False
    first = next(name for name in checks if name in expected)
    assert first in result.stderr
    assert "Traceback" not in result.output


def test_a_changed_byte_of_the_document_is_payload_changed(
    tmp_path: Path, world: World, trust_file: Path
) -> None:
    raw = world.ecmr_bundle.to_bytes()
    assert raw.count(b"ADY Container") == 1
    tampered = raw.replace(b"ADY Container", b"ADZ Container")
    result = run(write(tmp_path, "tampered.json", tampered), trust_file, "--json")
    assert result.exit_code == SIGNATURE_EXIT, result.output
    assert failed(result) == {"jws_payload_is_document", "entry_digest_is_document"}
    assert checks_of(result)["jws_payload_is_document"]["reason"] == "payload_changed"
    assert "error (signature_invalid)" in result.stderr
    assert "payload_changed" in result.stderr


def test_the_table_says_failed_and_why(tmp_path: Path, world: World, trust_file: Path) -> None:
    bundle = json.loads(world.ecmr_bundle.to_bytes())
    _proof_hash(bundle)
    result = run(write(tmp_path, "tampered.json", bundle), trust_file)
    assert result.exit_code == LEDGER_EXIT
    assert "NOT VERIFIED" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(rows) == 1
    assert "entry_in_tree_head" in rows[0]
    assert "proof_does_not_match_root" in rows[0]
    assert "error (ledger_integrity_failed)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_revoked_carrier_key(tmp_path: Path, world: World, bundle_json: dict[str, Any]) -> None:
    trust = TrustList.from_jwks(jwks(world.trust))
    trust.revoke(world.carrier.kid, at=T0)  # before the carrier signed (T0 + 40 min)
    trust_file = write(tmp_path, "revoked.jwks", jwks(trust))
    result = run(write(tmp_path, "ecmr.json", bundle_json), trust_file, "--json")
    assert result.exit_code == SIGNATURE_EXIT, result.output
    assert failed(result) == {"signature[1]"}
    assert checks_of(result)["signature[1]"]["reason"] == "key_revoked"
    assert "signature[1] (key_revoked)" in result.stderr
    assert world.carrier.kid in checks_of(result)["signature[1]"]["detail"]


def test_revocation_after_signing_keeps_the_signature(
    tmp_path: Path, world: World, bundle_json: dict[str, Any]
) -> None:
    trust = TrustList.from_jwks(jwks(world.trust))
    trust.revoke(world.carrier.kid, at=T0 + timedelta(days=2))
    result = run(
        write(tmp_path, "ecmr.json", bundle_json),
        write(tmp_path, "later.jwks", jwks(trust)),
        "--json",
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("missing", "exit_code", "check"),
    [
        ("consignor", SIGNATURE_EXIT, "signature[0]"),
        ("carrier", SIGNATURE_EXIT, "signature[1]"),
        ("log", LEDGER_EXIT, "tree_head_signature"),
    ],
)
def test_key_missing_from_the_trust_list(
    tmp_path: Path,
    world: World,
    bundle_json: dict[str, Any],
    missing: str,
    exit_code: int,
    check: str,
) -> None:
    kid = getattr(world, missing).kid
    keys = [key for key in jwks(world.trust)["keys"] if key["kid"] != kid]
    trust_file = write(tmp_path, "partial.jwks", {"keys": keys})
    result = run(write(tmp_path, "ecmr.json", bundle_json), trust_file, "--json")
    assert result.exit_code == exit_code, result.output
    assert failed(result) == {check}
    assert checks_of(result)[check]["reason"] == "unknown_kid"


def test_damaged_bundle_structure_is_a_failed_format_check(
    tmp_path: Path, trust_file: Path, bundle_json: dict[str, Any]
) -> None:
    del bundle_json["ledger_entry"]
    result = run(write(tmp_path, "damaged.json", bundle_json), trust_file, "--json")
    assert result.exit_code == LEDGER_EXIT, result.output
    assert failed(result) == {"bundle_format"}
    assert checks_of(result)["bundle_format"]["reason"] == "malformed_bundle"


# --- e-Permit QR ---------------------------------------------------------------------------


def test_scanned_qr_verifies(tmp_path: Path, world: World, trust_file: Path) -> None:
    qr = write(tmp_path, "scan.txt", world.qr + "\n")
    result = run(qr, trust_file, "--json", "--at", DURING_PERMIT)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "e-Permit QR payload"
    assert report["subject"] == "e-Permit TR-UZ-2025-1-1 QR"
    assert [c["name"] for c in report["checks"]] == QR_CHECKS
    assert all(c["ok"] for c in report["checks"])
    assert "signed by TR with tr-permit-2025 (ES256)" in checks_of(result)["qr_signature"]["detail"]
    table = run(qr, trust_file, "--at", DURING_PERMIT)
    assert table.exit_code == 0
    assert "Detected e-Permit QR payload in" in table.stdout


def test_expired_qr(tmp_path: Path, world: World, trust_file: Path) -> None:
    qr = write(tmp_path, "scan.txt", world.qr)
    result = run(qr, trust_file, "--json", "--at", AFTER_PERMIT)
    assert result.exit_code == SIGNATURE_EXIT, result.output
    assert failed(result) == {"qr_validity"}
    assert checks_of(result)["qr_validity"]["reason"] == "expired"
    assert "expired" in result.stderr


def test_expired_qr_against_the_clock(tmp_path: Path, world: World, trust_file: Path) -> None:
    # Valid January to March 2025; the default is the current time, long after that.
    result = run(write(tmp_path, "old.txt", world.old_qr), trust_file, "--json")
    assert result.exit_code == SIGNATURE_EXIT, result.output
    assert failed(result) == {"qr_validity"}
    assert checks_of(result)["qr_validity"]["reason"] == "expired"


def test_qr_before_its_validity(tmp_path: Path, world: World, trust_file: Path) -> None:
    result = run(write(tmp_path, "scan.txt", world.qr), trust_file, "--json", "--at", "2025-02-01")
    assert result.exit_code == INVALID_EXIT  # a date without a zone is refused
    result = run(
        write(tmp_path, "scan.txt", world.qr), trust_file, "--json", "--at", "2025-02-01T00:00Z"
    )
    assert result.exit_code == SIGNATURE_EXIT, result.output
    assert checks_of(result)["qr_validity"]["reason"] == "not_yet_valid"


def test_qr_with_changed_plate(tmp_path: Path, world: World, trust_file: Path) -> None:
    head, _, signature = world.qr.split(".")
    forged = b64url_encode(canonical_json(dict(qr_claims(world.permit), pn="06XYZ999")))
    result = run(
        write(tmp_path, "scan.txt", f"{head}.{forged}.{signature}"),
        trust_file,
        "--json",
        "--at",
        DURING_PERMIT,
    )
    assert result.exit_code == SIGNATURE_EXIT, result.output
    assert failed(result) == {"qr_signature"}
    assert checks_of(result)["qr_signature"]["reason"] == "bad_signature"


def test_qr_of_a_revoked_or_unknown_authority_key(tmp_path: Path, world: World) -> None:
    trust = TrustList.from_jwks(jwks(world.trust))
    trust.revoke(world.permit_authority.kid, at=datetime(2025, 2, 1, tzinfo=UTC))
    qr = write(tmp_path, "scan.txt", world.qr)
    revoked = run(qr, write(tmp_path, "r.jwks", jwks(trust)), "--json", "--at", DURING_PERMIT)
    assert revoked.exit_code == SIGNATURE_EXIT
    assert checks_of(revoked)["qr_signature"]["reason"] == "key_revoked"
    keys = [k for k in jwks(world.trust)["keys"] if k["kid"] != world.permit_authority.kid]
    unknown = run(qr, write(tmp_path, "u.jwks", {"keys": keys}), "--json", "--at", DURING_PERMIT)
    assert unknown.exit_code == SIGNATURE_EXIT
    assert failed(unknown) == {"qr_signature"}
    assert checks_of(unknown)["qr_signature"]["reason"] == "unknown_kid"


def test_qr_must_be_es256(tmp_path: Path, world: World, trust_file: Path) -> None:
    token = sign_compact(qr_claims(world.permit), world.carrier)  # an EdDSA key in the list
    result = run(write(tmp_path, "scan.txt", token), trust_file, "--json", "--at", DURING_PERMIT)
    assert result.exit_code == SIGNATURE_EXIT, result.output
    assert failed(result) == {"qr_format"}
    assert "ES256" in checks_of(result)["qr_format"]["detail"]


@pytest.mark.parametrize("form", ["text", "json"])
def test_qr_with_its_evidence(tmp_path: Path, world: World, trust_file: Path, form: str) -> None:
    evidence = world.permit_bundle.to_bytes().decode("utf-8")
    content = (
        f"{world.qr}\n{evidence}\n"
        if form == "text"
        else json.dumps({"qr": world.qr, "evidence": json.loads(evidence)})
    )
    result = run(write(tmp_path, "scan.txt", content), trust_file, "--json", "--at", DURING_PERMIT)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kind"] == "e-Permit QR payload with its evidence bundle"
    assert [c["name"] for c in report["checks"]] == [
        *QR_CHECKS,
        *BUNDLE_CHECKS[:3],
        *BUNDLE_CHECKS[4:],
        "qr_matches_evidence",
    ]
    assert all(c["ok"] for c in report["checks"])


def test_qr_with_the_evidence_of_another_permit(
    tmp_path: Path, world: World, trust_file: Path
) -> None:
    content = f"{world.old_qr}\n{world.permit_bundle.to_bytes().decode('utf-8')}"
    result = run(
        write(tmp_path, "scan.txt", content), trust_file, "--json", "--at", "2025-03-02T00:00:00Z"
    )
    assert result.exit_code == LEDGER_EXIT, result.output
    assert failed(result) == {"qr_matches_evidence"}
    assert "TR-UZ-2025-1-2" in checks_of(result)["qr_matches_evidence"]["detail"]


# --- input that is not evidence at all -----------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xff\xfe\x00garbage\x80", "not UTF-8"),
        (b"", "is empty"),
        (b"hello border officer", "neither an evidence bundle"),
        (b"[1, 2, 3]", "neither an evidence bundle"),
        (b'{"qr": "a.b.c", "evidence": [1]}', "must be an evidence bundle"),
        (b'{"format": "kervan.evidence-bundle/1", ', "not valid JSON"),
        (b'{"format": "kervan.evidence-bundle/9"}', "not supported"),
        (b'{"document": {}}', "neither an evidence bundle"),
        (b'{"qr": 42}', "compact JWS"),
        (b"a.b.c\nnot json", "not valid JSON"),
    ],
)
def test_garbage_input_is_one_line_and_exit_2(
    tmp_path: Path, trust_file: Path, content: bytes, says: str
) -> None:
    result = run(write(tmp_path, "input", content), trust_file)
    assert result.exit_code == INVALID_EXIT, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error (invalid_request):")
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_missing_file_and_directory(tmp_path: Path, trust_file: Path) -> None:
    result = run(tmp_path / "nowhere.json", trust_file)
    assert result.exit_code == INVALID_EXIT
    assert "does not exist" in result.stderr
    result = run(tmp_path, trust_file)
    assert result.exit_code == INVALID_EXIT
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "does not exist"),
        (b"not json", "is not JSON"),
        (b"[]", "not a JWKS"),
        (b'{"keys": "none"}', "'keys' array"),
        (b'{"keys": []}', "holds no keys"),
        (b'{"keys": [{"kid": "x", "kty": "OKP"}]}', "party"),
    ],
)
def test_unusable_trust_list(
    tmp_path: Path, world: World, content: bytes | None, says: str
) -> None:
    bundle = write(tmp_path, "ecmr.json", world.ecmr_bundle.to_bytes())
    trust = tmp_path / "trust.jwks"
    if content is not None:
        trust.write_bytes(content)
    result = run(bundle, trust)
    assert result.exit_code == INVALID_EXIT, result.output
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_trust_list_with_a_private_key_is_refused_and_not_echoed(
    tmp_path: Path, world: World
) -> None:
    # A JWKS someone exported with the private half of the consignor's key in it.
    key = serialization.load_pem_private_key(
        world.consignor.export_private_pem_for_keystore(), password=None
    )
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    private = copy.deepcopy(jwks(world.trust))
    private["keys"][0]["d"] = b64url_encode(raw)
    bundle = write(tmp_path, "ecmr.json", world.ecmr_bundle.to_bytes())
    result = run(bundle, write(tmp_path, "private.jwks", private))
    assert result.exit_code == INVALID_EXIT
    assert "private key material" in result.stderr
    assert private["keys"][0]["d"] not in result.output


# --- the signed step and version, against the ledger entry ------------------------------------


@pytest.mark.parametrize(("recorded", "ok"), [(3, True), (4, False)])
def test_a_signature_names_the_version_the_ledger_entry_recorded(
    tmp_path: Path, world: World, trust_file: Path, recorded: int, ok: bool
) -> None:
    ledger = Ledger(InMemoryLedgerStore(), world.log)
    version = EcmrVersion(number=3, content=ecmr_content(), created_at=T0, reason="issued")
    document: dict[str, Any] = {
        "id": "ecmr:AZ-2025-000732",
        "version": version.model_dump(mode="json"),
    }
    at = T0 + timedelta(hours=2)
    jws = sign_document(document, world.carrier, "carrier", at)
    taking_over = sign_version(document, world.carrier, "carrier", at, step="take_over", version=3)
    jws["signatures"] = [taking_over]
    entry = ledger.append(document["id"], f"version:{recorded}", document, at)
    head = tree_head(ledger, world.log, at + timedelta(minutes=1))
    bundle = write(
        tmp_path, "b.json", evidence_bundle(ledger, document, jws, entry.log_index, head).to_bytes()
    )
    result = run(bundle, trust_file, "--json")
    checks = checks_of(result)
    assert "signs 'take_over' on version 3" in checks["signature[0]"]["detail"]
    assert checks["signature[0].version"]["ok"] is ok
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == SIGNATURE_EXIT
        assert checks["signature[0].version"]["reason"] == "signature_for_another_version"
        assert "version:4" in checks["signature[0].version"]["detail"]


def test_a_legacy_signature_is_reported_as_such(
    tmp_path: Path, world: World, trust_file: Path
) -> None:
    bundle = write(tmp_path, "ecmr.evidence.json", world.ecmr_bundle.to_bytes())
    checks = checks_of(run(bundle, trust_file, "--json"))
    assert "signed before headers named the step and version" in checks["signature[0]"]["detail"]
    assert "signature[0].version" not in checks

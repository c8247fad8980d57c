"""`kervan evidence export` and `kervan trust-list export`: the files `kervan verify` takes, read
from a node's own store seeded through the real use cases (the demonstration corridor), verified
offline, the same bundle the API gives, and a tampered export refused; `kervan document export`:
a document as UN/CEFACT D23B JSON or as the eFTI common data set (XML), valid against the
published schemas, as the API gives it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from typer.testing import CliRunner, Result

from kervan.api.app import create_app
from kervan.cli import app
from kervan.demo import seed
from kervan.documents.kinds import DocumentKind
from kervan.settings import Environment, Settings, get_settings
from tests.efti_schemas import assert_valid as assert_valid_xml
from tests.uncefact_schemas import CIM_SMGS_SCHEMA, ECMR_SCHEMA, assert_valid, hs_codes

runner = CliRunner()
NOT_FOUND_EXIT, SIGNATURE_EXIT = 18, 13


@dataclass(frozen=True)
class SeededNode:
    data_dir: Path
    passwords: dict[str, str]
    note: str  # the CIM/SMGS note of the delivered shipment: issued, accepted, departed, delivered
    truck: str  # the Uzbek truck, just booked: its e-CMR in draft, e-TIR and e-Permits requested


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> SeededNode:
    data_dir = tmp_path_factory.mktemp("node")
    passwords, shipments = seed(Settings(environment=Environment.DEVELOPMENT, data_dir=data_dir))
    delivered = next(shipment for shipment, _, stage in shipments if stage == "delivered")
    truck = next(shipment for shipment, _, stage in shipments if stage == "booked")
    note = f"{delivered}-{DocumentKind.CIM_SMGS.id_part}-1"
    return SeededNode(data_dir, passwords, note, truck)


@pytest.fixture
def on_node(node: SeededNode, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeededNode]:
    """The command line's environment pointing at the seeded node (settings read afresh)."""
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "development")
    monkeypatch.setenv("KERVAN_DATA_DIR", str(node.data_dir))
    monkeypatch.delenv("KERVAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield node
    get_settings.cache_clear()


def kervan(*args: str) -> Result:
    return runner.invoke(app, list(args))


def export_both(node: SeededNode, folder: Path) -> tuple[Path, Path]:
    evidence, trust = folder / "evidence.json", folder / "trust-list.json"
    exported = kervan("evidence", "export", node.note, "-o", str(evidence))
    assert exported.exit_code == 0, exported.output
    listed = kervan("trust-list", "export", "--output", str(trust))
    assert listed.exit_code == 0, listed.output
    return evidence, trust


def test_exported_files_verify_offline(on_node: SeededNode, tmp_path: Path) -> None:
    evidence, trust = export_both(on_node, tmp_path)
    bundle = json.loads(evidence.read_text(encoding="utf-8"))
    assert bundle["format"] == "kervan.evidence-bundle/1"
    assert bundle["document"]["document_id"] == on_node.note
    assert len(bundle["jws"]["signatures"]) == 4  # consignor, carrier twice, consignee
    keys = json.loads(trust.read_text(encoding="utf-8"))["keys"]
    assert {"xian-forwarding", "ktz-express", "istanbul-imports"} <= {k["party"] for k in keys}
    assert not any("d" in key for key in keys)  # public halves only

    verified = kervan("verify", str(evidence), "--trust-list", str(trust), "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout)
    assert report["ok"] is True
    assert report["kind"] == "evidence bundle"
    # Each signature, and the version its header names checked against the ledger entry.
    assert [c["name"] for c in report["checks"] if c["name"].startswith("signature[")] == [
        name for i in range(4) for name in (f"signature[{i}]", f"signature[{i}].version")
    ]


def test_export_to_standard_output_is_the_apis_bundle(on_node: SeededNode) -> None:
    printed = kervan("evidence", "export", on_node.note)
    assert printed.exit_code == 0, printed.output
    bundle = json.loads(printed.stdout)
    jwks = json.loads(kervan("trust-list", "export").stdout)
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=on_node.data_dir)
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/v1/auth/login",
            json={
                "username": "istanbul-imports",
                "password": on_node.passwords["istanbul-imports"],
            },
        )
        headers = {"authorization": f"Bearer {login.json()['access_token']}"}
        answer = client.get(f"/v1/documents/{on_node.note}/evidence", headers=headers)
        assert answer.status_code == 200
        served = answer.json()
        # The same document, signatures, entry and proof; each process signs its own tree head
        # of the same log (same size and root, its own time and signature).
        head, served_head = bundle.pop("tree_head"), served.pop("tree_head")
        assert served == bundle
        assert (served_head["tree_size"], served_head["root_hash"]) == (
            head["tree_size"],
            head["root_hash"],
        )
        assert client.get("/v1/trust-list").json() == jwks


def tampered(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle["document"]["content"]["consignee"]["name"] = "Someone Else Ltd"
    return bundle


def test_a_tampered_export_does_not_verify(on_node: SeededNode, tmp_path: Path) -> None:
    evidence, trust = export_both(on_node, tmp_path)
    bundle = json.loads(evidence.read_text(encoding="utf-8"))
    evidence.write_text(json.dumps(tampered(bundle)), encoding="utf-8")
    result = kervan("verify", str(evidence), "--trust-list", str(trust), "--json")
    assert result.exit_code == SIGNATURE_EXIT, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    failed = {c["name"]: c["reason"] for c in report["checks"] if not c["ok"]}
    assert failed["jws_payload_is_document"] == "payload_changed"


def test_unknown_document_is_one_line_and_the_not_found_exit(on_node: SeededNode) -> None:
    result = kervan("evidence", "export", "ecmr:NO-SUCH-DOCUMENT")
    assert result.exit_code == NOT_FOUND_EXIT
    assert result.stderr.strip().splitlines() == [
        "error (not_found): document 'ecmr:NO-SUCH-DOCUMENT' not found"
    ]
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_export_to_an_unwritable_place_exits_2(on_node: SeededNode, tmp_path: Path) -> None:
    result = kervan("trust-list", "export", "-o", str(tmp_path / "missing" / "trust.json"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_document_export_writes_valid_uncefact(on_node: SeededNode, tmp_path: Path) -> None:
    target = tmp_path / "note.json"
    written = kervan("document", "export", on_node.note, "-o", str(target))
    assert written.exit_code == 0, written.output
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert_valid(CIM_SMGS_SCHEMA, exported)
    assert exported["exchangedDocument"]["id"] == {"content": on_node.note}
    assert exported["exchangedDocument"]["information"] == [{"content": "state: delivered"}]
    assert hs_codes(exported) == [{"content": "850760", "listAgencyId": "1"}]

    ecmr = f"{on_node.truck}-{DocumentKind.ECMR.id_part}-1"
    printed = kervan("document", "export", ecmr)
    assert printed.exit_code == 0, printed.output
    road = json.loads(printed.stdout)
    assert_valid(ECMR_SCHEMA, road)
    assert hs_codes(road) == [{"content": "520100", "listAgencyId": "1"}]

    # The same JSON the API gives a party of the shipment.
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=on_node.data_dir)
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/v1/auth/login",
            json={"username": "ktz-express", "password": on_node.passwords["ktz-express"]},
        )
        headers = {"authorization": f"Bearer {login.json()['access_token']}"}
        answer = client.get(f"/v1/documents/{on_node.note}/uncefact", headers=headers)
        assert answer.status_code == 200
        assert answer.json() == exported


def test_document_export_refuses_unknown_and_unexportable(on_node: SeededNode) -> None:
    unknown = kervan("document", "export", "ecmr:NO-SUCH-DOCUMENT")
    assert unknown.exit_code == NOT_FOUND_EXIT
    assert unknown.stderr.strip().splitlines() == [
        "error (not_found): document 'ecmr:NO-SUCH-DOCUMENT' not found"
    ]
    assert unknown.stdout == ""
    permit = kervan("document", "export", f"{on_node.truck}-{DocumentKind.EPERMIT.id_part}-1")
    assert permit.exit_code == 2, permit.output
    assert permit.stderr.startswith("error (invalid_request): ")
    assert "e-Permit" in permit.stderr
    assert permit.stdout == ""


def test_document_export_as_efti_xml(on_node: SeededNode, tmp_path: Path) -> None:
    target = tmp_path / "note.xml"
    written = kervan("document", "export", on_node.note, "--format", "efti", "-o", str(target))
    assert written.exit_code == 0, written.output
    dataset = target.read_bytes()
    assert_valid_xml("common", dataset)
    common = "{http://efti.eu/v1/consignment/common}"
    root = etree.fromstring(dataset)
    assert root.findtext(f"{common}transportContractDocument/{common}id") == on_node.note
    # Delivered: the data set says when.
    assert root.find(f"{common}deliveryEvent/{common}actualOccurrenceDateTime") is not None

    ecmr = f"{on_node.truck}-{DocumentKind.ECMR.id_part}-1"
    printed = kervan("document", "export", ecmr, "--format", "efti")
    assert printed.exit_code == 0, printed.output
    assert_valid_xml("common", printed.stdout_bytes)

    # The same XML the API gives a party of the shipment.
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=on_node.data_dir)
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/v1/auth/login",
            json={"username": "ktz-express", "password": on_node.passwords["ktz-express"]},
        )
        headers = {"authorization": f"Bearer {login.json()['access_token']}"}
        answer = client.get(f"/v1/documents/{on_node.note}/efti", headers=headers)
        assert answer.status_code == 200
        assert answer.content == dataset

    permit = kervan(
        "document",
        "export",
        f"{on_node.truck}-{DocumentKind.EPERMIT.id_part}-1",
        "--format",
        "efti",
    )
    assert permit.exit_code == 2, permit.output
    assert "eFTI" in permit.stderr

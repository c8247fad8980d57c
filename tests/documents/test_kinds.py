"""One document kind from plan to store: values, the stored set, the old CIM/SMGS spelling."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from pydantic import BaseModel
from sqlalchemy import CheckConstraint

from kervan.customs.declaration import DocumentReference
from kervan.documents.kinds import ISSUED_KINDS, PARTY_SIGNED_KINDS, DocumentKind
from kervan.store.tables import Base
from kervan.store.tables.base import DOCUMENT_KINDS
from kervan.web.i18n import LANGUAGES


def test_the_store_allows_exactly_the_kinds_a_node_issues() -> None:
    assert DOCUMENT_KINDS == ("e-CMR", "e-TIR", "e-Permit", "CIM-SMGS")
    assert set(DOCUMENT_KINDS) == {kind.value for kind in ISSUED_KINDS}
    assert DocumentKind.BILL_OF_LADING not in ISSUED_KINDS
    table = Base.metadata.tables["documents"]
    checks = {str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)}
    assert "kind IN ('e-CMR', 'e-TIR', 'e-Permit', 'CIM-SMGS')" in checks
    assert {DocumentKind.ECMR, DocumentKind.CIM_SMGS} == PARTY_SIGNED_KINDS


def test_stored_strings_compare_equal_to_their_kind() -> None:
    stored = "CIM-SMGS"
    assert stored == DocumentKind.CIM_SMGS
    assert stored in PARTY_SIGNED_KINDS
    assert DocumentKind(stored) is DocumentKind.CIM_SMGS
    assert f"{DocumentKind.EPERMIT}" == "e-Permit"


def test_cim_smgs_reads_in_its_old_spelling_and_is_written_in_the_one() -> None:
    old = DocumentReference.model_validate({"kind": "CIM/SMGS", "reference": "SMGS-XIA-0317"})
    assert old.kind is DocumentKind.CIM_SMGS
    assert '"kind":"CIM-SMGS"' in old.model_dump_json()
    with pytest.raises(ValueError, match="CIM SMGS"):
        DocumentKind("CIM SMGS")

    class Listed(BaseModel):
        kinds: list[DocumentKind]

    assert Listed.model_validate_json('{"kinds": ["e-CMR", "CIM/SMGS"]}').kinds == [
        DocumentKind.ECMR,
        DocumentKind.CIM_SMGS,
    ]


def test_labels_and_id_parts() -> None:
    assert [k.label for k in DocumentKind] == [
        "e-CMR",
        "CIM/SMGS",
        "e-TIR",
        "e-Permit",
        "bill of lading",
    ]
    assert [k.id_part for k in ISSUED_KINDS] == ["ECMR", "ETIR", "PERMIT", "CIMSMGS"]


def test_every_kind_has_its_name_in_every_language_of_the_web() -> None:
    # The pages look names up by the kind's value: "doc.<kind>" (planner), "doc.store.<kind>".
    for code in LANGUAGES:
        catalogue = json.loads(
            resources.files("kervan.web").joinpath("messages", f"{code}.json").read_text("utf-8")
        )
        assert {f"doc.{kind.value}" for kind in DocumentKind} <= set(catalogue), code
        assert {f"doc.store.{kind.value}" for kind in ISSUED_KINDS} <= set(catalogue), code
        assert not [key for key in catalogue if key.startswith("doc.") and "/" in key], code

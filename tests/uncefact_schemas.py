"""The UN/CEFACT D23B JSON Schemas (shared reference data) and where an export carries the HS
code, for the tests of the exports at every entry point (documents, API, CLI, web)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from tests.shared_data import shared_data

ECMR_SCHEMA = "UNECE-eCMR-D23B.json"
CIM_SMGS_SCHEMA = "UNECE-CIM-SMGS-ConsignmentNote-D23B.json"


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator of schema `name` (skips, or fails under CI=true, without the shared data)."""
    schema = json.loads((shared_data("standards", "uncefact") / name).read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(name: str, document: dict[str, Any]) -> list[str]:
    return [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator(name).iter_errors(document)
    ]


def assert_valid(name: str, document: dict[str, Any]) -> None:
    assert schema_errors(name, document) == []


def hs_codes(exported: dict[str, Any]) -> list[dict[str, str]]:
    """The HS codes of the export's consignment items, at the path D23B gives them: the
    item's note whose subject code is "HS", its content code."""
    return [
        note["contentCode"][0]
        for item in exported["specifiedConsignment"][0]["includedConsignmentItem"]
        for note in item["applicableNote"]
        if note["subjectCode"] == [{"content": "HS"}]
    ]

"""The eFTI XML Schemas as the reference implementation publishes them (shared reference data),
for the tests of the eFTI data sets and messages at every entry point (documents, API, CLI,
web). The product validates against its own shipped copy; the tests hold it to the shared one."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from lxml import etree

from tests.shared_data import shared_data

Schema = Literal["common", "identifier", "gate"]
_FILES: dict[Schema, tuple[str, ...]] = {
    "common": ("consignment-common.xsd",),
    "identifier": ("consignment-identifier.xsd",),
    "gate": ("edelivery", "gate.xsd"),
}


def efti_folder() -> Path:
    """The shared eFTI folder (skips, or fails under CI=true, when it is missing)."""
    return shared_data("standards", "efti")


@cache
def reference_schema(name: Schema) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(efti_folder().joinpath(*_FILES[name]))))


def schema_errors(name: Schema, document: bytes | etree._Element) -> list[str]:
    root = etree.fromstring(document) if isinstance(document, bytes) else document
    checker = reference_schema(name)
    checker.validate(root)
    return str(checker.error_log).splitlines()


def assert_valid(name: Schema, document: bytes | etree._Element) -> None:
    assert schema_errors(name, document) == []

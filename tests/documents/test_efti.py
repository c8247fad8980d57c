"""eFTI: the shipped schemas are the published ones, the published examples parse, and the
identifier query follows every test case of the reference implementation."""

from __future__ import annotations

import filecmp
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from kervan.documents import efti
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.efti_exchange import (
    EftiMessageError,
    IdentifierQuery,
    Uil,
    matches,
    parse_identifier_query,
    parse_uil_query,
    query_from_element,
    uil_response,
)
from tests.documents.corridor_samples import T0, btk_note, ecmr_content
from tests.efti_schemas import assert_valid, efti_folder

EFTI = efti_folder()
TEST_CASES_NS = "{http://efti.eu/v1/identifier-query-test-cases}"
SHIPPED = Path(str(resources.files("kervan.documents").joinpath("data", "efti")))


Case = tuple[str, etree._Element, dict[str, etree._Element], set[str]]


def _cases() -> list[Case]:
    tree = etree.parse(str(EFTI / "testing" / "identifier-query-test-cases.xml"))
    cases: list[Case] = []
    for group in tree.getroot().iter(f"{TEST_CASES_NS}dataGroup"):
        description = group.findtext(f"{TEST_CASES_NS}description") or ""
        datasets: dict[str, etree._Element] = {}
        for dataset in group.iter(f"{TEST_CASES_NS}dataset"):
            consignment = dataset.find(f"{TEST_CASES_NS}consignment")
            assert consignment is not None
            datasets[(dataset.findtext(f"{TEST_CASES_NS}id") or "").strip()] = consignment
        for case in group.iter(f"{TEST_CASES_NS}testCase"):
            query = case.find(f"{TEST_CASES_NS}query")
            if query is None:  # the file holds one empty test case
                continue
            results = {(r.text or "").strip() for r in case.iter(f"{TEST_CASES_NS}result")}
            cases.append((description, query, datasets, results))
    return cases


CASES = _cases()


def test_every_test_case_is_read() -> None:
    assert len(CASES) == 64  # 65 test cases, one of them empty
    assert {description for description, *_ in CASES} == {
        "Identifier case sensitivity and type",
        "Same identifier in different roles",
        "Mode code",
        "Registration country code",
        "Dangerous goods flag",
        "Combinations",
    }


@pytest.mark.parametrize(("description", "query", "datasets", "expected"), CASES)
def test_identifier_query_test_cases(
    description: str,
    query: etree._Element,
    datasets: dict[str, etree._Element],
    expected: set[str],
) -> None:
    parsed = query_from_element(query)
    found = {dataset for dataset, consignment in datasets.items() if matches(consignment, parsed)}
    assert found == expected, (description, etree.tostring(query))


@pytest.mark.parametrize(
    "relative",
    ["consignment-common.xsd", "consignment-identifier.xsd", "edelivery.xsd",
     "edelivery/gate.xsd", "edelivery/platform.xsd", "types/types.xsd", "codes/codes.xsd"],
)  # fmt: skip
def test_the_shipped_schemas_are_the_published_ones(relative: str) -> None:
    assert filecmp.cmp(SHIPPED / relative, EFTI / relative, shallow=False)


@pytest.mark.parametrize("example", sorted(p.name for p in (EFTI / "examples").glob("*.xml")))
def test_the_published_examples_are_valid_against_the_shipped_gate_schema(example: str) -> None:
    root = etree.parse(str(EFTI / "examples" / example)).getroot()
    assert efti.schema("gate").validate(root), efti.schema("gate").error_log


def test_the_published_identifier_query_and_uil_query_are_read() -> None:
    query = parse_identifier_query((EFTI / "examples" / "identifier-query.xml").read_bytes())
    assert query == IdentifierQuery("X", "ASB-123", frozenset({"means"}), "FI", "3", False)
    uil = parse_uil_query((EFTI / "examples" / "uil-query.xml").read_bytes())
    assert uil.uil == Uil("FI1", "xxx", "asdf")
    assert uil.subsets == ("FI",)
    # The published identifier-subset example answers a query for its equipment, any case.
    consignment = etree.parse(str(EFTI / "examples" / "consignment.xml")).getroot()
    assert matches(consignment, IdentifierQuery(None, "313", frozenset({"equipment"}), "fi"))
    means_or_equipment = frozenset({"means", "equipment"})
    assert not matches(consignment, IdentifierQuery(None, "313", means_or_equipment, "SE"))
    # Carried equipment has no registration country of its own: the country does not filter it.
    assert matches(consignment, IdentifierQuery(None, "313", frozenset(), "SE"))


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (b"<identifierQuery", "not well-formed"),
        (b'<identifierQuery xmlns="http://efti.eu/v1/edelivery"/>', "not valid against gate.xsd"),
        (
            b'<!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<identifierQuery xmlns="http://efti.eu/v1/edelivery" requestId="1">'
            b"<identifier>&x;</identifier></identifierQuery>",
            "DTD",
        ),
        (
            (EFTI / "examples" / "uil-query.xml").read_bytes(),
            "expected an eDelivery identifierQuery",
        ),
    ],
)
def test_a_bad_query_is_refused_and_never_reads_a_file(message: bytes, why: str) -> None:
    with pytest.raises(EftiMessageError, match=why):
        parse_identifier_query(message)


def test_sample_notes_give_valid_data_sets_and_answers() -> None:
    # The product-made documents are checked at the API (tests/api/test_efti_api.py); this
    # checks the rail mapping and the 404 answer on the samples.
    rail = efti.from_cimsmgs(btk_note())
    assert_valid("common", efti.common_dataset(rail))
    assert_valid("identifier", efti.identifier_subset(rail))
    road = efti.from_ecmr(Ecmr.draft("CMR-1", ecmr_content(), T0))
    assert_valid("gate", uil_response("r-1", road, ""))
    missing = uil_response("r-2", None, "no data set CMR-2 on this platform")
    assert_valid("gate", missing)
    assert b'status="404"' in missing

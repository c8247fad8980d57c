"""The booking form: the chosen plan's question (as the planner asked it), the parties and the
cargo, read from form fields into the services' RouteQuery and Cargo.

Blank optional rows are skipped; what the cargo model refuses comes back as problems on the
form's own fields (kervan.web.form_errors), shown next to each field in the reader's language,
never as a JSON error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData, QueryParams

from kervan.documents.kinds import DocumentKind
from kervan.network.model import Network, Passage
from kervan.services.planning import RouteQuery
from kervan.shipments.booking import Cargo
from kervan.web.form_errors import FieldProblem, FormProblems, Location, problems_of
from kervan.web.planner_form import PlannerForm, parse_form

GOODS_ROWS = 3
PLATE_ROWS = 2
PACKAGE_KINDS = ("PX", "CT", "BL", "CS", "PK", "BG", "DR")
CONTAINER_TYPES = ("22G1", "42G1", "45G1", "45R1")
CURRENCIES = ("USD", "EUR", "CNY", "TRY", "KZT", "AZN", "GEL", "UZS")
# The planner's question travels with the plan key, so the booking finds the same plan.
ROUTE_LISTS = ("avoid_country", "avoid_mode")
PARTY_FIELDS = ("consignee", "road_carrier", "rail_carrier", "guarantee_chain")


@dataclass(frozen=True)
class ChosenPlan:
    """The plan the person chose on the planner: its question and its key."""

    form: PlannerForm
    plan_key: str

    def query(self) -> RouteQuery:
        f = self.form
        return RouteQuery(
            origin=f.origin,
            destination=f.destination,
            objective=f.objective,
            unit=f.unit,
            avoid_countries=list(f.avoid_countries),
            avoid_modes=list(f.avoid_modes),
            year=None if f.departure else f.year,
            on_date=f.departure,
            digital_documents=f.digital_documents,
            green_lane=f.green_lane,
            road_haul=f.trucking,
            closed_passages=[Passage.RED_SEA] if f.red_sea_closed else [],
        )

    def hidden_fields(self) -> list[tuple[str, str]]:
        """(name, value) pairs that carry the question through the booking form."""
        f = self.form
        pairs = [
            ("origin", f.origin),
            ("destination", f.destination),
            ("unit", f.unit.value),
            ("objective", f.objective.value),
            ("plan_key", self.plan_key),
        ]
        if f.year is not None:
            pairs.append(("year", str(f.year)))
        if f.departure is not None:
            pairs.append(("departure", f.departure.isoformat()))
        pairs += [("avoid_country", c) for c in f.avoid_countries]
        pairs += [("avoid_mode", m.value) for m in f.avoid_modes]
        if f.digital_documents:
            pairs.append(("digital", "1"))
        if f.green_lane:
            pairs.append(("green", "1"))
        if f.trucking:
            pairs.append(("trucking", "1"))
        if f.red_sea_closed:
            pairs.append(("red_sea", "closed"))
        return pairs


def _lists(source: FormData | QueryParams) -> dict[str, list[str]]:
    return {k: [str(v) for v in source.getlist(k)] for k in ROUTE_LISTS}


def chosen_plan(source: FormData | QueryParams, network: Network, years: range) -> ChosenPlan:
    """The plan question and key from the planner's Book form or the booking page's URL."""
    params = {k: str(v) for k, v in source.items() if isinstance(v, str)}
    form = parse_form(
        params, _lists(source), known_countries=frozenset(network.countries()), years=years
    )
    return ChosenPlan(form, params.get("plan_key", "")[:8000])


@dataclass(frozen=True)
class Needs:
    """Which parties and cargo details the plan's documents need."""

    road_carrier: bool
    rail_carrier: bool
    guarantee_chain: bool
    plates: bool


def needs_of(kinds: Sequence[DocumentKind], modes: Sequence[str]) -> Needs:
    road_docs = {DocumentKind.ECMR, DocumentKind.ETIR, DocumentKind.EPERMIT}
    return Needs(
        road_carrier=bool(road_docs & set(kinds)) or "road" in modes,
        rail_carrier=DocumentKind.CIM_SMGS in kinds,
        guarantee_chain=DocumentKind.ETIR in kinds,
        plates=bool(road_docs & set(kinds)),
    )


@dataclass
class BookingForm:
    """What the booking form holds, as typed (to show it again after a refusal)."""

    values: dict[str, str] = field(default_factory=dict)
    problems: FormProblems = field(default_factory=FormProblems)
    # Which form row each goods item and plate came from (blank rows are skipped).
    goods_rows: list[int] = field(default_factory=list)
    plate_rows: list[int] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def refuse(self, exc: ValidationError, prefix: Location = ()) -> None:
        """Record the refusals of a model built from this form (`prefix`: where the cargo
        sits in that model) on the form's fields."""
        self.problems.problems += problems_of(exc, lambda loc: self.field_of(loc, prefix))

    def refuse_all(self, key: str, **values: str) -> None:
        """Record a refusal of the form as a whole (message key `key`)."""
        self.problems.problems.append(FieldProblem("", key, values))

    def field_of(self, loc: Location, prefix: Location = ()) -> str:
        """The form field a refusal at `loc` (a pydantic location) belongs to, or ''."""
        if prefix and loc[: len(prefix)] == prefix:
            loc = loc[len(prefix) :]
            if not loc:  # the cargo as a whole: its mass against its units
                return "goods-0-gross_weight_kg"
        elif prefix:
            top = str(loc[0]) if loc else ""
            return top if top in ("reference", *PARTY_FIELDS) else ""
        return _cargo_field(loc, self.goods_rows, self.plate_rows)


def read_booking(form: Mapping[str, Any]) -> BookingForm:
    """Every text field of the posted booking form (trimmed, bounded)."""
    values = {
        str(k): str(v).strip()[:512]
        for k, v in form.items()
        if isinstance(v, str) and k not in ROUTE_LISTS
    }
    return BookingForm(values=values)


_GOODS_FIELDS = {
    "description": "description",
    "hs_code": "hs_code",
    "packages": "packages",
    "package_kind": "package_kind",
    "gross_weight_kg": "gross_weight_kg",
    "value": "value",
    "currency": "currency",
    "un_number": "un_number",
    "hazard_class": "hazard_class",
}


def _cargo_field(loc: Location, goods_rows: list[int], plate_rows: list[int]) -> str:
    """The booking form's field for a refusal at `loc` inside the Cargo model."""
    parts = [str(p) for p in loc]
    head = parts[0] if parts else ""
    if head == "goods":
        if len(parts) < 2 or not parts[1].isdigit():
            return "goods-0-description"
        index = int(parts[1])
        row = goods_rows[index] if index < len(goods_rows) else 0
        name = next((p for p in reversed(parts[2:]) if p in _GOODS_FIELDS), "value")
        return f"goods-{row}-{_GOODS_FIELDS[name]}"
    if head == "containers":
        if "seals" in parts:
            return "seal_number"
        return "container_type" if "size_type" in parts else "container_number"
    if head == "vehicle_plates":
        index = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        row = plate_rows[index] if index < len(plate_rows) else 0
        return f"plate-{row}-{'country' if 'country' in parts else 'number'}"
    if head == "date_of_taking_over":
        return head
    return ""


def _goods(f: BookingForm) -> list[dict[str, Any]]:
    goods: list[dict[str, Any]] = []
    f.goods_rows = []
    for i in range(GOODS_ROWS):
        description = f.get(f"goods-{i}-description")
        if not description and i > 0:
            continue
        f.goods_rows.append(i)
        item: dict[str, Any] = {
            "description": description,
            "hs_code": f.get(f"goods-{i}-hs_code"),
            "packages": f.get(f"goods-{i}-packages") or "0",
            "package_kind": f.get(f"goods-{i}-package_kind") or "PX",
            "gross_weight_kg": f.get(f"goods-{i}-gross_weight_kg") or "0",
        }
        if f.get(f"goods-{i}-value"):
            item["value"] = f.get(f"goods-{i}-value")
            item["currency"] = f.get(f"goods-{i}-currency") or "USD"
        if f.get(f"goods-{i}-un_number"):
            item["dangerous_goods"] = {
                "un_number": f.get(f"goods-{i}-un_number"),
                "hazard_class": f.get(f"goods-{i}-hazard_class"),
            }
        goods.append(item)
    return goods


def cargo_of(f: BookingForm, default_day: date) -> Cargo | None:
    """The cargo the form describes, or None with `f.problems` saying what is wrong."""
    raw: dict[str, Any] = {
        "goods": _goods(f),
        "date_of_taking_over": f.get("date_of_taking_over") or default_day.isoformat(),
    }
    if f.get("container_number"):
        container: dict[str, Any] = {"number": f.get("container_number").upper()}
        if f.get("container_type"):
            container["size_type"] = f.get("container_type")
        if f.get("seal_number"):
            container["seals"] = [{"number": f.get("seal_number"), "affixed_by": "customs"}]
        raw["containers"] = [container]
    f.plate_rows = [i for i in range(PLATE_ROWS) if f.get(f"plate-{i}-number")]
    plates = [
        {"number": f.get(f"plate-{i}-number").upper(), "country": f.get(f"plate-{i}-country")}
        for i in f.plate_rows
    ]
    # A plate is registered somewhere: the country is chosen, never assumed.
    unplaced = [i for i in f.plate_rows if not f.get(f"plate-{i}-country")]
    for i in unplaced:
        f.problems.problems.append(FieldProblem(f"plate-{i}-country", "book.plate_country_needed"))
    if unplaced:
        return None
    if plates:
        raw["vehicle_plates"] = plates
    try:
        return Cargo.model_validate(raw)
    except ValidationError as exc:
        f.refuse(exc)
        return None


__all__ = [
    "CONTAINER_TYPES",
    "CURRENCIES",
    "GOODS_ROWS",
    "PACKAGE_KINDS",
    "PARTY_FIELDS",
    "PLATE_ROWS",
    "BookingForm",
    "ChosenPlan",
    "Needs",
    "cargo_of",
    "chosen_plan",
    "needs_of",
    "read_booking",
]

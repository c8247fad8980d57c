"""The two reference shipments on the shipped corridor, and a helper that clears one country.

- A 40' container Xi'an -> Istanbul by rail via Dostyk, the Aktau-Alat ferry and
  Baku-Tbilisi-Kars (gauge change at Akhalkalaki), with lithium-ion batteries (HS 850760,
  UN3480 class 9) in sealed container CSQU3054383.
- A UZ truck Tashkent -> Istanbul via Saryagash, the Aktau-Baku ferry, Red Bridge and Sarpi,
  with raw cotton (HS 520100) under e-TIR and e-Permits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kervan.customs.declaration import (
    AeoCertificate,
    DeclarationContent,
    DocumentReference,
    PreArrivalDeclaration,
    TransportMeans,
)
from kervan.customs.offices import CustomsOffices
from kervan.customs.recognition import ControlResult, InspectionResult, LaneDecision, decide_lane
from kervan.customs.risk import Infringement, assess
from kervan.customs.route import CustomsRoute
from kervan.customs.rules import load_rules
from kervan.documents.goods import (
    Container,
    DangerousGoods,
    GoodsItem,
    Seal,
    SealingParty,
    VehiclePlate,
)
from kervan.documents.kinds import DocumentKind
from kervan.documents.parties import Address, Party
from kervan.network.model import CargoUnit, Mode
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner, PlanRequest

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CONTAINER_SEAL = Seal(
    number="CN2025XA778812", identifier="CN-XIAN", affixed_by=SealingParty.SHIPPER
)
TRUCK_SEAL = Seal(number="UZTIR0045511", identifier="UZ-TASHKENT", affixed_by=SealingParty.CUSTOMS)
TRUCK = VehiclePlate(number="01 A 123 BC", country="UZ")
TRAILER = VehiclePlate(number="01 XA 4567", country="UZ")


def party(pid: str, name: str, country: str, city: str) -> Party:
    return Party(id=pid, name=name, country=country, address=Address(street="1 Main St", city=city))


SHAANXI = party("CN-91610000MA6TG", "Shaanxi Power Cells Co.", "CN", "Xi'an")
ISTANBUL_BUYER = party("TR-4650012345", "Bosphorus Energy A.S.", "TR", "Istanbul")
KTZ_EXPRESS = party("KZ-KTZE", "KTZ Express", "KZ", "Astana")
FORWARDER = party("TR-7340099881", "Anadolu Lojistik A.S.", "TR", "Istanbul")
TASHKENT_COTTON = party("UZ-305998877", "Tashkent Cotton Cluster LLC", "UZ", "Tashkent")
BURSA_MILL = party("TR-1780044556", "Bursa Iplik A.S.", "TR", "Bursa")
UZ_HAULIER = party("UZ-TIR-0457", "Samarkand Trans LLC", "UZ", "Samarkand")


def container_plan(planner: Planner) -> Plan:
    """The cheapest rail/ferry plan Xi'an -> Istanbul (no deep sea, no route north or south)."""
    request = PlanRequest(
        "Xi'an",
        "Istanbul",
        objective=Objective.COST,
        unit=CargoUnit.CONTAINER,
        avoid_countries=frozenset({"RU", "BY", "KG", "UZ", "TM"}),
        avoid_modes=frozenset({Mode.SEA}),
        alternatives=1,
    )
    return planner.plan(request)[0]


def truck_plan(planner: Planner) -> Plan:
    """The fastest truck plan Tashkent -> Istanbul through the OTS states (not via TM)."""
    request = PlanRequest(
        "Tashkent",
        "Istanbul",
        unit=CargoUnit.TRUCK,
        truck_flag="UZ",
        avoid_countries=frozenset({"TM", "RU", "IR"}),
        alternatives=1,
    )
    return planner.plan(request)[0]


def batteries(value: str = "540000.00") -> GoodsItem:
    return GoodsItem(
        description="Lithium-ion battery modules for energy storage",
        packages=20,
        package_kind="PX",
        gross_weight_kg=Decimal("18000"),
        hs_code="850760",
        dangerous_goods=DangerousGoods(un_number="UN3480", hazard_class="9"),
        value=Decimal(value),
        currency="USD",
    )


def cotton(value: str = "38000.00") -> GoodsItem:
    return GoodsItem(
        description="Raw cotton, not carded or combed",
        packages=80,
        package_kind="BL",
        gross_weight_kg=Decimal("19000"),
        hs_code="520100",
        value=Decimal(value),
        currency="USD",
    )


def container_declaration(
    route: CustomsRoute,
    shipment: str = "KRV-2025-0001",
    seals: tuple[Seal, ...] = (CONTAINER_SEAL,),
) -> DeclarationContent:
    return DeclarationContent(
        shipment=shipment,
        declarant=FORWARDER,
        consignor=SHAANXI,
        consignee=ISTANBUL_BUYER,
        carrier=KTZ_EXPRESS,
        goods=(batteries(),),
        transport=TransportMeans(
            mode=Mode.RAIL,
            wagons=("53765434",),
            containers=(Container(number="CSQU3054383", size_type="45G1", seals=seals),),
        ),
        itinerary=route.countries,
        route=route,
        documents=(DocumentReference(kind=DocumentKind.CIM_SMGS, reference="SMGS-XIA-2025-0317"),),
    )


def truck_declaration(route: CustomsRoute, value: str = "38000.00") -> DeclarationContent:
    return DeclarationContent(
        shipment="KRV-2025-0002",
        declarant=UZ_HAULIER,
        consignor=TASHKENT_COTTON,
        consignee=BURSA_MILL,
        carrier=UZ_HAULIER,
        aeo=(
            AeoCertificate(
                party_id=UZ_HAULIER.id,
                number="UZAEO-2024-0112",
                issuing_country="UZ",
                valid_until=date(2026, 12, 31),
            ),
        ),
        goods=(cotton(value),),
        transport=TransportMeans(mode=Mode.ROAD, vehicles=(TRUCK, TRAILER), seals=(TRUCK_SEAL,)),
        itinerary=route.countries,
        route=route,
        documents=(
            DocumentReference(kind=DocumentKind.ECMR, reference="ECMR-UZ-2025-88121"),
            DocumentReference(kind=DocumentKind.ETIR, reference="UZ-TIR-2025-000457"),
            DocumentReference(kind=DocumentKind.EPERMIT, reference="TR-UZ-2025-1-1"),
        ),
    )


@dataclass
class Journey:
    """One shipment moving through the corridor as the lane rules see it: its declaration, the
    lane each country decided when the cargo arrived, and the controls released so far (what
    the customs use cases keep in the store and send on to the countries ahead)."""

    offices: CustomsOffices
    declaration: PreArrivalDeclaration
    lanes: dict[str, LaneDecision] = field(default_factory=dict)
    arrived: dict[str, datetime] = field(default_factory=dict)
    seals: dict[str, tuple[Seal, ...]] = field(default_factory=dict)
    controls: list[ControlResult] = field(default_factory=list)
    infringements: tuple[Infringement, ...] = ()

    @classmethod
    def lodge(cls, offices: CustomsOffices, content: DeclarationContent, at: datetime) -> Journey:
        """Lodge the declaration (every country on the route receives it at once)."""
        return cls(offices, PreArrivalDeclaration.lodge(content, at))

    @property
    def content(self) -> DeclarationContent:
        return self.declaration.current.content

    def decide(
        self,
        country: str,
        on: date,
        seals: tuple[Seal, ...] | None = None,
        office: str | None = None,
        passed: tuple[str, ...] = (),
    ) -> LaneDecision:
        rules = load_rules(country)
        assessment = assess(
            self.content,
            country,
            rules,
            on=on,
            seals_observed=seals,
            arrival_office=office,
            countries_passed=passed,
            infringements=self.infringements,
        )
        now = seals if seals is not None else self.content.transport.all_seals()
        return decide_lane(assessment, rules, self.controls, now)

    def pre_arrival(self, country: str) -> LaneDecision:
        """The lane `country` expects before the cargo arrives (with the controls so far)."""
        expected = self.content.route.passage(country).expected_entry
        return self.decide(country, expected.date())

    def arrive(
        self,
        country: str,
        seals: tuple[Seal, ...] | None = None,
        office: str | None = None,
        delay_h: float = 0.0,
    ) -> LaneDecision:
        """The cargo reaches `country` (at its expected entry, plus `delay_h`) with `seals`."""
        passage = self.content.route.passage(country)
        at = passage.expected_entry + timedelta(hours=delay_h)
        found = seals if seals is not None else self.content.transport.all_seals()
        passed = (*self.lanes, country)
        decision = self.decide(country, at.date(), found, office or passage.entry_office, passed)
        self.lanes[country] = decision
        self.arrived[country] = at
        self.seals[country] = found
        return decision

    def clear(self, country: str, inspect: InspectionResult | None = None) -> ControlResult:
        """Release after the documentary check (and an inspection if given): the control
        result the countries ahead recognise."""
        assert inspect is not None or not self.lanes[country].physical_inspection_required
        entry = self.offices.get(self.content.route.passage(country).entry_office)
        control = ControlResult(
            shipment=self.declaration.shipment,
            country=country,
            office=entry.code,
            place=entry.place,
            at=self.arrived[country] + timedelta(hours=4),
            seals=self.seals[country],
            documentary_check_passed=True,
            inspection=inspect,
            signature_ref=f"jws:{country}:release",
        )
        self.controls.append(control)
        return control

"""Real Middle Corridor parties, goods and equipment shared by the document tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from kervan.documents.cimsmgs import (
    CimSmgsContent,
    CimSmgsNote,
    Gauge,
    RailLaw,
    RailSection,
    Station,
    Wagon,
)
from kervan.documents.ecmr import Charge, ChargeKind, EcmrContent, Payer, Place
from kervan.documents.goods import (
    Container,
    DangerousGoods,
    GoodsItem,
    Seal,
    SealingParty,
    VehiclePlate,
)
from kervan.documents.parties import Address, Party, PartyRole, SignatureEvidence

XIAN = timezone(timedelta(hours=8))
BAKU = timezone(timedelta(hours=4))
ISTANBUL = timezone(timedelta(hours=3))
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=XIAN)

CONSIGNOR = Party(
    id="CN91610131MA6U2T0X1Q",
    name="Xi'an Longhai Electronics Export Co., Ltd.",
    country="CN",
    address=Address(
        street="Gangwu Avenue 99, Chanba International Port", city="Xi'an", postcode="710026"
    ),
)
CONSIGNEE = Party(
    id="TR4810451234",
    name="Bosphorus Enerji Depolama A.S.",
    country="TR",
    address=Address(
        street="Tuzla Organize Sanayi Bolgesi 3. Cad. 12", city="Istanbul", postcode="34957"
    ),
)
NEW_CONSIGNEE = Party(
    id="TR1230987654",
    name="Anadolu Batarya Dagitim Ltd. Sti.",
    country="TR",
    address=Address(street="Ivedik OSB 1354. Cad. 5", city="Ankara", postcode="06378"),
)
CARRIER = Party(
    id="AZ1403004821",
    name="ADY Container",
    country="AZ",
    address=Address(street="Dilara Aliyeva 251", city="Baku", postcode="AZ1010"),
)
SUCCESSIVE = Party(
    id="GE405123456",
    name="Poti Trans Logistics LLC",
    country="GE",
    address=Address(street="David Agmashenebeli 48", city="Poti", postcode="4400"),
)
SUCCESSIVE_TR = Party(
    id="TR6210034567",
    name="Kars Anadolu Tasimacilik A.S.",
    country="TR",
    address=Address(street="Faikbey Cad. 14", city="Kars", postcode="36100"),
)
COTTON_SHIPPER = Party(
    id="UZ301234567",
    name="Bukhara Cotton Textile LLC",
    country="UZ",
    address=Address(street="Gijduvon ko'chasi 21", city="Bukhara", postcode="200100"),
)

BATTERIES = GoodsItem(
    description="Lithium-ion battery modules for energy storage",
    packages=20,
    package_kind="PX",
    marks="LHE-IST 1-20",
    gross_weight_kg=Decimal("18400.000"),
    hs_code="850760",
    dangerous_goods=DangerousGoods(un_number="UN3480", hazard_class="9", packing_group="II"),
    value=Decimal("412000.00"),
    currency="USD",
)
COTTON = GoodsItem(
    description="Raw cotton fibre, not carded or combed",
    packages=110,
    package_kind="BL",
    gross_weight_kg=Decimal("24750"),
    hs_code="520100",
    value=Decimal("44550.00"),
    currency="USD",
)
CONTAINER = Container(
    number="CSQU3054383",
    size_type="45G1",
    seals=(
        Seal(number="CN2025001234", identifier="CN-XIAN-CUSTOMS", affixed_by=SealingParty.CUSTOMS),
    ),
)


def place(name: str, country: str, unlocode: str | None = None) -> Place:
    return Place(name=name, country=country, unlocode=unlocode)


def ecmr_content(**changes: object) -> EcmrContent:
    base = EcmrContent(
        consignor=CONSIGNOR,
        consignee=CONSIGNEE,
        carrier=CARRIER,
        successive_carriers=(SUCCESSIVE, SUCCESSIVE_TR),
        place_of_issue=place("Xi'an", "CN", "CNXIY"),
        place_of_taking_over=place("Xi'an International Inland Port", "CN", "CNXIY"),
        date_of_taking_over=date(2025, 3, 3),
        place_of_delivery=place("Tuzla, Istanbul", "TR", "TRTUZ"),
        goods=(BATTERIES,),
        containers=(CONTAINER,),
        vehicle_plates=(
            VehiclePlate(number="10 AB 123", country="AZ"),
            VehiclePlate(number="10 TT 456", country="AZ"),
        ),
        consignor_instructions="Export declaration filed at Xi'an customs; transit under TIR.",
        charges=(
            Charge(
                kind=ChargeKind.CARRIAGE,
                amount=Decimal("9800.00"),
                currency="USD",
                payer=Payer.CONSIGNOR,
            ),
        ),
    )
    return base.model_copy(update=changes) if changes else base


_counter = iter(range(1, 10**9))


def sig(
    party: Party, role: PartyRole, version: int = 1, at: datetime | None = None
) -> SignatureEvidence:
    """Evidence of a signature the (hypothetical) signing module has already verified."""
    n = next(_counter)
    return SignatureEvidence(
        party_id=party.id,
        role=role,
        signed_at=at or T0 + timedelta(hours=n % 1000),
        document_version=version,
        signature_ref=f"{party.id}#key-1/jws-{n}",
    )


# --- rail: Baku -> Akhalkalaki (gauge change) -> Kars (law change), the BTK line -------------

ADY = Party(
    id="0057",
    name="Azerbaijan Railways (ADY)",
    country="AZ",
    address=Address(street="Dilara Aliyeva 230", city="Baku"),
)
GR = Party(
    id="0028",
    name="Georgian Railway",
    country="GE",
    address=Address(street="Tamar Mepe Avenue 15", city="Tbilisi"),
)
TCDD = Party(
    id="0075",
    name="TCDD Tasimacilik",
    country="TR",
    address=Address(street="Talatpasa Bulvari 3", city="Ankara"),
)
BAKU_STATION = Station(name="Baku-Tovarnaya", code="550006", country="AZ")
BEYUK_KESIK = Station(name="Beyuk-Kesik", code="554105", country="AZ")
AKHALKALAKI = Station(name="Akhalkalaki", code="568904", country="GE")
KARTSAKHI = Station(name="Kartsakhi", code="568919", country="GE")
KARS = Station(name="Kars", code="7541700", country="TR")


def btk_content() -> CimSmgsContent:
    return CimSmgsContent(
        consignor=COTTON_SHIPPER,
        consignee=CONSIGNEE,
        route=(
            RailSection(
                railway=ADY,
                from_station=BAKU_STATION,
                to_station=BEYUK_KESIK,
                gauge=Gauge.BROAD,
                law=RailLaw.SMGS,
            ),
            RailSection(
                railway=GR,
                from_station=BEYUK_KESIK,
                to_station=AKHALKALAKI,
                gauge=Gauge.BROAD,
                law=RailLaw.SMGS,
            ),
            RailSection(
                railway=GR,
                from_station=AKHALKALAKI,
                to_station=KARTSAKHI,
                gauge=Gauge.STANDARD,
                law=RailLaw.SMGS,
            ),
            RailSection(
                railway=TCDD,
                from_station=KARTSAKHI,
                to_station=KARS,
                gauge=Gauge.STANDARD,
                law=RailLaw.CIM,
            ),
        ),
        goods=(COTTON,),
        wagons=(
            Wagon(
                number="315424561233",
                seals=(Seal(number="AZ778812", affixed_by=SealingParty.CARRIER),),
            ),
        ),
        containers=(CONTAINER,),
    )


def btk_note() -> CimSmgsNote:
    return CimSmgsNote(
        note_id="AZ-2025-000417",
        content=btk_content(),
        created_at=datetime(2025, 4, 1, 8, tzinfo=BAKU),
    )

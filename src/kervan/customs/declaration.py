"""The pre-arrival declaration: one data set, from the shipment's documents, for every country.

A version is immutable. An amendment makes version n+1 and lists what changed (field path,
before, after) and why. The customs of every country on the route receive it before the cargo
reaches them (services.customs.declaration lodges it, the exchange delivers it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from kervan.customs.route import CustomsRoute
from kervan.documents.goods import Container, NonEmptyGoods, Seal, VehiclePlate
from kervan.documents.kinds import DocumentKind
from kervan.documents.parties import CountryCode, Party
from kervan.errors import DocumentValidationError, IllegalTransitionError
from kervan.network.model import Mode


class AeoCertificate(BaseModel):
    """An authorised economic operator certificate a party holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party_id: str
    number: Annotated[str, Field(min_length=1, max_length=64)]
    issuing_country: CountryCode
    valid_until: date


class DocumentReference(BaseModel):
    """A transport document the declaration is assembled from (e-CMR, e-TIR, CIM/SMGS...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DocumentKind
    reference: Annotated[str, Field(min_length=1, max_length=128)]


class TransportMeans(BaseModel):
    """What carries the goods: its mode, vehicles, wagons, containers and seals.

    `seals` are seals on a trailer or wagon; container seals sit on each container.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode
    vehicles: tuple[VehiclePlate, ...] = ()
    wagons: tuple[Annotated[str, Field(pattern=r"^\d{8,12}$")], ...] = ()
    containers: tuple[Container, ...] = ()
    seals: tuple[Seal, ...] = ()

    def all_seals(self) -> tuple[Seal, ...]:
        """Every declared seal: the trailer's or wagon's, then each container's."""
        return (*self.seals, *(s for c in self.containers for s in c.seals))

    def identifiers(self) -> tuple[str, ...]:
        """Plates, wagon numbers and container numbers, as an officer reads them."""
        return (
            *(f"{v.number} ({v.country})" for v in self.vehicles),
            *(f"wagon {w}" for w in self.wagons),
            *(c.number for c in self.containers),
        )


class DeclarationContent(BaseModel):
    """What a pre-arrival declaration says, in one version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipment: Annotated[str, Field(min_length=1, max_length=64)]
    declarant: Party
    consignor: Party
    consignee: Party
    carrier: Party
    aeo: tuple[AeoCertificate, ...] = ()
    goods: NonEmptyGoods
    transport: TransportMeans
    itinerary: Annotated[tuple[CountryCode, ...], Field(min_length=1)]
    route: CustomsRoute
    documents: tuple[DocumentReference, ...] = ()

    @model_validator(mode="after")
    def _route_on_itinerary(self) -> DeclarationContent:
        missing = [p.country for p in self.route.passages if p.country not in self.itinerary]
        if missing:
            raise ValueError(f"the route enters {', '.join(missing)}, not on the itinerary")
        return self

    def party_ids(self) -> set[str]:
        """The declarant, consignor, consignee and carrier."""
        return {p.id for p in (self.declarant, self.consignor, self.consignee, self.carrier)}

    @property
    def loading_country(self) -> str:
        return self.itinerary[0]

    @property
    def unloading_country(self) -> str:
        return self.itinerary[-1]


class FieldChange(BaseModel):
    """One changed value between two versions: its path, e.g. "goods[0].gross_weight_kg"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    before: Any = None
    after: Any = None


class DeclarationVersion(BaseModel):
    """One immutable version: its number, when lodged, what it says and what it changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: Annotated[int, Field(ge=1)]
    lodged_at: AwareDatetime
    content: DeclarationContent
    changes: tuple[FieldChange, ...] = ()
    reason: str | None = None


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _flatten(item, f"{path}[{i}]", out)
        if not value:
            out[path] = []
    else:
        out[path] = value


def changes_between(old: DeclarationContent, new: DeclarationContent) -> tuple[FieldChange, ...]:
    """Every leaf value that differs between two contents, by path, in path order."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(old.model_dump(mode="json"), "", a)
    _flatten(new.model_dump(mode="json"), "", b)
    return tuple(
        FieldChange(path=path, before=a.get(path), after=b.get(path))
        for path in sorted(a.keys() | b.keys())
        if a.get(path) != b.get(path)
    )


class PreArrivalDeclaration(BaseModel):
    """A declaration with all its versions, oldest first; the last is in force."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    versions: Annotated[tuple[DeclarationVersion, ...], Field(min_length=1)]

    @classmethod
    def lodge(cls, content: DeclarationContent, at: datetime) -> PreArrivalDeclaration:
        """The declarant lodges version 1."""
        return cls(versions=(DeclarationVersion(number=1, lodged_at=at, content=content),))

    @property
    def current(self) -> DeclarationVersion:
        return self.versions[-1]

    @property
    def shipment(self) -> str:
        return self.current.content.shipment

    def version(self, number: int) -> DeclarationVersion:
        """Version `number` (1-based) as it was lodged."""
        if not 1 <= number <= len(self.versions):
            raise DocumentValidationError(
                f"declaration {self.shipment} has versions 1 to {len(self.versions)}, not {number}"
            )
        return self.versions[number - 1]

    def amend(
        self, content: DeclarationContent, at: datetime, reason: str
    ) -> PreArrivalDeclaration:
        """Lodge an amendment: version n+1 with the changes listed. Refused when nothing
        changes, when the shipment id changes, or when it is dated before version n."""
        label = f"pre-arrival declaration {self.shipment}"
        if content.shipment != self.shipment:
            raise DocumentValidationError(f"{label}: an amendment cannot change the shipment id")
        if at < self.current.lodged_at:
            raise IllegalTransitionError(
                label,
                f"amend it at {at.isoformat()}",
                f"at version {self.current.number} lodged {self.current.lodged_at.isoformat()}",
                ["amend it at or after the last version"],
            )
        changes = changes_between(self.current.content, content)
        if not changes:
            raise DocumentValidationError(f"{label}: the amendment changes nothing")
        nxt = DeclarationVersion(
            number=self.current.number + 1,
            lodged_at=at,
            content=content,
            changes=changes,
            reason=reason,
        )
        return self.model_copy(update={"versions": (*self.versions, nxt)})

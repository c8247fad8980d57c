"""eTIR: an Almaty -> Istanbul TIR transport via Aktau, Alat, Red Bridge and Sarpi."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kervan.documents.etir import (
    AdvanceTirData,
    Guarantee,
    GuaranteeState,
    OperationState,
    TirState,
    TirTransport,
)
from kervan.documents.goods import Seal, SealingParty, VehiclePlate
from kervan.documents.parties import Address, Party
from kervan.documents.parties import PartyRole as R
from kervan.errors import (
    DocumentValidationError,
    GuaranteeNotValidError,
    IllegalTransitionError,
    SignatoryError,
)
from tests.documents.corridor_samples import BATTERIES, CONTAINER, T0, sig


def office(code: str, name: str, city: str) -> Party:
    return Party(
        id=code, name=name, country=code[:2], address=Address(street="Customs post", city=city)
    )


HOLDER = Party(
    id="KAZ-0411-0027",
    name="Kazakh Road Freight LLP",
    country="KZ",
    address=Address(street="Suyunbay Avenue 2", city="Almaty"),
)
CHAIN = Party(
    id="IRU",
    name="IRU guarantee chain (KazATO)",
    country="CH",
    address=Address(street="La Voie-Creuse 16", city="Geneva"),
)
ALMATY = office("KZ555001", "Almaty customs post", "Almaty")
AKTAU = office("KZ555090", "Aktau sea port customs", "Aktau")
ALAT = office("AZ100610", "Alat port customs", "Alat")
RED_BRIDGE_AZ = office("AZ100800", "Qirmizi Korpu customs", "Qazax")
RED_BRIDGE_GE = office("GE110010", "Red Bridge customs", "Marneuli")
SARPI_GE = office("GE110520", "Sarpi customs", "Sarpi")
SARPI_TR = office("TR080100", "Sarp gumruk mudurlugu", "Hopa")
ISTANBUL = office("TR341500", "Halkali gumruk mudurlugu", "Istanbul")
OFFICES = [ALMATY, AKTAU, ALAT, RED_BRIDGE_AZ, RED_BRIDGE_GE, SARPI_GE, SARPI_TR, ISTANBUL]
ITINERARY = ("KZ", "AZ", "GE", "TR")
START = {"KZ": ALMATY, "AZ": ALAT, "GE": RED_BRIDGE_GE, "TR": SARPI_TR}
END = {"KZ": AKTAU, "AZ": RED_BRIDGE_AZ, "GE": SARPI_GE, "TR": ISTANBUL}


def data(**changes: object) -> AdvanceTirData:
    base = AdvanceTirData(
        holder=HOLDER,
        guarantee_reference="XG71234567",
        itinerary=ITINERARY,
        office_of_departure=ALMATY,
        offices_en_route=(AKTAU, ALAT, RED_BRIDGE_AZ, RED_BRIDGE_GE, SARPI_GE, SARPI_TR),
        office_of_destination=ISTANBUL,
        goods=(BATTERIES,),
        seals=(Seal(number="KZ0045521", identifier="KZ-ALMATY", affixed_by=SealingParty.CUSTOMS),),
        vehicle=(VehiclePlate(number="123 ABC 02", country="KZ"),),
        containers=(CONTAINER,),
    )
    return base.model_copy(update=changes) if changes else base


def guarantee() -> Guarantee:
    return Guarantee.register(
        "XG71234567",
        CHAIN,
        HOLDER.id,
        date(2025, 3, 1),
        date(2025, 6, 30),
        sig(CHAIN, R.GUARANTEE_CHAIN),
    )


def submitted() -> TirTransport:
    return TirTransport.submit("TIR-KZ-2025-000188", guarantee(), data(), sig(HOLDER, R.HOLDER))


def test_whole_transport_ends_when_every_operation_is_discharged() -> None:
    t = submitted().accept(sig(ALMATY, R.CUSTOMS_OFFICE))
    assert t.guarantee.state is GuaranteeState.IN_USE
    for country in ITINERARY:
        t = t.start_operation(country, sig(START[country], R.CUSTOMS_OFFICE))
        t = t.terminate_operation(country, sig(END[country], R.CUSTOMS_OFFICE))
        assert t.state is TirState.ACCEPTED
    for country in ITINERARY:
        t = t.discharge_operation(country, sig(END[country], R.CUSTOMS_OFFICE))
    assert t.state is TirState.ENDED
    assert all(o.state is OperationState.DISCHARGED for o in t.operations)


def test_operations_follow_the_itinerary() -> None:
    t = submitted().accept(sig(ALMATY, R.CUSTOMS_OFFICE))
    with pytest.raises(IllegalTransitionError) as err:
        t.start_operation("AZ", sig(ALAT, R.CUSTOMS_OFFICE))
    assert "start the TIR operation in KZ" in err.value.allowed
    with pytest.raises(SignatoryError, match="not entitled"):
        t.start_operation("KZ", sig(AKTAU, R.CUSTOMS_OFFICE))
    with pytest.raises(DocumentValidationError, match="not on the itinerary"):
        t.start_operation("RU", sig(ALMATY, R.CUSTOMS_OFFICE))


def test_declaration_refused_with_cancelled_or_expired_guarantee() -> None:
    cancelled = submitted().cancel_guarantee(sig(CHAIN, R.GUARANTEE_CHAIN))
    assert cancelled.guarantee.state is GuaranteeState.CANCELLED
    with pytest.raises(GuaranteeNotValidError, match="cancelled"):
        cancelled.accept(sig(ALMATY, R.CUSTOMS_OFFICE))
    late = sig(ALMATY, R.CUSTOMS_OFFICE, at=T0 + timedelta(days=200))
    with pytest.raises(GuaranteeNotValidError, match="valid"):
        submitted().accept(late)


def test_cancellation_in_use_takes_effect_at_the_next_operation() -> None:
    t = submitted().accept(sig(ALMATY, R.CUSTOMS_OFFICE))
    t = t.start_operation("KZ", sig(ALMATY, R.CUSTOMS_OFFICE))
    t = t.cancel_guarantee(sig(CHAIN, R.GUARANTEE_CHAIN))
    assert t.guarantee.state is GuaranteeState.IN_USE
    assert t.guarantee.cancelled_for_new_operations
    t = t.terminate_operation("KZ", sig(AKTAU, R.CUSTOMS_OFFICE))  # the running one finishes
    with pytest.raises(GuaranteeNotValidError, match="cancelled by the guarantee chain"):
        t.start_operation("AZ", sig(ALAT, R.CUSTOMS_OFFICE))
    with pytest.raises(IllegalTransitionError):
        t.cancel_guarantee(sig(CHAIN, R.GUARANTEE_CHAIN))


def test_data_must_fit_itinerary_and_guarantee() -> None:
    with pytest.raises(ValueError, match="office of destination"):
        AdvanceTirData.model_validate({**data().model_dump(), "itinerary": ("KZ", "AZ", "GE")})
    other = Guarantee.register(
        "XG71234567",
        CHAIN,
        "KAZ-0999-0001",
        date(2025, 3, 1),
        date(2025, 6, 30),
        sig(CHAIN, R.GUARANTEE_CHAIN),
    )
    with pytest.raises(DocumentValidationError, match="registered for holder"):
        TirTransport.submit("TIR-X", other, data(), sig(HOLDER, R.HOLDER))


# --- random walks against a reference model ---------------------------------------------------

ACTIONS = ["accept", "start", "terminate", "discharge", "cancel_guarantee"]


class TirWalk(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = submitted()
        self.accepted = False
        self.ops = dict.fromkeys(ITINERARY, "pending")
        self.cancel_requested = False
        self.guarantee_cancelled_unused = False
        self.snapshot = self.t.versions[0].model_dump()

    def _expected(self, action: str, country: str, signer: Party) -> type[Exception] | None:
        i = ITINERARY.index(country)
        ended = all(s == "discharged" for s in self.ops.values())
        if action == "cancel_guarantee":
            if ended or self.cancel_requested or self.guarantee_cancelled_unused:
                return IllegalTransitionError
            return None if signer is CHAIN else SignatoryError
        if action == "accept":
            if self.accepted:
                return IllegalTransitionError
            if signer is not ALMATY:
                return SignatoryError
            return GuaranteeNotValidError if self.guarantee_cancelled_unused else None
        if not self.accepted or ended:
            return IllegalTransitionError
        state = self.ops[country]
        if action == "start":
            prev_ok = i == 0 or self.ops[ITINERARY[i - 1]] in ("terminated", "discharged")
            if state != "pending" or not prev_ok:
                return IllegalTransitionError
            if signer is not START[country]:
                return SignatoryError
            return GuaranteeNotValidError if self.cancel_requested else None
        if action == "terminate":
            if state != "started":
                return IllegalTransitionError
            return None if signer is END[country] else SignatoryError
        if state != "terminated":
            return IllegalTransitionError
        ok = signer.country == country and signer in OFFICES
        return None if ok else SignatoryError

    @rule(
        action=st.sampled_from(ACTIONS),
        country=st.sampled_from(ITINERARY),
        signer=st.sampled_from([*OFFICES, CHAIN, HOLDER]),
        honest=st.booleans(),
    )
    def attempt(self, action: str, country: str, signer: Party, honest: bool) -> None:
        if honest:
            signer = {
                "accept": ALMATY,
                "start": START[country],
                "terminate": END[country],
                "discharge": END[country],
                "cancel_guarantee": CHAIN,
            }[action]
        role = (
            R.GUARANTEE_CHAIN
            if signer is CHAIN
            else (R.HOLDER if signer is HOLDER else R.CUSTOMS_OFFICE)
        )
        ev = sig(signer, role, version=1)
        expected = self._expected(action, country, signer)
        calls: dict[str, Callable[[], TirTransport]] = {
            "accept": lambda: self.t.accept(ev),
            "start": lambda: self.t.start_operation(country, ev),
            "terminate": lambda: self.t.terminate_operation(country, ev),
            "discharge": lambda: self.t.discharge_operation(country, ev),
            "cancel_guarantee": lambda: self.t.cancel_guarantee(ev),
        }
        call = calls[action]
        if expected is not None:
            with pytest.raises(expected):
                call()
            return
        self.t = call()
        if action == "accept":
            self.accepted = True
        elif action == "cancel_guarantee":
            if self.accepted:
                self.cancel_requested = True
            else:
                self.guarantee_cancelled_unused = True
        else:
            self.ops[country] = {
                "start": "started",
                "terminate": "terminated",
                "discharge": "discharged",
            }[action]

    @invariant()
    def matches_reference(self) -> None:
        assert self.t.versions[0].model_dump() == self.snapshot
        if self.accepted:
            assert {o.country: o.state.value for o in self.t.operations} == self.ops
        ended = self.accepted and all(s == "discharged" for s in self.ops.values())
        assert (self.t.state is TirState.ENDED) == ended


TirWalk.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
TestTirWalk = TirWalk.TestCase

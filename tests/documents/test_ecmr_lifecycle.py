"""e-CMR lifecycle: a Xi'an -> Istanbul consignment carried by ADY Container, then random walks
checked against a reference transition table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kervan.documents.ecmr import Reservation, ReservationSubject
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrState, EcmrStep
from kervan.documents.parties import Party, SignatureEvidence
from kervan.documents.parties import PartyRole as R
from kervan.errors import DocumentValidationError, IllegalTransitionError, SignatoryError
from tests.documents.corridor_samples import (
    CARRIER,
    CONSIGNEE,
    CONSIGNOR,
    NEW_CONSIGNEE,
    SUCCESSIVE,
    SUCCESSIVE_TR,
    T0,
    ecmr_content,
    place,
    sig,
)

DENTED = Reservation(
    subject=ReservationSubject.PACKAGING, text="Two pallets with torn stretch film"
)


def issued_note() -> Ecmr:
    note = Ecmr.draft("ECMR-CN-2025-000731", ecmr_content(), T0)
    return note.issue(sig(CONSIGNOR, R.CONSIGNOR))


def in_transit_note() -> Ecmr:
    note = issued_note()
    note = note.sign_taking_over(sig(CARRIER, R.CARRIER))
    note = note.sign_taking_over(sig(CONSIGNOR, R.CONSIGNOR))
    return note.depart(sig(CARRIER, R.CARRIER))


def test_full_journey_xian_to_istanbul() -> None:
    note = in_transit_note()
    assert note.state is EcmrState.IN_TRANSIT
    note = note.successive_carrier_takes_over(sig(SUCCESSIVE, R.SUCCESSIVE_CARRIER))
    note = note.successive_carrier_takes_over(sig(SUCCESSIVE_TR, R.SUCCESSIVE_CARRIER))
    delivered = note.deliver(sig(CONSIGNEE, R.CONSIGNEE), reservations=(DENTED,))
    assert delivered.state is EcmrState.DELIVERED
    assert delivered.right_of_disposal is R.CONSIGNEE
    assert delivered.consignee_reservations == (DENTED,)
    assert [a.step for a in delivered.acts] == [
        EcmrStep.ISSUE,
        EcmrStep.SIGN_TAKING_OVER,
        EcmrStep.SIGN_TAKING_OVER,
        EcmrStep.DEPART,
        EcmrStep.SUCCESSIVE_CARRIER_TAKES_OVER,
        EcmrStep.SUCCESSIVE_CARRIER_TAKES_OVER,
        EcmrStep.DELIVER,
    ]
    assert delivered.allowed_steps() == frozenset()


def test_taking_over_needs_both_signatures() -> None:
    note = issued_note().sign_taking_over(sig(CARRIER, R.CARRIER))
    assert note.state is EcmrState.ISSUED
    with pytest.raises(IllegalTransitionError, match="second time"):
        note.sign_taking_over(sig(CARRIER, R.CARRIER))
    assert note.sign_taking_over(sig(CONSIGNOR, R.CONSIGNOR)).state is EcmrState.TAKEN_OVER


def test_carrier_reservations_need_consignor_acceptance() -> None:
    note = issued_note().add_carrier_reservations((DENTED,), sig(CARRIER, R.CARRIER))
    note = note.sign_taking_over(sig(CARRIER, R.CARRIER))
    note = note.sign_taking_over(sig(CONSIGNOR, R.CONSIGNOR))
    assert note.state is EcmrState.ISSUED  # reservations not yet accepted
    with pytest.raises(SignatoryError, match="consignor"):
        note.accept_reservations(sig(CARRIER, R.CARRIER))
    accepted = note.accept_reservations(sig(CONSIGNOR, R.CONSIGNOR))
    assert accepted.state is EcmrState.TAKEN_OVER
    assert accepted.carrier_reservations == (DENTED,)


def test_reservations_after_carrier_signed_are_refused() -> None:
    note = issued_note().sign_taking_over(sig(CARRIER, R.CARRIER))
    with pytest.raises(IllegalTransitionError) as err:
        note.add_carrier_reservations((DENTED,), sig(CARRIER, R.CARRIER))
    assert err.value.attempted == EcmrStep.ADD_CARRIER_RESERVATIONS
    assert EcmrStep.SIGN_TAKING_OVER.value in err.value.allowed


def test_cancel_only_before_taking_over_and_message_says_what_is_allowed() -> None:
    draft = Ecmr.draft("ECMR-CN-2025-000732", ecmr_content(), T0)
    assert draft.cancel(sig(CONSIGNOR, R.CONSIGNOR), "order withdrawn").state is EcmrState.CANCELLED
    note = in_transit_note()
    with pytest.raises(IllegalTransitionError) as err:
        note.cancel(sig(CONSIGNOR, R.CONSIGNOR), "too late")
    message = str(err.value)
    assert "cannot cancel while it is in_transit" in message
    assert "sign on a successive carrier" in message
    assert err.value.state.startswith("in_transit")


def test_wrong_party_wrong_role_wrong_version() -> None:
    draft = Ecmr.draft("ECMR-CN-2025-000733", ecmr_content(), T0)
    with pytest.raises(SignatoryError, match="role consignor"):
        draft.issue(sig(CONSIGNOR, R.CARRIER))
    with pytest.raises(SignatoryError, match="not entitled"):
        draft.issue(sig(CONSIGNEE, R.CONSIGNOR))
    with pytest.raises(SignatoryError, match="version 2"):
        draft.issue(sig(CONSIGNOR, R.CONSIGNOR, version=2))


def test_instructions_make_a_new_version_and_leave_the_signed_one_alone() -> None:
    note = in_transit_note()
    signed_v1 = note.versions[0]
    changed = note.give_instructions(
        sig(CONSIGNOR, R.CONSIGNOR, version=1),
        T0 + timedelta(days=4),
        new_consignee=NEW_CONSIGNEE,
        new_place_of_delivery=place("Ankara", "TR", "TRANK"),
    )
    assert changed.current.number == 2
    assert changed.versions[0] == signed_v1
    assert changed.versions[0].content.consignee == CONSIGNEE
    assert changed.content.consignee == NEW_CONSIGNEE
    # signatures now go on version 2, and the new consignee receives the goods
    with pytest.raises(SignatoryError, match="version 1"):
        changed.successive_carrier_takes_over(sig(SUCCESSIVE, R.SUCCESSIVE_CARRIER, version=1))
    on_v2 = changed.successive_carrier_takes_over(sig(SUCCESSIVE, R.SUCCESSIVE_CARRIER, version=2))
    on_v2 = on_v2.successive_carrier_takes_over(sig(SUCCESSIVE_TR, R.SUCCESSIVE_CARRIER, version=2))
    with pytest.raises(SignatoryError):
        on_v2.deliver(sig(CONSIGNEE, R.CONSIGNEE, version=2))
    assert on_v2.deliver(sig(NEW_CONSIGNEE, R.CONSIGNEE, version=2)).state is EcmrState.DELIVERED


def test_instructions_end_when_the_right_of_disposal_passes() -> None:
    note = in_transit_note().transfer_right_of_disposal(sig(CONSIGNOR, R.CONSIGNOR))
    with pytest.raises(IllegalTransitionError, match="right of disposal with the consignee"):
        note.give_instructions(sig(CONSIGNOR, R.CONSIGNOR), T0, new_consignee=NEW_CONSIGNEE)


def test_instruction_must_change_something() -> None:
    with pytest.raises(DocumentValidationError):
        in_transit_note().give_instructions(sig(CONSIGNOR, R.CONSIGNOR), T0)


def test_delivery_waits_for_every_successive_carrier() -> None:
    note = in_transit_note().successive_carrier_takes_over(sig(SUCCESSIVE, R.SUCCESSIVE_CARRIER))
    with pytest.raises(IllegalTransitionError, match="successive carriers still to sign on"):
        note.deliver(sig(CONSIGNEE, R.CONSIGNEE))
    with pytest.raises(SignatoryError):  # out of order: the Georgian carrier already signed on
        note.successive_carrier_takes_over(sig(SUCCESSIVE, R.SUCCESSIVE_CARRIER))


# --- random walks against a reference table ----------------------------------------------------

STEPS = [
    "amend",
    "issue",
    "reserve",
    "accept",
    "take_over",
    "depart",
    "successive",
    "instruct",
    "transfer",
    "deliver",
    "refuse",
    "cancel",
]
# closing steps are drawn rarely so that walks get deep into the lifecycle
STEP_POOL = [s for s in STEPS for _ in range(1 if s in ("cancel", "refuse") else 15)]
REFERENCE: dict[str, set[str]] = {
    "draft": {"amend", "issue", "cancel"},
    "issued": {"reserve", "accept", "take_over", "cancel"},
    "taken_over": {"depart", "instruct", "transfer"},
    "in_transit": {"successive", "instruct", "transfer", "deliver", "refuse"},
    "delivered": set(),
    "refused": set(),
    "cancelled": set(),
}
SIGNERS = [
    (p, r)
    for p in (CONSIGNOR, CONSIGNEE, NEW_CONSIGNEE, CARRIER, SUCCESSIVE, SUCCESSIVE_TR)
    for r in (R.CONSIGNOR, R.CONSIGNEE, R.CARRIER, R.SUCCESSIVE_CARRIER)
]


class EcmrWalk(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.note = Ecmr.draft("ECMR-WALK-1", ecmr_content(), T0)
        self.state = "draft"
        self.version = 1
        self.consignee = CONSIGNEE.id
        self.signed_taking_over: set[R] = set()
        self.reserved = self.accepted = False
        self.disposal_with_consignor = True
        self.successive_done = 0
        self.frozen: dict[int, object] = {1: self.note.versions[0].model_dump()}

    def _allowed(self, step: str, role: R) -> bool:
        if step not in REFERENCE[self.state]:
            return False
        conditions = {
            "reserve": not self.reserved and R.CARRIER not in self.signed_taking_over,
            "accept": self.reserved and not self.accepted,
            "instruct": self.disposal_with_consignor,
            "transfer": self.disposal_with_consignor,
            "successive": self.successive_done < 2,
            "deliver": self.successive_done == 2,
            "refuse": self.successive_done == 2,
        }
        return conditions.get(step, True)

    def _right_signer(self, step: str, party_id: str, role: R) -> bool:
        expected = {
            "issue": (CONSIGNOR.id, R.CONSIGNOR),
            "accept": (CONSIGNOR.id, R.CONSIGNOR),
            "instruct": (CONSIGNOR.id, R.CONSIGNOR),
            "transfer": (CONSIGNOR.id, R.CONSIGNOR),
            "cancel": (CONSIGNOR.id, R.CONSIGNOR),
            "reserve": (CARRIER.id, R.CARRIER),
            "depart": (CARRIER.id, R.CARRIER),
            "deliver": (self.consignee, R.CONSIGNEE),
            "refuse": (self.consignee, R.CONSIGNEE),
            "successive": (
                (SUCCESSIVE.id, SUCCESSIVE_TR.id)[min(self.successive_done, 1)],
                R.SUCCESSIVE_CARRIER,
            ),
        }
        if step == "amend":
            return True  # an amendment of the draft carries no signature
        if step == "take_over":
            return (party_id, role) in {(CONSIGNOR.id, R.CONSIGNOR), (CARRIER.id, R.CARRIER)}
        return expected[step] == (party_id, role)

    def _expected_signer(self, step: str, role: R) -> tuple[Party, R]:
        by_role = {R.CONSIGNOR: CONSIGNOR, R.CARRIER: CARRIER}
        if step == "take_over":
            return (by_role[role], role) if role in by_role else (CARRIER, R.CARRIER)
        if step in ("reserve", "depart"):
            return CARRIER, R.CARRIER
        if step in ("deliver", "refuse"):
            return (NEW_CONSIGNEE if self.consignee == NEW_CONSIGNEE.id else CONSIGNEE), R.CONSIGNEE
        if step == "successive":
            return (SUCCESSIVE, SUCCESSIVE_TR)[min(self.successive_done, 1)], R.SUCCESSIVE_CARRIER
        return CONSIGNOR, R.CONSIGNOR

    def _apply(self, step: str, ev: SignatureEvidence, note: Ecmr) -> Ecmr:
        at = T0 + timedelta(hours=len(note.acts) + 1)
        actions: dict[str, Callable[[], Ecmr]] = {
            "amend": lambda: note.amend_draft(
                ecmr_content(place_of_delivery=place("Izmit", "TR")), at
            ),
            "issue": lambda: note.issue(ev),
            "reserve": lambda: note.add_carrier_reservations((DENTED,), ev),
            "accept": lambda: note.accept_reservations(ev),
            "take_over": lambda: note.sign_taking_over(ev),
            "depart": lambda: note.depart(ev),
            "successive": lambda: note.successive_carrier_takes_over(ev),
            "instruct": lambda: note.give_instructions(ev, at, new_consignee=NEW_CONSIGNEE),
            "transfer": lambda: note.transfer_right_of_disposal(ev),
            "deliver": lambda: note.deliver(ev),
            "refuse": lambda: note.refuse(ev, "goods not as ordered"),
            "cancel": lambda: note.cancel(ev, "order withdrawn"),
        }
        return actions[step]()

    @rule(
        step=st.sampled_from(STEP_POOL),
        signer=st.sampled_from(SIGNERS),
        version_shift=st.sampled_from([0, 0, 0, -1, 1]),
        honest=st.sampled_from([True, True, True, False]),
    )
    def attempt(self, step: str, signer: tuple[Party, R], version_shift: int, honest: bool) -> None:
        party, role = signer
        version = max(1, self.version + version_shift)
        if honest:  # half the attempts come from the party the step expects, on the right version
            party, role = self._expected_signer(step, role)
            version = self.version
        ev = sig(party, role, version=version)
        right = step == "amend" or (
            self._right_signer(step, ev.party_id, role) and version == self.version
        )
        allowed = self._allowed(step, role)
        duplicate = step == "take_over" and role in self.signed_taking_over
        if not allowed:
            with pytest.raises(IllegalTransitionError):
                self._apply(step, ev, self.note)
            return
        if not right:
            with pytest.raises(SignatoryError):
                self._apply(step, ev, self.note)
            return
        if duplicate:
            with pytest.raises(IllegalTransitionError):
                self._apply(step, ev, self.note)
            return
        self.note = self._apply(step, ev, self.note)
        self._advance(step, role)
        assert self.note.state.value == self.state
        event(f"reached {self.state}")

    def _advance(self, step: str, role: R) -> None:
        if step in ("amend", "instruct"):
            self.version += 1
        if step == "instruct":
            self.consignee = NEW_CONSIGNEE.id
        moves = {
            "issue": "issued",
            "depart": "in_transit",
            "deliver": "delivered",
            "refuse": "refused",
            "cancel": "cancelled",
        }
        self.state = moves.get(step, self.state)
        if step == "reserve":
            self.reserved = True
        if step == "accept":
            self.accepted = True
        if step == "take_over":
            self.signed_taking_over.add(role)
        if (
            step in ("take_over", "accept")
            and len(self.signed_taking_over) == 2
            and (self.accepted or not self.reserved)
        ):
            self.state = "taken_over"
        if step in ("transfer", "deliver"):
            self.disposal_with_consignor = False
        if step == "successive":
            self.successive_done += 1

    @invariant()
    def signed_versions_never_change(self) -> None:
        for version in self.note.versions:
            dumped = version.model_dump()
            assert self.frozen.setdefault(version.number, dumped) == dumped
        assert all(a.version <= self.note.current.number for a in self.note.acts)


EcmrWalk.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEcmrWalk = EcmrWalk.TestCase

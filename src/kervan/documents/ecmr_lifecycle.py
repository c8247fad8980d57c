"""The e-CMR lifecycle as an explicit state machine (CMR Convention, 2008 Additional Protocol).

    draft -> issued -> taken_over -> in_transit -> delivered | refused
    draft | issued -> cancelled

Every step returns a new `Ecmr`; nothing is changed in place. Content changes make a new
version; signatures attach to the version they were made on, and earlier versions never change.
A step the note's state does not allow raises IllegalTransitionError naming what is allowed; a
signature from the wrong party, role or version raises SignatoryError.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kervan.documents.ecmr import EcmrContent, EcmrVersion, Place, Reservation, Reservations
from kervan.documents.lifecycle import require_signatory, require_step
from kervan.documents.parties import Party, PartyRole, SignatureEvidence
from kervan.errors import DocumentValidationError, IllegalTransitionError, SignatoryError


class EcmrState(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    TAKEN_OVER = "taken_over"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class EcmrStep(StrEnum):
    """The steps of the lifecycle, named as the message says them ("cannot <step>")."""

    AMEND_DRAFT = "amend the draft"
    ISSUE = "issue the note in its final form"
    ADD_CARRIER_RESERVATIONS = "enter the carrier's reservations"
    ACCEPT_RESERVATIONS = "accept the carrier's reservations"
    SIGN_TAKING_OVER = "sign the taking over"
    DEPART = "start the carriage"
    SUCCESSIVE_CARRIER_TAKES_OVER = "sign on a successive carrier"
    GIVE_INSTRUCTIONS = "give later instructions"
    TRANSFER_RIGHT_OF_DISPOSAL = "transfer the right of disposal"
    DELIVER = "deliver"
    REFUSE = "refuse the goods"
    CANCEL = "cancel"


S = EcmrStep
TRANSITIONS: dict[EcmrState, frozenset[EcmrStep]] = {
    EcmrState.DRAFT: frozenset({S.AMEND_DRAFT, S.ISSUE, S.CANCEL}),
    EcmrState.ISSUED: frozenset(
        {S.ADD_CARRIER_RESERVATIONS, S.ACCEPT_RESERVATIONS, S.SIGN_TAKING_OVER, S.CANCEL}
    ),
    EcmrState.TAKEN_OVER: frozenset({S.DEPART, S.GIVE_INSTRUCTIONS, S.TRANSFER_RIGHT_OF_DISPOSAL}),
    EcmrState.IN_TRANSIT: frozenset(
        {
            S.SUCCESSIVE_CARRIER_TAKES_OVER,
            S.GIVE_INSTRUCTIONS,
            S.TRANSFER_RIGHT_OF_DISPOSAL,
            S.DELIVER,
            S.REFUSE,
        }
    ),
    EcmrState.DELIVERED: frozenset(),
    EcmrState.REFUSED: frozenset(),
    EcmrState.CANCELLED: frozenset(),
}
"""What each state allows at most; `Ecmr.allowed_steps()` narrows it by what has been signed."""


class SignedAct(BaseModel):
    """A verified signature attached to one version of the note for one step."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: EcmrStep
    version: int
    evidence: SignatureEvidence
    reservations: tuple[Reservation, ...] = ()
    remark: str | None = None


class Ecmr(BaseModel):
    """An e-CMR with all its versions, every signature made on them, and where it stands."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
    state: EcmrState
    versions: Annotated[tuple[EcmrVersion, ...], Field(min_length=1)]
    acts: tuple[SignedAct, ...] = ()
    right_of_disposal: PartyRole = PartyRole.CONSIGNOR

    @classmethod
    def draft(cls, note_id: str, content: EcmrContent, at: AwareDatetime) -> Ecmr:
        """Start a note: in, its id, first content and the time; out, a draft at version 1."""
        first = EcmrVersion(number=1, content=content, created_at=at, reason="draft")
        return cls(note_id=note_id, state=EcmrState.DRAFT, versions=(first,))

    # --- reading -------------------------------------------------------------------------

    @property
    def label(self) -> str:
        return f"e-CMR {self.note_id}"

    @property
    def current(self) -> EcmrVersion:
        """The latest version; every new signature must be on it."""
        return self.versions[-1]

    @property
    def content(self) -> EcmrContent:
        return self.current.content

    def acts_of(self, step: EcmrStep, version: int | None = None) -> tuple[SignedAct, ...]:
        """Signed acts of one step, optionally only those on one version, oldest first."""
        return tuple(
            a for a in self.acts if a.step is step and (version is None or a.version == version)
        )

    def has_signed(self, step: EcmrStep, role: PartyRole) -> bool:
        """Whether a party in `role` has signed `step` on the current version."""
        return any(a.evidence.role is role for a in self.acts_of(step, self.current.number))

    @property
    def carrier_reservations(self) -> tuple[Reservation, ...]:
        acts = self.acts_of(EcmrStep.ADD_CARRIER_RESERVATIONS)
        return acts[-1].reservations if acts else ()

    @property
    def consignee_reservations(self) -> tuple[Reservation, ...]:
        acts = self.acts_of(EcmrStep.DELIVER)
        return acts[-1].reservations if acts else ()

    def next_successive_carrier(self) -> Party | None:
        """The successive carrier who takes over next, or None when all have signed on."""
        signed = len(self.acts_of(EcmrStep.SUCCESSIVE_CARRIER_TAKES_OVER))
        remaining = self.content.successive_carriers[signed:]
        return remaining[0] if remaining else None

    def allowed_steps(self) -> frozenset[EcmrStep]:
        """The steps this note allows now, given its state and what has already been signed."""
        allowed = set(TRANSITIONS[self.state])
        if self.state is EcmrState.ISSUED:
            reserved = bool(self.acts_of(EcmrStep.ADD_CARRIER_RESERVATIONS))
            if reserved or self.has_signed(EcmrStep.SIGN_TAKING_OVER, PartyRole.CARRIER):
                allowed.discard(EcmrStep.ADD_CARRIER_RESERVATIONS)
            if not reserved or self.acts_of(EcmrStep.ACCEPT_RESERVATIONS):
                allowed.discard(EcmrStep.ACCEPT_RESERVATIONS)
        if self.right_of_disposal is not PartyRole.CONSIGNOR:
            allowed -= {EcmrStep.GIVE_INSTRUCTIONS, EcmrStep.TRANSFER_RIGHT_OF_DISPOSAL}
        if self.state is EcmrState.IN_TRANSIT:
            if self.next_successive_carrier() is None:
                allowed.discard(EcmrStep.SUCCESSIVE_CARRIER_TAKES_OVER)
            else:  # the last carrier delivers: every listed carrier signs on first
                allowed -= {EcmrStep.DELIVER, EcmrStep.REFUSE}
        return frozenset(allowed)

    # --- steps ---------------------------------------------------------------------------

    def _check(self, step: EcmrStep) -> None:
        require_step(self.label, step, self.state, TRANSITIONS)
        allowed = self.allowed_steps()
        if step not in allowed:
            raise IllegalTransitionError(
                self.label, step, self._situation(), sorted(s.value for s in allowed)
            )

    def _situation(self) -> str:
        parts = [self.state.value]
        if self.acts_of(EcmrStep.ADD_CARRIER_RESERVATIONS):
            parts.append("carrier's reservations entered")
        if self.right_of_disposal is PartyRole.CONSIGNEE:
            parts.append("right of disposal with the consignee")
        if self.state is EcmrState.IN_TRANSIT and self.next_successive_carrier() is not None:
            parts.append("successive carriers still to sign on")
        return parts[0] + (f" ({'; '.join(parts[1:])})" if len(parts) > 1 else "")

    def _sign(
        self, step: EcmrStep, evidence: SignatureEvidence, party: Party, role: PartyRole
    ) -> None:
        require_signatory(
            self.label,
            step,
            evidence,
            party_ids={party.id},
            role=role,
            version=self.current.number,
        )

    def _with_act(self, act: SignedAct, **changes: object) -> Ecmr:
        return self.model_copy(update={"acts": (*self.acts, act), **changes})

    def amend_draft(self, content: EcmrContent, at: AwareDatetime) -> Ecmr:
        """Replace the draft's content: out, a draft with a new version number."""
        self._check(EcmrStep.AMEND_DRAFT)
        if content.consignor.id != self.content.consignor.id:
            raise DocumentValidationError(f"{self.label}: the consignor of a draft cannot change")
        nxt = EcmrVersion(
            number=self.current.number + 1, content=content, created_at=at, reason="draft amended"
        )
        return self.model_copy(update={"versions": (*self.versions, nxt)})

    def issue(self, evidence: SignatureEvidence) -> Ecmr:
        """The consignor signs the current version as the final form: draft -> issued."""
        self._check(EcmrStep.ISSUE)
        self._sign(EcmrStep.ISSUE, evidence, self.content.consignor, PartyRole.CONSIGNOR)
        act = SignedAct(step=EcmrStep.ISSUE, version=self.current.number, evidence=evidence)
        return self._with_act(act, state=EcmrState.ISSUED)

    def add_carrier_reservations(
        self, reservations: Reservations, evidence: SignatureEvidence
    ) -> Ecmr:
        """The carrier enters its reservations on the issued version, before it signs the
        taking over. Out: the note, still issued; taking over now also needs the consignor's
        acceptance of them."""
        step = EcmrStep.ADD_CARRIER_RESERVATIONS
        self._check(step)
        self._sign(step, evidence, self.content.carrier, PartyRole.CARRIER)
        act = SignedAct(
            step=step, version=self.current.number, evidence=evidence, reservations=reservations
        )
        return self._with_act(act)

    def accept_reservations(self, evidence: SignatureEvidence) -> Ecmr:
        """The consignor signs its acceptance of the carrier's reservations."""
        step = EcmrStep.ACCEPT_RESERVATIONS
        self._check(step)
        self._sign(step, evidence, self.content.consignor, PartyRole.CONSIGNOR)
        act = SignedAct(step=step, version=self.current.number, evidence=evidence)
        return self._taken_over_if_complete(self._with_act(act))

    def sign_taking_over(self, evidence: SignatureEvidence) -> Ecmr:
        """Consignor or carrier signs the taking over of the goods on the issued version.

        Out: issued until both have signed (and any reservations are accepted), then taken_over.
        """
        step = EcmrStep.SIGN_TAKING_OVER
        self._check(step)
        signers = {
            PartyRole.CONSIGNOR: self.content.consignor,
            PartyRole.CARRIER: self.content.carrier,
        }
        if evidence.role not in signers:
            raise SignatoryError(
                self.label,
                step,
                f"it is signed by the consignor or the carrier, not in the role "
                f"{evidence.role.value}",
            )
        self._sign(step, evidence, signers[evidence.role], evidence.role)
        if self.has_signed(step, evidence.role):
            raise IllegalTransitionError(
                self.label,
                f"{step} a second time as {evidence.role.value}",
                self._situation(),
                sorted(s.value for s in self.allowed_steps()),
            )
        act = SignedAct(step=step, version=self.current.number, evidence=evidence)
        return self._taken_over_if_complete(self._with_act(act))

    def _taken_over_if_complete(self, note: Ecmr) -> Ecmr:
        both = all(
            note.has_signed(EcmrStep.SIGN_TAKING_OVER, r)
            for r in (PartyRole.CONSIGNOR, PartyRole.CARRIER)
        )
        reserved = bool(note.acts_of(EcmrStep.ADD_CARRIER_RESERVATIONS))
        accepted = bool(note.acts_of(EcmrStep.ACCEPT_RESERVATIONS))
        if both and (accepted or not reserved):
            return note.model_copy(update={"state": EcmrState.TAKEN_OVER})
        return note

    def depart(self, evidence: SignatureEvidence) -> Ecmr:
        """The carrier signs that the carriage has begun: taken_over -> in_transit."""
        self._check(EcmrStep.DEPART)
        self._sign(EcmrStep.DEPART, evidence, self.content.carrier, PartyRole.CARRIER)
        act = SignedAct(step=EcmrStep.DEPART, version=self.current.number, evidence=evidence)
        return self._with_act(act, state=EcmrState.IN_TRANSIT)

    def successive_carrier_takes_over(self, evidence: SignatureEvidence) -> Ecmr:
        """The next successive carrier, in the order the note lists them, accepts the goods and
        the note (CMR Art. 34-35) by signing the current version."""
        step = EcmrStep.SUCCESSIVE_CARRIER_TAKES_OVER
        self._check(step)
        nxt = self.next_successive_carrier()
        assert nxt is not None  # guaranteed by allowed_steps()
        self._sign(step, evidence, nxt, PartyRole.SUCCESSIVE_CARRIER)
        return self._with_act(SignedAct(step=step, version=self.current.number, evidence=evidence))

    def give_instructions(
        self,
        evidence: SignatureEvidence,
        at: AwareDatetime,
        *,
        new_consignee: Party | None = None,
        new_place_of_delivery: Place | None = None,
    ) -> Ecmr:
        """The consignor, while it holds the right of disposal, changes the consignee and/or the
        place of delivery (CMR Art. 12). The signature is on the current version; out, the note
        with a new version carrying the change."""
        step = EcmrStep.GIVE_INSTRUCTIONS
        self._check(step)
        self._sign(step, evidence, self.content.consignor, PartyRole.CONSIGNOR)
        if new_consignee is None and new_place_of_delivery is None:
            raise DocumentValidationError(
                f"{self.label}: an instruction must name a new consignee or place of delivery"
            )
        changes: dict[str, object] = {}
        if new_consignee is not None:
            changes["consignee"] = new_consignee
        if new_place_of_delivery is not None:
            changes["place_of_delivery"] = new_place_of_delivery
        content = EcmrContent.model_validate({**self.content.model_dump(), **changes})
        act = SignedAct(step=step, version=self.current.number, evidence=evidence)
        nxt = EcmrVersion(
            number=self.current.number + 1,
            content=content,
            created_at=at,
            reason="consignor's instructions",
        )
        return self._with_act(act, versions=(*self.versions, nxt))

    def transfer_right_of_disposal(self, evidence: SignatureEvidence) -> Ecmr:
        """The consignor signs that the right of disposal passes to the consignee now."""
        step = EcmrStep.TRANSFER_RIGHT_OF_DISPOSAL
        self._check(step)
        self._sign(step, evidence, self.content.consignor, PartyRole.CONSIGNOR)
        act = SignedAct(step=step, version=self.current.number, evidence=evidence)
        return self._with_act(act, right_of_disposal=PartyRole.CONSIGNEE)

    def deliver(
        self, evidence: SignatureEvidence, reservations: tuple[Reservation, ...] = ()
    ) -> Ecmr:
        """The consignee signs for the goods, with any reservations (CMR Art. 30):
        in_transit -> delivered; the right of disposal is the consignee's from now on."""
        self._check(EcmrStep.DELIVER)
        self._sign(EcmrStep.DELIVER, evidence, self.content.consignee, PartyRole.CONSIGNEE)
        act = SignedAct(
            step=EcmrStep.DELIVER,
            version=self.current.number,
            evidence=evidence,
            reservations=reservations,
        )
        return self._with_act(act, state=EcmrState.DELIVERED, right_of_disposal=PartyRole.CONSIGNEE)

    def refuse(self, evidence: SignatureEvidence, reason: str) -> Ecmr:
        """The consignee signs its refusal of the goods: in_transit -> refused."""
        self._check(EcmrStep.REFUSE)
        _require_reason(self.label, reason)
        self._sign(EcmrStep.REFUSE, evidence, self.content.consignee, PartyRole.CONSIGNEE)
        act = SignedAct(
            step=EcmrStep.REFUSE, version=self.current.number, evidence=evidence, remark=reason
        )
        return self._with_act(act, state=EcmrState.REFUSED)

    def cancel(self, evidence: SignatureEvidence, reason: str) -> Ecmr:
        """The consignor cancels a note whose goods have not been taken over: -> cancelled."""
        self._check(EcmrStep.CANCEL)
        _require_reason(self.label, reason)
        self._sign(EcmrStep.CANCEL, evidence, self.content.consignor, PartyRole.CONSIGNOR)
        act = SignedAct(
            step=EcmrStep.CANCEL, version=self.current.number, evidence=evidence, remark=reason
        )
        return self._with_act(act, state=EcmrState.CANCELLED)


def _require_reason(label: str, reason: str) -> None:
    if not reason.strip():
        raise DocumentValidationError(f"{label}: give the reason in words")

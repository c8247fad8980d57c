"""Shared checks of the document lifecycles: is a step allowed from this state, and is this the
right signatory for it. Each document module keeps its own transition table."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import TypeVar

from kervan.documents.parties import PartyRole, SignatureEvidence
from kervan.errors import IllegalTransitionError, SignatoryError

S = TypeVar("S", bound=StrEnum)


def require_step(document: str, step: str, state: S, table: Mapping[S, Collection[str]]) -> None:
    """Raise IllegalTransitionError unless `table[state]` lists `step`.

    In: the document's label for messages, the step attempted, the current state, and the
    document's table {state: steps allowed}. Out: nothing, or the error naming what is allowed.
    """
    allowed = table.get(state, ())
    if step not in allowed:
        raise IllegalTransitionError(document, step, state.value, sorted(allowed))


def require_signatory(
    document: str,
    step: str,
    evidence: SignatureEvidence,
    *,
    party_ids: Collection[str],
    role: PartyRole,
    version: int,
) -> None:
    """Raise SignatoryError unless the evidence is from one of `party_ids`, in `role`, on `version`.

    In: the document's label, the step, the verified signature evidence, the parties entitled to
    sign this step, the role they must sign in and the document version the step applies to.
    """
    if evidence.role is not role:
        raise SignatoryError(
            document, step, f"it must be signed in the role {role.value}, not {evidence.role.value}"
        )
    if evidence.party_id not in party_ids:
        entitled = ", ".join(sorted(party_ids)) or "nobody at this point"
        raise SignatoryError(
            document,
            step,
            f"party {evidence.party_id} is not entitled to sign it; entitled: {entitled}",
        )
    if evidence.document_version != version:
        raise SignatoryError(
            document,
            step,
            f"the signature is on version {evidence.document_version}, the step applies to "
            f"version {version}",
        )

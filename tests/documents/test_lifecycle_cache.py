"""A lifecycle read from the cache is exactly the one parsing its stored JSON gives."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import BaseModel, ValidationError

from kervan.documents.ecmr import Reservation, ReservationSubject
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrState
from kervan.documents.lifecycle_cache import ParsedLifecycles
from kervan.documents.parties import PartyRole as R
from tests.documents.corridor_samples import (
    CARRIER,
    CONSIGNEE,
    CONSIGNOR,
    SUCCESSIVE,
    SUCCESSIVE_TR,
    T0,
    ecmr_content,
    sig,
)


def journey() -> list[Ecmr]:
    """An e-CMR Xi'an -> Istanbul at each step, with reservations on delivery."""
    note = Ecmr.draft("ECMR-CN-2026-001124", ecmr_content(), T0)
    notes = [note]
    steps: list[Callable[[Ecmr], Ecmr]] = [
        lambda n: n.issue(sig(CONSIGNOR, R.CONSIGNOR)),
        lambda n: n.sign_taking_over(sig(CARRIER, R.CARRIER)),
        lambda n: n.sign_taking_over(sig(CONSIGNOR, R.CONSIGNOR)),
        lambda n: n.depart(sig(CARRIER, R.CARRIER)),
        lambda n: n.successive_carrier_takes_over(sig(SUCCESSIVE, R.SUCCESSIVE_CARRIER)),
        lambda n: n.successive_carrier_takes_over(sig(SUCCESSIVE_TR, R.SUCCESSIVE_CARRIER)),
        lambda n: n.deliver(
            sig(CONSIGNEE, R.CONSIGNEE),
            reservations=(Reservation(subject=ReservationSubject.PACKAGING, text="Torn film"),),
        ),
    ]
    for step in steps:
        note = step(note)
        notes.append(note)
    assert note.state is EcmrState.DELIVERED
    return notes


def test_a_remembered_lifecycle_is_what_parsing_its_json_gives() -> None:
    cache = ParsedLifecycles(Ecmr)
    for note in journey():
        stored = note.model_dump_json()
        cache.remember(stored, note)
        parsed = Ecmr.model_validate_json(stored)
        assert parsed == note
        assert cache.parse(stored) is note
        assert cache.parse(stored).model_dump_json() == parsed.model_dump_json()


def test_unknown_text_is_parsed_and_validated_then_kept() -> None:
    cache = ParsedLifecycles(Ecmr)
    stored = journey()[1].model_dump_json()
    first = cache.parse(stored)
    assert first.state is EcmrState.ISSUED
    assert cache.parse(stored) is first
    with pytest.raises(ValidationError):
        cache.parse(stored.replace('"state":"issued"', '"state":"lost"'))
    assert len(cache) == 1


def test_only_the_most_recently_used_are_kept() -> None:
    cache = ParsedLifecycles(Ecmr, size=2)
    texts = [note.model_dump_json() for note in journey()[:3]]
    kept = cache.parse(texts[0])
    cache.parse(texts[1])
    assert cache.parse(texts[0]) is kept  # used again: now the most recent
    cache.parse(texts[2])  # pushes out texts[1]
    assert len(cache) == 2
    assert cache.parse(texts[0]) is kept


def test_refuses_models_that_could_change_under_it() -> None:
    class Mutable(BaseModel):
        state: str

    with pytest.raises(ValueError, match="not frozen"):
        ParsedLifecycles(Mutable)
    with pytest.raises(ValueError, match="at least one"):
        ParsedLifecycles(Ecmr, size=0)

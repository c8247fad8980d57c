"""CIM/SMGS: Uzbek cotton by rail Baku -> Akhalkalaki (gauge change) -> Kars (law change)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kervan.documents.cimsmgs import CimSmgsState, CimSmgsStep, RailSection
from kervan.documents.parties import PartyRole as R
from kervan.errors import IllegalTransitionError, SignatoryError
from tests.documents.corridor_samples import (
    ADY,
    CONSIGNEE,
    COTTON_SHIPPER,
    GR,
    TCDD,
    btk_content,
    btk_note,
    sig,
)


def test_change_points_on_the_btk_line() -> None:
    points = btk_content().change_points
    assert [
        (p.station.name, p.railway_changes, p.gauge_changes, p.law_changes) for p in points
    ] == [
        ("Beyuk-Kesik", True, False, False),
        ("Akhalkalaki", False, True, False),
        ("Kartsakhi", True, False, True),
    ]
    assert [r.id for r in btk_content().railways_in_order] == [ADY.id, GR.id, TCDD.id]


def test_route_must_connect() -> None:
    content = btk_content()
    route = list(content.route)
    route[2], route[3] = route[3], route[2]
    with pytest.raises(ValidationError, match="route breaks"):
        type(content).model_validate(
            {**content.model_dump(), "route": [r.model_dump() for r in route]}
        )
    with pytest.raises(ValidationError):
        RailSection.model_validate({**content.route[0].model_dump(), "gauge": 1000})


def test_lifecycle_with_takeover_at_each_change_of_railway() -> None:
    note = btk_note().issue(sig(COTTON_SHIPPER, R.CONSIGNOR))
    with pytest.raises(SignatoryError, match="not entitled"):
        note.accept(sig(GR, R.CARRIER))
    note = note.accept(sig(ADY, R.CARRIER))
    assert note.state is CimSmgsState.ACCEPTED
    assert note.railway_in_charge == ADY
    note = note.depart(sig(ADY, R.CARRIER))
    with pytest.raises(IllegalTransitionError) as err:
        note.deliver(sig(CONSIGNEE, R.CONSIGNEE))
    assert err.value.allowed == [CimSmgsStep.TAKE_OVER.value]
    with pytest.raises(SignatoryError):  # TCDD cannot jump ahead of Georgian Railway
        note.take_over(sig(TCDD, R.SUCCESSIVE_CARRIER))
    note = note.take_over(sig(GR, R.SUCCESSIVE_CARRIER))
    assert note.acts[-1].station is not None
    assert note.acts[-1].station.name == "Beyuk-Kesik"
    note = note.take_over(sig(TCDD, R.SUCCESSIVE_CARRIER))
    assert note.acts[-1].station is not None
    assert note.acts[-1].station.name == "Kartsakhi"
    assert note.next_railway() is None
    with pytest.raises(IllegalTransitionError):
        note.take_over(sig(TCDD, R.SUCCESSIVE_CARRIER))
    delivered = note.deliver(sig(CONSIGNEE, R.CONSIGNEE))
    assert delivered.state is CimSmgsState.DELIVERED
    assert delivered.allowed_steps() == frozenset()


def test_steps_out_of_order_are_refused() -> None:
    with pytest.raises(IllegalTransitionError, match="cannot accept the goods"):
        btk_note().accept(sig(ADY, R.CARRIER))
    with pytest.raises(SignatoryError, match="role consignor"):
        btk_note().issue(sig(COTTON_SHIPPER, R.CARRIER))

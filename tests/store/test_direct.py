"""Hot statements run on the driver directly: the same rows, times, counts and errors as
SQLAlchemy's own path, on both databases; the hot paths really take the direct path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, make_url, select, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from kervan.store.direct import DirectStatement
from kervan.store.repositories import credentials, ledger, ledger_pending, shipment_documents
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.tables import OrganisationRow, PermitQuotaRow, table_of
from tests.store.conftest import AddOrganisation

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ORGANISATIONS = table_of(OrganisationRow)
CARRIERS_OF = DirectStatement(
    select(ORGANISATIONS.c.id, ORGANISATIONS.c.country, ORGANISATIONS.c.created_at)
    .where(
        ORGANISATIONS.c.kind == OrganisationKind.CARRIER.value,  # a value the statement holds
        ORGANISATIONS.c.country == bindparam("country"),
    )
    .order_by(ORGANISATIONS.c.id)
)
MOVE_REGISTRATION = DirectStatement(
    update(ORGANISATIONS)
    .where(ORGANISATIONS.c.id == bindparam("org"))
    .values(created_at=bindparam("at"))
)
NAME_OF = DirectStatement(
    select(ORGANISATIONS.c.name).where(ORGANISATIONS.c.id == bindparam("org"))
)
REGISTER = DirectStatement(
    insert(ORGANISATIONS).values(
        id=bindparam("org"), name="Caspian Ro-Ro", country="AZ", kind="carrier", created_at=T0
    )
)


@pytest.fixture
def carriers(session: Session, add_organisation: AddOrganisation) -> Session:
    add_organisation("kz-ktz-express", OrganisationKind.CARRIER, "KZ")
    add_organisation("az-ady-express", OrganisationKind.CARRIER, "AZ")
    add_organisation("az-caspian-shipping", OrganisationKind.CARRIER, "AZ")
    add_organisation("az-customs", OrganisationKind.CUSTOMS_AUTHORITY, "AZ")
    return session


def test_rows_are_what_sqlalchemy_reads_with_times_in_utc(carriers: Session) -> None:
    # Statements of other shapes run before and after on the same connection.
    assert NAME_OF.rows(carriers, {"org": "az-customs"})[0].name == "az-customs Ltd"
    found = CARRIERS_OF.rows(carriers, {"country": "AZ"})
    assert NAME_OF.one_or_none(carriers, {"org": "kz-ktz-express"}) == ("kz-ktz-express Ltd",)
    expected = carriers.execute(CARRIERS_OF.statement, {"country": "AZ"}).all()
    assert [tuple(row) for row in found] == [tuple(row) for row in expected]
    assert [row.id for row in found] == ["az-ady-express", "az-caspian-shipping"]
    assert all(row.created_at == T0 and row.created_at.tzinfo is UTC for row in found)
    assert CARRIERS_OF.one_or_none(carriers, {"country": "TM"}) is None
    with pytest.raises(ValueError, match="at most one row"):
        CARRIERS_OF.one_or_none(carriers, {"country": "AZ"})


def test_writes_store_aware_times_as_utc_and_count_the_rows(carriers: Session) -> None:
    baku = timezone(timedelta(hours=4))
    moved = datetime(2026, 11, 24, 12, 30, tzinfo=baku)
    assert MOVE_REGISTRATION.run(carriers, {"org": "az-ady-express", "at": moved}) == 1
    assert MOVE_REGISTRATION.run(carriers, {"org": "tm-nobody", "at": moved}) == 0
    row = CARRIERS_OF.rows(carriers, {"country": "AZ"})[0]
    assert row.created_at == moved
    assert row.created_at.tzinfo is UTC
    assert row.created_at.hour == 8
    with pytest.raises((ValueError, StatementError), match="time-zone aware"):
        MOVE_REGISTRATION.run(carriers, {"org": "az-ady-express", "at": datetime(2026, 11, 24)})


def test_an_object_pending_in_the_session_is_seen_by_the_next_statement(
    carriers: Session,
) -> None:
    carriers.add(
        OrganisationRow(
            id="az-baku-port", name="Baku Port", country="AZ", kind="carrier", created_at=T0
        )
    )
    found = CARRIERS_OF.rows(carriers, {"country": "AZ"})
    assert "az-baku-port" in [row.id for row in found]


def test_a_broken_constraint_is_sqlalchemys_integrity_error(carriers: Session) -> None:
    REGISTER.run(carriers, {"org": "az-caspian-ro-ro"})
    with pytest.raises(IntegrityError):
        REGISTER.run(carriers, {"org": "az-caspian-ro-ro"})


POSTGRES = make_url("postgresql+psycopg://").get_dialect()()


@pytest.mark.parametrize(
    "hot",
    [
        pytest.param(credentials._CLIENT_CALLER, id="caller"),
        pytest.param(shipment_documents._FIND_DIRECT, id="document"),
        pytest.param(shipment_documents._FIND_FOR_UPDATE_DIRECT, id="document-to-sign"),
        pytest.param(shipment_documents._SIGNED_STEP, id="signed-step"),
        pytest.param(shipment_documents._SIGNED_STEP_AND_EVENT, id="signed-step-and-event"),
        pytest.param(ledger._EVENT_ENTRY, id="ledger-entry"),
        pytest.param(ledger._LOCK, id="append-lock"),
        pytest.param(ledger._LEAVES_FROM, id="leaves"),
        pytest.param(ledger._CHAINS_OF_ARRAY, id="chains"),
        pytest.param(ledger._INSERT_ARRAYS, id="ledger-batch"),
        pytest.param(ledger_pending._TAKE, id="pending-events"),
    ],
)
def test_the_hot_statements_run_directly_on_postgresql(hot: DirectStatement) -> None:
    compiled = hot.compiled_for(POSTGRES)
    assert compiled.direct
    assert "%(" in compiled.sql


def test_statements_sqlalchemy_must_complete_take_its_path() -> None:
    expanding = DirectStatement(
        select(ORGANISATIONS.c.id).where(ORGANISATIONS.c.id.in_(bindparam("ids", expanding=True)))
    )
    assert not expanding.compiled_for(POSTGRES).direct
    defaulted = DirectStatement(  # `used` has a Python-side default
        insert(table_of(PermitQuotaRow)).values(
            org_id=bindparam("org"),
            permit_issuer="KZ",
            permit_issued_for="AZ",
            permit_year=2026,
            permit_type=1,
            quantity=bindparam("quantity"),
        )
    )
    assert not defaulted.compiled_for(POSTGRES).direct
    assert REGISTER.compiled_for(POSTGRES).fixed["name"] == "Caspian Ro-Ro"
    assert REGISTER.compiled_for(POSTGRES).required == {"org"}

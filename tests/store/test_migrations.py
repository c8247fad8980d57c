"""Migrations: from empty to head, refusal of an unmigrated database, down and up again."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, text

from kervan.documents.kinds import DocumentKind
from kervan.errors import DatabaseNotMigratedError
from kervan.network.model import Mode
from kervan.routing.plan import Plan
from kervan.routing.planner import Planner
from kervan.services.planning import RouteQuery, plan_routes
from kervan.store.db import display_url, make_engine
from kervan.store.schema import (
    MIGRATIONS_DIR,
    check_migrated,
    connect_migrated,
    downgrade,
    head_revision,
    upgrade,
)
from kervan.store.tables import Base, BorderDeclarationRow, OrganisationRow, ShipmentRow

TABLES = {
    "organisations",
    "signing_keys",
    "documents",
    "document_versions",
    "document_signatures",
    "ledger_entries",
    "ledger_pending",
    "signed_tree_heads",
    "permit_quotas",
    "permits",
    "permit_usages",
    "idempotency_keys",
    "api_clients",
    "api_keys",
    "users",
    "organisation_addresses",
    "shipments",
    "shipment_parties",
    "shipment_documents",
    "shipment_events",
    "exchange_outbox",
    "exchange_channels",
    "exchange_inbox",
    "exchange_rejected",
    "exchange_dead_letters",
    "exchange_gap_asks",
    "epermit_peer_events",
    "epermit_peer_chains",
    "epermit_partners",
    "border_declarations",
    "border_controls",
    "customs_crossings",
    "revoked_tokens",
    "login_failures",
    "log_checkpoints",
    "log_witnesses",
    "witnessed_logs",
}
#: The log and its tree heads are the node's, shared by all; every other table is an org's
#: (but for the node's memory of logins: ended tokens and wrong attempts, which name no org).
NODE_TABLES = {
    "organisations",
    "ledger_entries",
    "ledger_pending",
    "signed_tree_heads",
    "revoked_tokens",
    "login_failures",
    # The witnessed log: the node's checkpoints, its witnesses, the logs it witnesses.
    "log_checkpoints",
    "log_witnesses",
    "witnessed_logs",
}


@pytest.fixture
def fresh_engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(
    fresh_database_url: str, fresh_engine: Engine
) -> None:
    assert _tables(fresh_engine) == set()
    upgrade(fresh_database_url)
    assert check_migrated(fresh_engine) == head_revision()
    assert _tables(fresh_engine) == TABLES


def test_unmigrated_database_is_refused_with_the_upgrade_hint(
    fresh_database_url: str, fresh_engine: Engine
) -> None:
    expected = f"database at {display_url(fresh_engine)} is not migrated: run `kervan db upgrade`"
    with pytest.raises(DatabaseNotMigratedError) as caught:
        check_migrated(fresh_engine)
    assert caught.value.message.startswith(expected)
    assert "found no Kervan schema" in caught.value.message
    with pytest.raises(DatabaseNotMigratedError, match="kervan db upgrade"):
        connect_migrated(fresh_database_url)


def test_database_at_another_revision_is_refused(
    fresh_database_url: str, fresh_engine: Engine
) -> None:
    upgrade(fresh_database_url)
    with fresh_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '2026_01_01_0000'"))
    with pytest.raises(DatabaseNotMigratedError, match="found schema revision 2026_01_01_0000"):
        check_migrated(fresh_engine)


def test_downgrade_and_upgrade_round_trip(fresh_database_url: str, fresh_engine: Engine) -> None:
    upgrade(fresh_database_url)
    downgrade(fresh_database_url)
    assert _tables(fresh_engine) == set()
    with pytest.raises(DatabaseNotMigratedError):
        check_migrated(fresh_engine)
    upgrade(fresh_database_url)
    assert _tables(fresh_engine) == TABLES
    engine = connect_migrated(fresh_database_url)
    engine.dispose()


def test_migrated_schema_matches_the_table_models(
    fresh_database_url: str, fresh_engine: Engine
) -> None:
    upgrade(fresh_database_url)
    with fresh_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_constraints_follow_the_naming_convention_and_keys_lead_with_org_id(
    fresh_database_url: str, fresh_engine: Engine
) -> None:
    upgrade(fresh_database_url)
    inspector = inspect(fresh_engine)
    for table in TABLES:
        primary = inspector.get_pk_constraint(table)
        assert primary["name"] == f"pk_{table}"
        if table not in NODE_TABLES:
            assert primary["constrained_columns"][0] == "org_id", table
        for foreign in inspector.get_foreign_keys(table):
            assert foreign["name"] == f"fk_{table}_{foreign['referred_table']}"
        for unique in inspector.get_unique_constraints(table):
            assert str(unique["name"]).startswith(f"uq_{table}_")
        for check in inspector.get_check_constraints(table):
            assert str(check["name"]).startswith(f"ck_{table}_")


def test_migration_files_are_named_by_date_and_slug(fresh_database_url: str) -> None:
    names = sorted(path.name for path in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert names
    for name in names:
        assert re.fullmatch(r"\d{4}_\d{2}_\d{2}_\d{4}_[a-z0-9_]+\.py", name), name


def test_cim_smgs_spelling_is_rewritten_in_plans_and_declarations_and_back(
    fresh_database_url: str, fresh_engine: Engine, corridor_planner: Planner
) -> None:
    # A container Xi'an -> Halkali by rail, booked and declared before the planner and the
    # documents shared one spelling: its plan and declaration said "CIM/SMGS".
    before, respelt = "2026_11_24_0006", "2026_12_06_0007"
    upgrade(fresh_database_url, before)
    query = RouteQuery(
        origin="Xi'an",
        destination="Halkali",
        avoid_countries=["RU", "BY"],
        avoid_modes=[Mode.ROAD, Mode.SEA],
        alternatives=1,
    )
    plan = plan_routes(corridor_planner, query)[0]
    assert DocumentKind.CIM_SMGS in {need.kind for need in plan.documents}
    new_plan = plan.model_dump_json()
    old_plan = new_plan.replace('"CIM-SMGS"', '"CIM/SMGS"')
    assert old_plan != new_plan
    old_body = json.dumps(
        {"content": {"documents": [{"kind": "CIM/SMGS", "reference": "SMGS-XIA-2026-0001"}]}}
    )
    at = datetime(2026, 11, 30, 8, tzinfo=UTC)
    with fresh_engine.begin() as connection:
        connection.execute(
            insert(OrganisationRow),
            {"id": "xian-forwarding", "name": "Xi'an Land Port Forwarding", "country": "CN",
             "kind": "forwarder", "created_at": at},
        )  # fmt: skip
        connection.execute(
            insert(ShipmentRow),
            {"org_id": "xian-forwarding", "id": "SHP-1", "reference": "XIA-HAL-0001",
             "unit": plan.unit.value, "origin": plan.origin, "destination": plan.destination,
             "countries": " CN KZ AZ GE TR ", "plan_key": plan.plan_key, "plan": old_plan,
             "cargo": "{}", "status": "booked", "created_at": at, "updated_at": at},
        )  # fmt: skip
        connection.execute(
            insert(BorderDeclarationRow),
            {"org_id": "kz-customs", "shipment_id": "SHP-1", "version": 1,
             "lodged_by": "xian-forwarding", "body": old_body, "lodged_at": at,
             "received_at": at},
        )  # fmt: skip
    # Old plans read as they are (the kind accepts the old spelling) ...
    assert Plan.model_validate_json(old_plan) == Plan.model_validate_json(new_plan)

    def stored() -> tuple[str, str]:
        with fresh_engine.connect() as connection:
            return (
                connection.execute(text("SELECT plan FROM shipments")).scalar_one(),
                connection.execute(text("SELECT body FROM border_declarations")).scalar_one(),
            )

    # ... and the migration writes the one spelling, nothing else changed; down restores them.
    upgrade(fresh_database_url, respelt)
    assert stored() == (new_plan, old_body.replace('"CIM/SMGS"', '"CIM-SMGS"'))
    downgrade(fresh_database_url, before)
    assert stored() == (old_plan, old_body)

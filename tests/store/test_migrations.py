"""Migrations: from empty to head, refusal of an unmigrated database, down and up again."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from kervan.errors import DatabaseNotMigratedError
from kervan.store.db import display_url, make_engine
from kervan.store.schema import (
    MIGRATIONS_DIR,
    check_migrated,
    connect_migrated,
    downgrade,
    head_revision,
    upgrade,
)
from kervan.store.tables import Base

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
    "epermit_peer_events",
    "epermit_peer_chains",
    "border_declarations",
    "border_controls",
    "customs_crossings",
}
#: The log and its tree heads are the node's, shared by all; every other table is an org's.
NODE_TABLES = {"organisations", "ledger_entries", "ledger_pending", "signed_tree_heads"}


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

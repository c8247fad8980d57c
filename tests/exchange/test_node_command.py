"""`kervan node --all`: every authority with a key on this node relays its outbox and applies
what it receives with the customs corridor's handlers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kervan.cli import app
from kervan.customs.recognition import ControlResult, InspectionResult
from kervan.documents.goods import Seal, SealCondition
from kervan.exchange.envelope import MessageType
from kervan.exchange.outbox import OutgoingMessage, enqueue
from kervan.services.customs.payloads import as_json
from kervan.services.demo_corridor import register_corridor
from kervan.settings import get_settings
from kervan.store.db import make_engine, make_session_factory
from kervan.store.keyfiles import KeyFileStore
from kervan.store.schema import upgrade
from kervan.store.uow import UnitOfWork

runner = CliRunner()


@pytest.fixture
def node_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("KERVAN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KERVAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    upgrade(get_settings().resolved_database_url)
    yield tmp_path
    get_settings.cache_clear()


def test_the_node_command_applies_a_control_result_with_the_customs_handler(
    node_dir: Path,
) -> None:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    keys = KeyFileStore(settings.keys_dir)
    register_corridor(sessions, keys)
    control = ControlResult(
        shipment="SHP-20261124-0001",
        country="AZ",
        office="AZ-ALT",
        place="Alat",
        at=datetime(2026, 11, 27, 8, tzinfo=UTC),
        seals=(Seal(number="CN2026118", condition=SealCondition.INTACT),),
        documentary_check_passed=True,
        inspection=InspectionResult.CONFORM,
        signature_ref="header..signature",
    )
    payload = {"shipment": control.shipment, "control": as_json(control)}
    with UnitOfWork(sessions) as uow:
        signer = keys.load("az-customs", keys.kids("az-customs")[-1])
        message = OutgoingMessage("ge-customs", MessageType.CONTROL_RESULT, payload)
        enqueue(uow.outbox, signer, message, datetime.now(UTC))
    try:
        result = runner.invoke(app, ["node", "--all", "--seconds", "1.5"])
        assert result.exit_code == 0, result.output
        with UnitOfWork(sessions, reading=True) as uow:
            held = uow.customs.control("ge-customs", control.shipment, "AZ")
            assert uow.outbox.pending_count("az-customs") == 0
        assert held == control
        assert "ge-customs: 1 applied" in " ".join(result.output.split())
    finally:
        engine.dispose()

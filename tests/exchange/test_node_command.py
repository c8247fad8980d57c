"""`kervan node --all`: every authority with a key on this node relays its outbox and applies
what it receives with the customs corridor's handlers. `kervan messages`: its operator lists
held gaps and dead letters, skips a gap and replays a dead letter."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from kervan.cli import app
from kervan.customs.recognition import ControlResult, InspectionResult
from kervan.documents.goods import Seal, SealCondition
from kervan.exchange.bus import NatsJetStreamBroker
from kervan.exchange.channels import utc_now
from kervan.exchange.envelope import MessageType
from kervan.exchange.inbox import Inbox
from kervan.exchange.outbox import OutgoingMessage, enqueue
from kervan.exchange.status import dead_letters
from kervan.exchange.trustfile import write_atomically
from kervan.services.customs.handlers import message_handler
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


def control_message(keys: KeyFileStore, sessions: sessionmaker[Session], shipment: str) -> bytes:
    """AZ customs' control result for GE customs, as it travels (numbered in AZ's outbox)."""
    control = ControlResult(
        shipment=shipment,
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
        return enqueue(uow.outbox, signer, message, datetime.now(UTC)).to_bytes()


def test_an_operator_lists_skips_and_replays_the_nodes_messages(node_dir: Path) -> None:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    keys = KeyFileStore(settings.keys_dir)
    register_corridor(sessions, keys)
    with UnitOfWork(sessions, reading=True) as uow:
        trust = uow.signing_keys.trust_list()
    trust_file = node_dir / "trust-list.json"
    write_atomically(trust_file, json.dumps(trust.to_jwks()))
    first, second, third = (
        control_message(keys, sessions, f"SHP-20261124-000{n}") for n in (1, 2, 3)
    )
    inbox = Inbox("ge-customs", trust, message_handler(utc_now))
    try:
        with sessions.begin() as session:
            assert inbox.receive(session, second).outcome == "held"
            inbox.dead_letter(session, third, "max_deliveries", "the disk was full", deliveries=5)
        listed = runner.invoke(app, ["messages", "list", "--authority", "ge-customs"])
        assert listed.exit_code == 0, listed.output
        text = " ".join(listed.output.split())
        assert "held gaps: 1" in text
        assert "az-customs: applied up to 0, missing 1..1, 1 held" in text
        assert "dead letters: 1" in text
        assert "max_deliveries (waiting, 5 deliveries): the disk was full" in text
        skipped = runner.invoke(
            app, ["messages", "skip", "--authority", "ge-customs", "--sender", "az-customs"]
        )
        assert skipped.exit_code == 0, skipped.output
        assert "applied 1: az-customs:ge-customs:2" in skipped.output
        with sessions.begin() as session:
            waiting = dead_letters(session, "ge-customs", unresolved_only=True)
        (dead,) = waiting
        replayed = runner.invoke(
            app,
            ["messages", "replay", "--authority", "ge-customs", dead.dead_letter_id,
             "--trust-list", str(trust_file)],
        )  # fmt: skip
        assert replayed.exit_code == 0, replayed.output
        assert "az-customs:ge-customs:3: applied" in replayed.output
        with UnitOfWork(sessions, reading=True) as uow:
            assert uow.customs.control("ge-customs", "SHP-20261124-0002", "AZ") is not None
            assert uow.customs.control("ge-customs", "SHP-20261124-0003", "AZ") is not None
            assert uow.customs.control("ge-customs", "SHP-20261124-0001", "AZ") is None
        again = runner.invoke(
            app, ["messages", "skip", "--authority", "ge-customs", "--sender", "az-customs"]
        )
        assert again.exit_code == 2
        assert "holds no message from az-customs" in again.output
        # The skipped first message turns up after all: refused, its place is gone.
        with sessions.begin() as session:
            assert inbox.receive(session, first).outcome == "rejected"
    finally:
        engine.dispose()


@pytest.mark.nats
def test_an_operator_asks_the_stream_again_for_what_the_node_lost(
    node_dir: Path, nats_url: str, corridor_name: str
) -> None:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    keys = KeyFileStore(settings.keys_dir)
    register_corridor(sessions, keys)
    with UnitOfWork(sessions, reading=True) as uow:
        trust = uow.signing_keys.trust_list()
    trust_file = node_dir / "trust-list.json"
    write_atomically(trust_file, json.dumps(trust.to_jwks()))
    messages = [control_message(keys, sessions, f"SHP-20261124-000{n}") for n in (1, 2)]

    async def publish() -> None:
        broker = NatsJetStreamBroker(nats_url, corridor=corridor_name)
        await broker.connect()
        for n, data in enumerate(messages, start=1):
            await broker.publish("ge-customs", f"az-customs:ge-customs:{n}", data)
        await broker.close()

    async def drop() -> None:
        broker = NatsJetStreamBroker(nats_url, corridor=corridor_name)
        await broker.connect()
        await broker.delete_stream()
        await broker.close()

    command = ["messages", "rerequest", "--authority", "ge-customs", "--trust-list",
               str(trust_file), "--broker", nats_url, "--corridor", corridor_name,
               "--sender", "az-customs"]  # fmt: skip
    try:
        asyncio.run(publish())
        # The node's store (restored from a backup, say) holds none of them: read them again.
        first = runner.invoke(app, command)
        assert first.exit_code == 0, first.output
        assert "read 2 message(s) from 1 sender(s): applied 2" in first.output
        again = runner.invoke(app, command)
        assert again.exit_code == 0, again.output
        assert "duplicate 2" in again.output
        with UnitOfWork(sessions, reading=True) as uow:
            assert uow.customs.control("ge-customs", "SHP-20261124-0002", "AZ") is not None
    finally:
        asyncio.run(drop())
        engine.dispose()

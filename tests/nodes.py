"""A node's working parts on a migrated database, for tests of the node's ledger."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.settings import Environment, Settings
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.ledger_pending import INSERT_EVENT


def node_on(url: str, data_dir: Path) -> tuple[NodeContext, Engine]:
    """A development node on the database at `url`, registered, with its engine to dispose."""
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=data_dir, database_url=url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    keys = KeyFileStore(settings.keys_dir)
    with unit_of_work(sessions) as session:
        ensure_node_organisation(session, keys, settings)
    network = load_network()
    return NodeContext(settings, sessions, network, Planner(network), keys), engine


def another_worker(ctx: NodeContext) -> NodeContext:
    """A second worker process of the same node: same database and keys, its own in-process
    Merkle tree and ledger sequencer."""
    return NodeContext(ctx.settings, ctx.sessions, ctx.network, ctx.planner, ctx.keys)


def record_step_event(
    ctx: NodeContext,
    session: Session,
    org_id: str,
    document_id: str,
    event_type: str,
    payload: dict[str, Any],
    at: datetime,
) -> None:
    """Record a step's ledger event in the step's unit of work as a signed step does
    (services.documents.sign_step: the node's `ledger_event`, stored by the statement
    `ledger_pending.INSERT_EVENT` with the step's own changes)."""
    session.execute(
        INSERT_EVENT, ctx.ledger_event(session, org_id, document_id, event_type, payload, at)
    )

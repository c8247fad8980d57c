"""A node's working parts on a migrated database, for tests of the node's ledger."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.settings import Environment, Settings
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore


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

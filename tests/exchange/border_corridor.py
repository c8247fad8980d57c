"""Separate national nodes for the customs corridor test: a trade node (the shippers'), customs
of CN, UZ, KZ, AZ, GE and TR, and the permit authority of UZ (the Uzbek truck's own, issuing
against the quotas KZ, AZ, GE and TR granted it); each with its own store, its own key and its
own NATS connection, all sharing one trust list of public keys."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kervan.customs.offices import CustomsOffices
from kervan.documents.epermit import PermitType, Quota
from kervan.exchange.bus import NatsJetStreamBroker
from kervan.exchange.inbox import rejections
from kervan.exchange.node import Node
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.services.border_customs import CustomsBorderService
from kervan.services.border_node import Directory
from kervan.services.border_permits import PermitAuthorityService
from kervan.services.border_trade import TradeBorderService
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.settings import Settings
from kervan.signatures.keys import Ed25519Signer, Es256Signer, Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from tests.api.corridor_parties import register_corridor
from tests.databases import migrated_database

TRADE = "trade"
CUSTOMS_COUNTRIES = ("CN", "UZ", "KZ", "AZ", "GE", "TR")
PERMIT_COUNTRIES = ("UZ",)
#: The countries that granted the Uzbek authority quotas for its hauliers.
QUOTA_PARTNERS = ("KZ", "AZ", "GE", "TR")
DIRECTORY = Directory(
    customs={c: f"{c}-customs" for c in CUSTOMS_COUNTRIES},
    permits={c: f"{c}-permits" for c in PERMIT_COUNTRIES},
)
KEYS_FROM = datetime.now(UTC) - timedelta(days=1)
T = TypeVar("T")
Service = TradeBorderService | CustomsBorderService | PermitAuthorityService


@dataclass
class BorderNode:
    """One authority's node: its sessions, its service and its exchange node."""

    sessions: sessionmaker[Session]
    service: Service
    node: Node

    def read(self, query: Callable[[Session], T]) -> T:
        """Run `query` in a transaction of this node's store."""
        with unit_of_work(self.sessions) as session:
            return query(session)


@dataclass
class Corridor:
    """Every node of the test, by authority code."""

    trade: TradeBorderService
    ctx: NodeContext
    customs: dict[str, CustomsBorderService] = field(default_factory=dict)
    permits: dict[str, PermitAuthorityService] = field(default_factory=dict)
    nodes: dict[str, BorderNode] = field(default_factory=dict)

    def store(self, authority: str) -> BorderNode:
        return self.nodes[authority]

    def customs_store(self, country: str) -> BorderNode:
        return self.nodes[DIRECTORY.customs_of(country)]

    def start(self) -> None:
        for node in self.nodes.values():
            node.node.start()

    async def stop(self) -> None:
        for node in self.nodes.values():
            await node.node.stop()

    def refusals(self) -> dict[str, list[str]]:
        """Every message refused by any node's inbox, by authority (expected: none)."""
        out: dict[str, list[str]] = {}
        for code, node in self.nodes.items():
            found = node.read(partial(_refused, authority=code))
            if found:
                out[code] = found
        return out


def _refused(session: Session, authority: str) -> list[str]:
    return [f"{r.reason}: {r.detail}" for r in rejections(session, authority)]


def quotas(country: str, year: int) -> list[Quota]:
    """Five permits of each type this year for `country`'s hauliers into each partner."""
    return [
        Quota(
            permit_issuer=country,
            permit_issued_for=partner,
            permit_year=year,
            permit_type=kind,
            quantity=5,
        )
        for partner in QUOTA_PARTNERS
        for kind in (PermitType.BILATERAL, PermitType.TRANSIT, PermitType.THIRD_COUNTRY)
    ]


@contextlib.contextmanager
def corridor_stores(tmp_path: Path, trade_backend: str) -> Iterator[dict[str, str]]:
    """A migrated database per authority: the trade node's on `trade_backend`, others SQLite."""
    codes = [*DIRECTORY.customs.values(), *DIRECTORY.permits.values()]
    with contextlib.ExitStack() as stack:
        urls = {TRADE: stack.enter_context(migrated_database(trade_backend, tmp_path / TRADE))}
        for code in codes:
            urls[code] = stack.enter_context(migrated_database("sqlite", tmp_path / code))
        yield urls


def build_corridor(
    urls: dict[str, str],
    brokers: dict[str, NatsJetStreamBroker],
    network: Network,
    planner: Planner,
    tmp_path: Path,
    engines: list[object],
) -> Corridor:
    """The nodes on their stores and brokers, with a shared trust list of public keys."""
    year = datetime.now(UTC).year
    signers: dict[str, Signer] = {
        code: Ed25519Signer.generate(f"{code}-2026", party=code) for code in urls
    }
    qr_signers = {
        c: Es256Signer.generate(f"{c.lower()}-permit-qr", party=c) for c in PERMIT_COUNTRIES
    }
    trust = TrustList()
    for signer in (*signers.values(), *qr_signers.values()):
        trust.add_signer(signer, not_before=KEYS_FROM)

    def sessions_of(code: str) -> sessionmaker[Session]:
        engine = make_engine(urls[code])
        engines.append(engine)
        return make_session_factory(engine)

    settings = Settings(
        environment="test",
        database_url=urls[TRADE],
        data_dir=tmp_path / TRADE,
        secret_key="t" * 48,
    )
    trade_sessions = sessions_of(TRADE)
    keys = KeyFileStore(settings.keys_dir)
    ctx = NodeContext(settings, trade_sessions, network, planner, keys)
    register_corridor(trade_sessions, keys)
    with unit_of_work(trade_sessions) as session:
        ensure_node_organisation(session, keys, settings)
    trade = TradeBorderService(TRADE, ctx=ctx, directory=DIRECTORY, signer=signers[TRADE])
    corridor = Corridor(trade=trade, ctx=ctx)
    offices = CustomsOffices(network)

    def attach(code: str, service: Service, sessions: sessionmaker[Session]) -> None:
        node = Node(
            code,
            sessions=sessions,
            signer=signers[code],
            trust=trust,
            broker=brokers[code],
            handler=service.handle,
            batch=50,
            fetch_timeout=0.2,
        )
        service.bind(node)
        corridor.nodes[code] = BorderNode(sessions, service, node)

    attach(TRADE, trade, trade_sessions)
    for country in CUSTOMS_COUNTRIES:
        code = DIRECTORY.customs_of(country)
        customs = CustomsBorderService(
            country, directory=DIRECTORY, offices=offices, trust=trust, signer=signers[code]
        )
        corridor.customs[country] = customs
        attach(code, customs, sessions_of(code))
    for country in PERMIT_COUNTRIES:
        code = DIRECTORY.permits_of(country)
        authority = PermitAuthorityService(
            country,
            directory=DIRECTORY,
            signer=signers[code],
            qr_signer=qr_signers[country],
            quotas=quotas(country, year),
        )
        corridor.permits[country] = authority
        attach(code, authority, sessions_of(code))
    return corridor

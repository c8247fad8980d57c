"""Permit authorities on the corridor's broker: the Uzbek permit authority (on the trade side's
node, where the Uzbek truck's e-Permit requests are) and Kazakhstan's (a node of its own, its
own store and keys) are e-Permit partners at `kervan://` URLs, so their events travel as signed
corridor messages and each node applies them with the peer protocol's receiver rules, the
handler `kervan node` runs for a permit authority.

KZ grants Uzbekistan a transit quota (QUOTA_CREATED reaches UZ, which issues against it); UZ
issues the truck's permit for entering KZ (PERMIT_CREATED reaches KZ, whose border can then
check it); KZ's border records the truck's ENTRANCE at Saryagash (PERMIT_USED reaches UZ).
A dead-lettered event is received again through the operator's use case and applied. An event
from an authority that is not (or no longer) a partner is refused by the receiver.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kervan.errors import InvalidRequestError
from kervan.exchange.bus import InProcessBroker
from kervan.exchange.node import Node
from kervan.exchange.status import dead_letters, rejections
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.services.access import Caller, node_operator
from kervan.services.customs.handlers import message_handler
from kervan.services.demo_corridor import book_uzbek_truck, caller_for, register_corridor
from kervan.services.epermit_border import (
    BorderUse,
    Grant,
    GrantRequest,
    UseAtBorder,
    grant_quota,
    record_border_use,
)
from kervan.services.epermit_network import (
    NewPartner,
    PartnerRef,
    PartnerSpec,
    add_partner,
    remove_partner,
)
from kervan.services.exchange_messages import ReplayDeadLetter, replay_dead_letter
from kervan.services.node import NodeContext
from kervan.services.permits import IssueRequest, issue_for_shipment, permit_desk
from kervan.settings import Settings
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.schema import upgrade
from kervan.store.uow import UnitOfWork
from tests.exchange.conftest import run
from tests.exchange.test_customs_corridor_e2e import share_directory

UZ, KZ = "uz-permits", "kz-permits"
YEAR = datetime.now(UTC).year


@dataclass
class Pair:
    uz: NodeContext  # the trade side's node, hosting the Uzbek permit authority
    kz: NodeContext
    nodes: dict[str, Node]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    network: Network = load_network()
    planner = Planner(network)
    engines: list[Engine] = []
    everyone = KeyFileStore(tmp_path / "registration-keys")

    def context(name: str, own: tuple[str, ...]) -> NodeContext:
        folder = tmp_path / name
        folder.mkdir()
        url = f"sqlite:///{folder / 'kervan.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        engines.append(engine)
        settings = Settings(
            environment="test", database_url=url, data_dir=folder, secret_key="t" * 48
        )
        keys = KeyFileStore(folder / "keys")
        return NodeContext(settings, make_session_factory(engine), network, planner, keys)

    uz = context("uz", ())
    register_corridor(uz.sessions, everyone)
    kz = context("kz", ())
    share_directory(uz.sessions, kz.sessions)
    for ctx, org_ids in ((uz, ("tashkent-cotton", "uz-trucking", UZ)), (kz, (KZ,))):
        for org_id in org_ids:
            shutil.copytree(everyone.directory / org_id, ctx.keys.directory / org_id)
    broker = InProcessBroker()
    with UnitOfWork(uz.sessions, reading=True) as uow:
        trust = uow.signing_keys.trust_list()
    nodes = {
        code: Node(
            code,
            sessions=ctx.sessions,
            signer=ctx.keys.load(code, ctx.keys.kids(code)[0]),
            trust=trust,
            broker=broker,
            handler=message_handler(ctx.clock, ctx),
        )
        for code, ctx in ((UZ, uz), (KZ, kz))
    }
    try:
        yield Pair(uz, kz, nodes)
    finally:
        for engine in engines:
            engine.dispose()


def operator_of(ctx: NodeContext) -> Caller:
    return node_operator(ctx.settings.node_id, "TR")


async def exchange(p: Pair) -> None:
    """Relay both outboxes and apply what arrived, until nothing moves."""
    while True:
        moved = 0
        for node in p.nodes.values():
            moved += await node.relay_once()
        for node in p.nodes.values():
            while await node.consume_once():
                moved += 1
        if not moved:
            return


def test_permit_authorities_exchange_their_events_over_the_corridor(pair: Pair) -> None:
    run(scenario(pair))


async def scenario(pair: Pair) -> None:
    uz, kz = pair.uz, pair.kz
    for ctx, org_id, code, partner in ((uz, UZ, "KZ", KZ), (kz, KZ, "UZ", UZ)):
        spec = PartnerSpec(code=code, url=f"kervan://{partner}")
        view = add_partner(ctx.unit_of_work(), operator_of(ctx), NewPartner(org_id, spec))
        assert view.kids
        assert all(kid.startswith(f"{partner}-es-") for kid in view.kids)
    # A kervan:// URL must name that country's permit authority.
    wrong = NewPartner(UZ, PartnerSpec(code="KZ", url="kervan://az-permits"))
    with pytest.raises(InvalidRequestError):
        add_partner(uz.unit_of_work(), operator_of(uz), wrong)

    # KZ grants Uzbek hauliers transit permits: QUOTA_CREATED goes to UZ's node.
    with unit_of_work(kz.sessions) as session:
        kz_officer = caller_for(session, KZ)
    grant = GrantRequest(issuer="UZ", year=YEAR, permit_type=2, quantity=40)
    granted = grant_quota(kz.unit_of_work(), kz_officer, Grant(None, grant))
    assert granted.announced
    await exchange(pair)
    with UnitOfWork(uz.sessions, reading=True) as uow:
        quotas = {
            (q.quota.permit_issued_for, int(q.quota.permit_type)): q
            for q in uow.permits.quotas_of(UZ)
        }
    assert quotas[("KZ", 2)].quota.quantity == 40

    # UZ issues the truck's permit for entering KZ: PERMIT_CREATED goes to KZ's node.
    book_uzbek_truck(uz, "TAS-IST-PERMITS", datetime.now(UTC).date())
    with unit_of_work(uz.sessions) as session:
        uz_officer = caller_for(session, UZ)
    desk = permit_desk(uz.unit_of_work(), uz_officer)
    into_kz = next(r for r in desk.requests if r.countries[0] == "KZ")
    assert into_kz.permit_type == "transit"
    wire = issue_for_shipment(
        uz.unit_of_work(), uz_officer, IssueRequest(document_id=into_kz.document_id)
    )
    permit_id = str(wire["permit_id"])
    assert permit_id == f"UZ-KZ-{YEAR}-2-1"
    await exchange(pair)
    with UnitOfWork(kz.sessions, reading=True) as uow:
        known = uow.permits.get_permit(permit_id, org_ids=[KZ])
    assert known.permit.plate_number == "01 A 123 BC"

    # KZ's border checks the permit and records the truck's entrance: PERMIT_USED goes to UZ.
    use = BorderUse(qr=str(wire["qr_code"]), plate="01 A 123 BC", activity="ENTRANCE",
                    details="Saryagash")  # fmt: skip
    recorded = record_border_use(kz.unit_of_work(), kz_officer, UseAtBorder(None, use))
    assert (recorded.permit_id, recorded.activity, recorded.uses) == (permit_id, "ENTRANCE", 1)
    await exchange(pair)
    with UnitOfWork(uz.sessions, reading=True) as uow:
        record = uow.permits.get_permit(permit_id, org_ids=[UZ])
    assert [(u.activity_type.value, u.activity_details) for u in record.usages] == [
        ("ENTRANCE", "Saryagash")
    ]

    # A dead-lettered e-Permit event is received again through the operator's use case (what
    # the messages page and `kervan messages replay` run) and applied by the permit authority.
    more = GrantRequest(issuer="UZ", year=YEAR, permit_type=2, quantity=10)
    grant_quota(kz.unit_of_work(), kz_officer, Grant(None, more))
    assert await pair.nodes[KZ].relay_once() == 1
    (delivery,) = await pair.nodes[UZ].broker.fetch(UZ, batch=10, timeout=2.0)
    with unit_of_work(uz.sessions) as session:
        pair.nodes[UZ].inbox.dead_letter(
            session, delivery.data, "max_deliveries", "failed on each of 5 deliveries",
            deliveries=5,
        )  # fmt: skip
    await delivery.ack()
    with unit_of_work(uz.sessions) as session:
        (letter,) = dead_letters(session, UZ)
    replay = ReplayDeadLetter(UZ, letter.dead_letter_id)
    receipt = replay_dead_letter(uz.unit_of_work(), operator_of(uz), replay)
    assert receipt.outcome == "applied"
    with UnitOfWork(uz.sessions, reading=True) as uow:
        after = {int(q.quota.permit_type): q for q in uow.permits.quotas_of(UZ)}
    assert after[2].quota.quantity == 50

    # UZ no longer counts KZ as a partner: KZ's next event is refused by UZ's node.
    remove_partner(uz.unit_of_work(), operator_of(uz), PartnerRef(UZ, "KZ"))
    grant_quota(kz.unit_of_work(), kz_officer, Grant(None, grant))
    await exchange(pair)
    for ctx, code in ((uz, UZ), (kz, KZ)):
        with unit_of_work(ctx.sessions) as session:
            refused = [(r.reason, r.detail) for r in rejections(session, code)]
        if code == KZ:
            assert refused == []
        else:
            assert len(refused) == 1, refused
            assert "KZ is no partner of UZ" in refused[0][1], refused
    with UnitOfWork(uz.sessions, reading=True) as uow:
        again = {
            (q.quota.permit_issued_for, int(q.quota.permit_type)): q
            for q in uow.permits.quotas_of(UZ)
        }
    assert again[("KZ", 2)].quota.quantity == 50  # the refused grant changed nothing

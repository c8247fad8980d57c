"""`kervan node --authority CODE [--all] [--broker inproc|nats://...]`: run exchange nodes.

A node relays its authority's outbox to the broker and applies what the broker brings for it
through its inbox (signatures checked against the trust list, each message applied once) with
the corridor's handlers (`kervan.services.customs.handlers`: a customs authority's and the
trade side's messages; a permit authority also applies its partners' e-Permit events,
`kervan.services.epermit_corridor`). With
`--all`, every authority holding a key in the node's key store runs in this one process (the
embedded default, with the in-process broker unless --broker names NATS). Keys come from the
file key store (KERVAN_DATA_DIR/keys/<authority>/<kid>.pem); the trust list from --trust-list
(JWKS, re-read when the file changes; with --trust-list-key, only a list the corridor operator
signed, no older than the one in force) or, without it, from the public halves of the keys in
that store. `--listen host:port` serves /health, /ready and Prometheus /metrics. On start a
node asks the stream again for what each sender sent after the last message its store holds,
so a node restored from a backup re-syncs by sequence.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors
from kervan.errors import InvalidRequestError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from kervan.exchange.bus import Broker
    from kervan.exchange.trustfile import TrustListFile
    from kervan.services.node import NodeContext
    from kervan.settings import Settings
    from kervan.signatures.keys import Signer
    from kervan.signatures.trustlist import TrustList
    from kervan.store.keyfiles import KeyFileStore


@user_errors
def node(
    authority: Annotated[
        str | None, typer.Option("--authority", help="The authority to run, e.g. KZ-customs.")
    ] = None,
    run_all: Annotated[
        bool, typer.Option("--all", help="Run every authority with a key in the key store.")
    ] = False,
    broker: Annotated[
        str,
        typer.Option(
            "--broker",
            envvar="KERVAN_BROKER",
            help="inproc (default) or a NATS URL nats://[user:password@]host:4222.",
        ),
    ] = "inproc",
    corridor: Annotated[str, typer.Option("--corridor", help="The corridor's stream.")] = "middle",
    trust_list: Annotated[
        Path | None,
        typer.Option(
            "--trust-list",
            help="Trust list as JWKS; re-read when the file changes (rotation, revocation).",
            dir_okay=False,
        ),
    ] = None,
    trust_list_key: Annotated[
        Path | None,
        typer.Option(
            "--trust-list-key",
            help="The corridor operator's public key (JWKS): only trust lists it signed apply.",
            dir_okay=False,
        ),
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            envvar="KERVAN_NODE_LISTEN",
            help="host:port for /health, /ready and /metrics (none without it).",
        ),
    ] = None,
    max_deliveries: Annotated[
        int, typer.Option("--max-deliveries", min=1, help="Deliveries before a dead letter.")
    ] = 5,
    gap_timeout: Annotated[
        float,
        typer.Option(
            "--gap-timeout", min=0.0, help="Seconds a gap waits before it is asked for again."
        ),
    ] = 30.0,
    ack_wait: Annotated[
        float, typer.Option("--ack-wait", min=1.0, help="Seconds before the broker redelivers.")
    ] = 30.0,
    seconds: Annotated[
        float, typer.Option("--seconds", help="Stop after this long (0: run until Ctrl-C).")
    ] = 0.0,
) -> None:
    """Run the exchange node of one authority, or of all of them in one process."""
    import asyncio  # noqa: PLC0415

    from kervan.services.audit import startup_audit  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415
    from kervan.store.node_files import node_keys  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415
    from kervan.store.uow import UnitOfWork  # noqa: PLC0415

    settings = get_settings()
    keys = node_keys(settings)
    known = (
        sorted(path.name for path in keys.directory.iterdir()) if keys.directory.is_dir() else []
    )
    if run_all:
        authorities = [code for code in known if keys.kids(code)]
    elif authority:
        authorities = [authority]
    else:
        raise InvalidRequestError("name the authority with --authority CODE, or pass --all")
    if not authorities:
        raise InvalidRequestError(f"no authority has a key in {keys.directory}")
    signers: dict[str, Signer] = {}
    for code in authorities:
        kids = keys.kids(code)
        if not kids:
            raise InvalidRequestError(f"{code} has no key in {keys.directory / code}")
        signers[code] = keys.load(code, kids[-1])
    trust = _trust(trust_list, keys, known, trust_list_key)
    engine = connect_migrated(settings.resolved_database_url)
    options = _Options(broker, corridor, listen, max_deliveries, gap_timeout, ack_wait, seconds)
    try:
        # A node re-verifies its store before it exchanges anything (services.audit).
        startup_audit(
            UnitOfWork(make_session_factory(engine)),
            log_id=settings.node_id,
            serve_unverified=settings.serve_unverified_ledger,
        )
        context = permit_context(settings, engine, keys, authorities)
        asyncio.run(_run(authorities, signers, trust, engine, options, context))
    finally:
        engine.dispose()


@dataclasses.dataclass(frozen=True, slots=True)
class _Options:
    broker: str
    corridor: str
    listen: str | None
    max_deliveries: int
    gap_timeout: float
    ack_wait: float
    seconds: float


def _trust(
    path: Path | None, keys: KeyFileStore, known: list[str], signed_by: Path | None
) -> TrustList | TrustListFile:
    import json  # noqa: PLC0415

    from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP  # noqa: PLC0415
    from kervan.errors import TrustListError  # noqa: PLC0415
    from kervan.exchange.trustfile import TrustListFile  # noqa: PLC0415
    from kervan.signatures.encoding import from_unix_seconds  # noqa: PLC0415
    from kervan.signatures.trustlist import TrustList  # noqa: PLC0415

    if signed_by is not None and path is None:
        raise InvalidRequestError("--trust-list-key checks a --trust-list: name the list too")
    if path is not None:
        try:
            operator = None
            if signed_by is not None:
                operator = TrustList.from_jwks(json.loads(signed_by.read_text(encoding="utf-8")))
            return TrustListFile(path, signed_by=operator)
        except (OSError, ValueError) as exc:
            raise InvalidRequestError(f"cannot read {signed_by}: {exc}") from exc
        except TrustListError as exc:
            raise InvalidRequestError(exc.message) from exc
    trust = TrustList()
    since = from_unix_seconds(EARLIEST_EVENT_TIMESTAMP)
    for code in known:
        for kid in keys.kids(code):
            try:
                trust.add_signer(keys.load(code, kid), not_before=since)
            except TrustListError as exc:
                raise InvalidRequestError(f"key {kid} of {code}: {exc.message}") from exc
    return trust


def permit_context(
    settings: Settings, engine: Engine, keys: KeyFileStore, authorities: list[str]
) -> NodeContext | None:
    """The node's context when it runs a permit authority (it applies the e-Permit events its
    partners' nodes send; see kervan.services.epermit_corridor); None for customs and trade."""
    from kervan.network.dataset import load_network  # noqa: PLC0415
    from kervan.routing.planner import Planner  # noqa: PLC0415
    from kervan.services.node import NodeContext  # noqa: PLC0415
    from kervan.store.db import make_session_factory, read_only  # noqa: PLC0415
    from kervan.store.repositories.organisations import (  # noqa: PLC0415
        OrganisationKind,
        OrganisationRepository,
    )

    sessions = make_session_factory(engine)
    with read_only(sessions) as session:
        found = [OrganisationRepository(session).find(code) for code in authorities]
    if not any(org is not None and org.kind is OrganisationKind.PERMIT_AUTHORITY for org in found):
        return None
    network = load_network()
    return NodeContext(settings, sessions, network, Planner(network), keys)


def _broker(options: _Options, authorities: list[str]) -> Broker:
    from kervan.exchange.bus import InProcessBroker, NatsJetStreamBroker  # noqa: PLC0415

    if options.broker == "inproc":
        return InProcessBroker(ack_wait=options.ack_wait)
    if options.broker.startswith(("nats://", "tls://")):
        # One authority per process: replies come to its own inbox subjects, which the
        # corridor's NATS configuration lets only that authority read.
        prefix = f"_INBOX.{authorities[0]}" if len(authorities) == 1 else "_INBOX"
        return NatsJetStreamBroker(
            options.broker,
            corridor=options.corridor,
            ack_wait=options.ack_wait,
            max_deliver=options.max_deliveries + 1,
            inbox_prefix=prefix,
        )
    raise InvalidRequestError(f"--broker {options.broker!r}: use inproc or nats://host:port")


async def _run(
    authorities: list[str],
    signers: dict[str, Signer],
    trust: TrustList | TrustListFile,
    engine: Engine,
    options: _Options,
    context: NodeContext | None,
) -> None:
    import asyncio  # noqa: PLC0415
    import contextlib  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from kervan.errors import BrokerUnavailableError  # noqa: PLC0415
    from kervan.exchange.bus import shown_url  # noqa: PLC0415
    from kervan.exchange.channels import utc_now  # noqa: PLC0415
    from kervan.exchange.node import AllInOne, Node  # noqa: PLC0415
    from kervan.services.customs.handlers import message_handler  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415

    out = Console()
    sessions = make_session_factory(engine)
    chosen = _broker(options, authorities)
    connect = getattr(chosen, "connect", None)
    if connect is not None:
        try:
            await connect()
        except BrokerUnavailableError as exc:
            # The loops keep trying: a node started before its broker catches up when it comes.
            out.print(f"broker not reachable yet ({exc.message}); retrying", highlight=False)
    # Every authority applies what it receives with the corridor's handlers, as the
    # authorities on one serving node do right after each commit: customs messages, and for a
    # permit authority the e-Permit events of its partners on the corridor.
    handler = message_handler(utc_now, context)
    group = AllInOne(
        [
            Node(
                code,
                sessions=sessions,
                signer=signers[code],
                trust=trust,
                broker=chosen,
                handler=handler,
                max_deliveries=options.max_deliveries,
                gap_timeout=options.gap_timeout,
                # A store restored from a backup catches up with the stream before anything.
                resync_on_start=True,
            )
            for code in authorities
        ]
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    group.start()
    probe = None
    if options.listen:
        from kervan.cli.node_http import probe_server  # noqa: PLC0415

        probe = probe_server(list(group.nodes.values()), options.listen)
        probe_task = asyncio.create_task(probe.serve(), name="probe")
    where = f" (health on http://{options.listen})" if options.listen else ""
    out.print(
        f"running {', '.join(authorities)} on {shown_url(options.broker)} "
        f"(corridor {options.corridor}){where}",
        highlight=False,
    )
    try:
        with contextlib.suppress(asyncio.CancelledError):
            if options.seconds > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), options.seconds)
            else:
                await stop.wait()
    finally:
        if probe is not None:
            probe.should_exit = True
            await probe_task
        await group.stop()
        await chosen.close()
        _print_counts(out, sessions, authorities)


def _print_counts(out: Console, sessions: sessionmaker[Session], authorities: list[str]) -> None:
    from kervan.exchange.outbox import pending_count  # noqa: PLC0415
    from kervan.exchange.status import applied_count  # noqa: PLC0415

    with sessions.begin() as session:
        for code in authorities:
            out.print(
                f"{code}: {applied_count(session, code)} applied, "
                f"{pending_count(session, code)} waiting in the outbox",
                highlight=False,
            )

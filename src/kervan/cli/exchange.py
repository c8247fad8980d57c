"""`kervan node --authority CODE [--all] [--broker inproc|nats://...]`: run exchange nodes.

A node relays its authority's outbox to the broker and applies what the broker brings for it
through its inbox (signatures checked against the trust list, each message applied once) with
the customs corridor's handlers (`kervan.services.customs.handlers`). With
`--all`, every authority holding a key in the node's key store runs in this one process (the
embedded default, with the in-process broker unless --broker names NATS). Keys come from the
file key store (KERVAN_DATA_DIR/keys/<authority>/<kid>.pem); the trust list from --trust-list
(JWKS) or, without it, from the public halves of the keys in that store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors
from kervan.errors import InvalidRequestError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

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
        str, typer.Option("--broker", help="inproc (default) or a NATS URL nats://host:4222.")
    ] = "inproc",
    corridor: Annotated[str, typer.Option("--corridor", help="The corridor's stream.")] = "middle",
    trust_list: Annotated[
        Path | None, typer.Option("--trust-list", help="Trust list as JWKS.", dir_okay=False)
    ] = None,
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
    trust = _trust(trust_list, keys, known)
    engine = connect_migrated(settings.resolved_database_url)
    try:
        # A node re-verifies its store before it exchanges anything (services.audit).
        startup_audit(
            UnitOfWork(make_session_factory(engine)),
            log_id=settings.node_id,
            serve_unverified=settings.serve_unverified_ledger,
        )
        asyncio.run(_run(authorities, signers, trust, engine, broker, corridor, seconds))
    finally:
        engine.dispose()


def _trust(path: Path | None, keys: KeyFileStore, known: list[str]) -> TrustList:
    from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP  # noqa: PLC0415
    from kervan.errors import TrustListError  # noqa: PLC0415
    from kervan.signatures.encoding import from_unix_seconds  # noqa: PLC0415
    from kervan.signatures.trustlist import TrustList  # noqa: PLC0415

    if path is not None:
        try:
            return TrustList.from_jwks(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise InvalidRequestError(f"cannot read the trust list {path}: {exc}") from exc
    trust = TrustList()
    since = from_unix_seconds(EARLIEST_EVENT_TIMESTAMP)
    for code in known:
        for kid in keys.kids(code):
            try:
                trust.add_signer(keys.load(code, kid), not_before=since)
            except TrustListError as exc:
                raise InvalidRequestError(f"key {kid} of {code}: {exc.message}") from exc
    return trust


async def _run(
    authorities: list[str],
    signers: dict[str, Signer],
    trust: TrustList,
    engine: Engine,
    broker_url: str,
    corridor: str,
    seconds: float,
) -> None:
    import asyncio  # noqa: PLC0415
    import contextlib  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from kervan.exchange.bus import Broker, InProcessBroker, NatsJetStreamBroker  # noqa: PLC0415
    from kervan.exchange.channels import utc_now  # noqa: PLC0415
    from kervan.exchange.node import AllInOne, Node  # noqa: PLC0415
    from kervan.services.customs.handlers import message_handler  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415

    out = Console()
    sessions = make_session_factory(engine)
    chosen: Broker
    if broker_url == "inproc":
        chosen = InProcessBroker()
    elif broker_url.startswith(("nats://", "tls://")):
        nats_broker = NatsJetStreamBroker(broker_url, corridor=corridor)
        await nats_broker.connect()
        chosen = nats_broker
    else:
        raise InvalidRequestError(f"--broker {broker_url!r}: use inproc or nats://host:port")
    # Every authority applies what it receives with the customs corridor's handlers, as the
    # authorities on one serving node do right after each commit.
    handler = message_handler(utc_now)
    group = AllInOne(
        [
            Node(
                code,
                sessions=sessions,
                signer=signers[code],
                trust=trust,
                broker=chosen,
                handler=handler,
            )
            for code in authorities
        ]
    )
    group.start()
    out.print(f"running {', '.join(authorities)} on {broker_url} (corridor {corridor})")
    try:
        with contextlib.suppress(asyncio.CancelledError):
            if seconds > 0:
                await asyncio.sleep(seconds)
            else:
                await asyncio.Event().wait()
    finally:
        await group.stop()
        await chosen.close()
        _print_counts(out, sessions, authorities)


def _print_counts(out: Console, sessions: sessionmaker[Session], authorities: list[str]) -> None:
    from kervan.exchange.inbox import applied_count  # noqa: PLC0415
    from kervan.exchange.outbox import pending_count  # noqa: PLC0415

    with sessions.begin() as session:
        for code in authorities:
            out.print(
                f"{code}: {applied_count(session, code)} applied, "
                f"{pending_count(session, code)} waiting in the outbox",
                highlight=False,
            )

"""`kervan corridor ...`: run a corridor of national nodes from a topology file.

    kervan corridor nats-config topology.toml     # nats.conf: one user per authority
    nats-server -c nats.conf                      # (Debian's nats-server)
    kervan corridor trust-list topology.toml      # build the JWKS and hand it to every node
    kervan corridor trust-list topology.toml --revoke kz-customs-2026   # reaches every node
    kervan corridor up topology.toml              # every node its own process, until Ctrl-C

See kervan.cli.topology for the file. `up` migrates each node's database, sets up the
corridor's stream and each authority's consumer as the broker's operator, then starts
`kervan node --authority A` per node (restarting one that dies) with its own database, keys,
trust list, broker user and /health, /ready, /metrics port.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors

if TYPE_CHECKING:
    from kervan.cli.topology import Topology
    from kervan.signatures.keys import Signer
    from kervan.signatures.trustlist import TrustList

corridor_app = typer.Typer(rich_markup_mode=None)

_TOPOLOGY = typer.Argument(help="The corridor's topology (TOML).", exists=True, dir_okay=False)


def _passwords(topology: Topology) -> dict[str, str]:
    """The broker users' passwords, generated once and kept 0600 beside the topology."""
    import json  # noqa: PLC0415
    import os  # noqa: PLC0415
    import secrets  # noqa: PLC0415

    from kervan.exchange.corridor import OPERATOR_USER  # noqa: PLC0415

    path = topology.broker.credentials
    known: dict[str, str] = {}
    if path.exists():
        known = json.loads(path.read_text(encoding="utf-8"))
    wanted = [OPERATOR_USER, *(n.authority for n in topology.node)]
    if all(user in known for user in wanted):
        return known
    for user in wanted:
        known.setdefault(user, secrets.token_urlsafe(24))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(known, handle, indent=2)
    return known


def _url_for(topology: Topology, user: str, password: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    scheme, _, rest = topology.broker.url.partition("://")
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"


@corridor_app.command("nats-config")
@user_errors
def nats_config_command(topology_file: Annotated[Path, _TOPOLOGY]) -> None:
    """Write the NATS server configuration: one user per authority, its own subjects only."""
    from kervan.cli.topology import load_topology  # noqa: PLC0415
    from kervan.exchange.corridor import nats_config  # noqa: PLC0415
    from kervan.exchange.trustfile import write_atomically  # noqa: PLC0415

    topology = load_topology(topology_file)
    broker = topology.broker
    tls = (broker.tls_cert, broker.tls_key) if broker.tls_cert and broker.tls_key else None
    text = nats_config(
        corridor=topology.corridor.name,
        listen=broker.host_port,
        store_dir=broker.store_dir,
        passwords=_passwords(topology),
        tls=tls,
    )
    write_atomically(broker.config, text)
    broker.config.chmod(0o600)
    typer.echo(f"wrote {broker.config} ({len(topology.node)} authorities and the operator)")


@corridor_app.command("trust-list")
@user_errors
def trust_list_command(
    topology_file: Annotated[Path, _TOPOLOGY],
    revoke: Annotated[
        list[str] | None, typer.Option("--revoke", help="Revoke this kid (repeatable).")
    ] = None,
    at: Annotated[
        datetime | None,
        typer.Option("--at", help="When the revocation takes effect (UTC; default now)."),
    ] = None,
) -> None:
    """Build the corridor's trust list from the authorities' public keys, sign it with the
    operator's trust-list key and hand it to every node with that key's public half (each
    checks the signature and applies the list from its next message, without a restart)."""
    import json  # noqa: PLC0415
    from datetime import UTC  # noqa: PLC0415

    from kervan.cli.topology import load_topology  # noqa: PLC0415
    from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP  # noqa: PLC0415
    from kervan.errors import InvalidRequestError, TrustListError  # noqa: PLC0415
    from kervan.exchange.corridor import build_trust_list  # noqa: PLC0415
    from kervan.exchange.trustfile import (  # noqa: PLC0415
        TrustListFile,
        sign_trust_list,
        write_atomically,
    )
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.signatures.encoding import from_unix_seconds  # noqa: PLC0415
    from kervan.store.node_files import keys_of_node_dir  # noqa: PLC0415

    topology = load_topology(topology_file)
    path = topology.corridor.trust_list
    operator, operator_keys = _operator_key(topology)
    previous = TrustListFile(path, signed_by=operator_keys).current() if path.exists() else None
    signers: list[Signer] = []
    for node in topology.node:
        keys = keys_of_node_dir(node.data_dir, get_settings())
        kids = keys.kids(node.authority)
        if not kids:
            raise InvalidRequestError(f"{node.authority} has no key in {node.keys_dir}")
        signers.extend(keys.load(node.authority, kid) for kid in kids)
    trust = build_trust_list(
        signers, since=from_unix_seconds(EARLIEST_EVENT_TIMESTAMP), previous=previous
    )
    when = (at.replace(tzinfo=at.tzinfo or UTC)) if at else datetime.now(UTC)
    for kid in revoke or []:
        try:
            trust.revoke(kid, at=when)
        except TrustListError as exc:
            raise InvalidRequestError(exc.message) from exc
    text = sign_trust_list(trust, operator, datetime.now(UTC))
    public = json.dumps(operator_keys.to_jwks(), indent=2, sort_keys=True) + "\n"
    write_atomically(path, text)
    for node in topology.node:
        # The key first: a node reading the new list checks it with the key it already has.
        write_atomically(node.trust_list_key, public)
        write_atomically(node.trust_list, text)
    revoked = f", revoked {' '.join(revoke)}" if revoke else ""
    typer.echo(f"trust list of {len(trust)} keys written to {len(topology.node)} nodes{revoked}")


def _operator_key(topology: Topology) -> tuple[Signer, TrustList]:
    """The operator's trust-list signing key (made on first use, in the operator's folder) and
    its public keys as a trust list."""
    from datetime import UTC  # noqa: PLC0415

    from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP  # noqa: PLC0415
    from kervan.exchange.trustfile import TRUST_LIST_SIGNER  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.signatures.encoding import from_unix_seconds  # noqa: PLC0415
    from kervan.signatures.trustlist import TrustList  # noqa: PLC0415
    from kervan.store.node_files import keys_of_node_dir  # noqa: PLC0415

    keys = keys_of_node_dir(topology.corridor.operator_dir, get_settings())
    kids = keys.kids(TRUST_LIST_SIGNER)
    if kids:
        signer: Signer = keys.load(TRUST_LIST_SIGNER, kids[-1])
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        signer = keys.generate(TRUST_LIST_SIGNER, f"{TRUST_LIST_SIGNER}-{stamp}")
    public = TrustList()
    public.add_signer(signer, not_before=from_unix_seconds(EARLIEST_EVENT_TIMESTAMP))
    return signer, public


@corridor_app.command("up")
@user_errors
def up(
    topology_file: Annotated[Path, _TOPOLOGY],
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Start only these authorities.")
    ] = None,
) -> None:
    """Start every node of the topology as its own process and keep them running."""
    import asyncio  # noqa: PLC0415

    from kervan.cli.corridor_run import run_corridor  # noqa: PLC0415
    from kervan.cli.topology import load_topology  # noqa: PLC0415

    topology = load_topology(topology_file)
    passwords = _passwords(topology)
    nodes = [n for n in topology.node if not only or n.authority in only]
    urls = {n.authority: _url_for(topology, n.authority, passwords[n.authority]) for n in nodes}
    from kervan.exchange.corridor import OPERATOR_USER  # noqa: PLC0415

    operator = _url_for(topology, OPERATOR_USER, passwords[OPERATOR_USER])
    asyncio.run(run_corridor(topology, nodes, urls, operator))

"""`kervan log` and `kervan witness`: the witnessed corridor log, from the node's own store.

    kervan log key                        # this node's log verifier key, for the witnesses
    kervan witness key                    # this node's witness verifier key, for the logs
    kervan witness add-log VKEY           # witness another national node's log
    kervan log add-witness VKEY URL       # ask another national node to co-sign this log
    kervan log cosign                     # sign a checkpoint and gather the co-signatures
    kervan log checkpoint                 # the latest checkpoint with its co-signatures

Operator commands on the node's database (KERVAN_DATABASE_URL) and key files
(KERVAN_DATA_DIR), like `kervan evidence export`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors

if TYPE_CHECKING:
    from kervan.services.node import NodeContext

log_app = typer.Typer(
    help="This node's log: checkpoints, witnesses, co-signatures.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
witness_app = typer.Typer(
    help="This node as a witness of other national nodes' logs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@contextmanager
def _node() -> Iterator[NodeContext]:
    from kervan.network.dataset import load_network  # noqa: PLC0415
    from kervan.routing.planner import Planner  # noqa: PLC0415
    from kervan.services.node import NodeContext, ensure_node_organisation  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.store.db import make_session_factory, unit_of_work  # noqa: PLC0415
    from kervan.store.node_files import node_keys  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415

    settings = get_settings()
    engine = connect_migrated(settings.resolved_database_url)
    try:
        sessions, keys = make_session_factory(engine), node_keys(settings)
        # The node signs its log as itself: registered on first use, as `kervan serve` does.
        with unit_of_work(sessions) as session:
            ensure_node_organisation(session, keys, settings)
        network = load_network()
        yield NodeContext(settings, sessions, network, Planner(network), keys)
    finally:
        engine.dispose()


@log_app.command("key")
@user_errors
def show_log_key() -> None:
    """Print this node's log verifier key (name+keyid+key): witnesses add it."""
    from kervan.services.witness import log_key  # noqa: PLC0415

    with _node() as ctx:
        typer.echo(log_key(ctx.unit_of_work()))


@witness_app.command("key")
@user_errors
def show_witness_key() -> None:
    """Print this node's witness verifier key: logs add it as a witness."""
    from kervan.services.witness import witness_key  # noqa: PLC0415

    with _node() as ctx:
        typer.echo(witness_key(ctx.unit_of_work()))


@witness_app.command("add-log")
@user_errors
def witness_add_log(
    vkey: Annotated[str, typer.Argument(help="The log's verifier key (`kervan log key` there).")],
) -> None:
    """Witness the log of VKEY: co-sign its checkpoints while they stay consistent."""
    from kervan.services.witness import WatchLog, watch_log  # noqa: PLC0415

    with _node() as ctx:
        typer.echo(f"witnessing log {watch_log(ctx.unit_of_work(), WatchLog(vkey))}")


@log_app.command("add-witness")
@user_errors
def log_add_witness(
    vkey: Annotated[str, typer.Argument(help="The witness's key (`kervan witness key` there).")],
    url: Annotated[str, typer.Argument(help="The witness node's base URL.")],
) -> None:
    """Ask the witness of VKEY, answering at URL, to co-sign this node's checkpoints."""
    from kervan.services.witness import AddWitness, add_witness  # noqa: PLC0415

    with _node() as ctx:
        typer.echo(f"witness {add_witness(ctx.unit_of_work(), AddWitness(vkey, url))} added")


@log_app.command("cosign")
@user_errors
def log_cosign() -> None:
    """Sign a checkpoint at the log's committed size, ask every witness to co-sign it and keep
    the co-signatures; print who co-signed and who refused (JSON). Exit 15 when fewer than two
    witnesses co-signed."""
    import httpx  # noqa: PLC0415

    from kervan.services.witness import MIN_COSIGNATURES, gather_cosignatures  # noqa: PLC0415
    from kervan.store.repositories.witness import LogWitness  # noqa: PLC0415

    with httpx.Client(timeout=30.0) as http:

        def post(witness: LogWitness, body: bytes) -> tuple[int, str]:
            try:
                answer = http.post(f"{witness.url}/v1/witness/add-checkpoint", content=body)
            except httpx.HTTPError as exc:
                return 503, f"{witness.url} did not answer: {exc}"
            return answer.status_code, answer.text

        with _node() as ctx:
            report = gather_cosignatures(ctx.unit_of_work(), post)
    sys.stdout.write(json.dumps(report.model_dump(exclude={"note"}), indent=2) + "\n")
    if len(report.cosigned_by) < MIN_COSIGNATURES:
        raise typer.Exit(15)


@log_app.command("checkpoint")
@user_errors
def log_checkpoint() -> None:
    """Print the log's checkpoint at its committed size with the co-signatures gathered."""
    from kervan.services.witness import latest_checkpoint  # noqa: PLC0415

    with _node() as ctx:
        sys.stdout.write(latest_checkpoint(ctx.unit_of_work()))

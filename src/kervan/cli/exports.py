"""`kervan evidence export` and `kervan trust-list export`: the two files `kervan verify` takes,
from the node's own store; `kervan document export`: a document as UN/CEFACT D23B JSON.

    kervan evidence export ecmr:... -o evidence.json
    kervan trust-list export -o trust-list.json
    kervan verify evidence.json --trust-list trust-list.json

These are operator commands, like `kervan org create`: they read the node's own database
(KERVAN_DATABASE_URL) and use its key files (KERVAN_DATA_DIR) as the node's operator, so any
document in the store can be exported; there is no caller to authorise, as whoever can run them
can read those files anyway. Parties and customs get the same bundle over the API
(GET /v1/documents/{id}/evidence) or the web (/documents/{id}/evidence.json), where what they
may see is checked. An evidence export may sign and store a new tree head of the node's ledger
when the latest one does not cover the document yet, as the API does.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from kervan.cli.errors import user_errors
from kervan.errors import InvalidRequestError

evidence_app = typer.Typer(
    help="Offline evidence of the node's signed documents.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
document_app = typer.Typer(
    help="The node's documents in standard formats.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
trust_list_app = typer.Typer(
    help="The node's trust list: every organisation's public keys.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", help="Write to FILE instead of standard output.", dir_okay=False
    ),
]


@evidence_app.command("export")
@user_errors
def export_evidence(
    document_id: Annotated[str, typer.Argument(help="The document, e.g. ecmr:SHP-...-1.")],
    output: OutputOption = None,
) -> None:
    """Write the offline evidence bundle of DOCUMENT_ID (its current version, the JWS, ledger
    entry, inclusion proof and signed tree head), as GET /v1/documents/{id}/evidence gives it.

    An operator command on the node's own store: any document in it. Exit 18 when the store
    holds no such document.
    """
    from kervan.network.dataset import load_network  # noqa: PLC0415
    from kervan.routing.planner import Planner  # noqa: PLC0415
    from kervan.services.documents import DocumentRef, operator_evidence  # noqa: PLC0415
    from kervan.services.node import NodeContext  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415
    from kervan.store.node_files import node_keys  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415

    settings = get_settings()
    engine = connect_migrated(settings.resolved_database_url)
    try:
        network = load_network()
        ctx = NodeContext(
            settings,
            make_session_factory(engine),
            network,
            Planner(network),
            node_keys(settings),
        )
        bundle = operator_evidence(ctx.unit_of_work(), DocumentRef(document_id))
    finally:
        engine.dispose()
    _write(bundle, output)


class ExportFormat(StrEnum):
    """The standards a document exports to."""

    UNCEFACT = "uncefact"
    EFTI = "efti"


@document_app.command("export")
@user_errors
def export_document(
    document_id: Annotated[str, typer.Argument(help="The document, e.g. ecmr:SHP-...-1.")],
    output: OutputOption = None,
    standard: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="uncefact: UN/CEFACT D23B JSON; efti: the eFTI common data set (XML).",
        ),
    ] = ExportFormat.UNCEFACT,
) -> None:
    """Write DOCUMENT_ID as UN/CEFACT D23B JSON (an e-CMR as the eCMR message, a CIM/SMGS
    note as the CIM/SMGS ConsignmentNote), as GET /v1/documents/{id}/uncefact gives it; with
    --format efti, as the eFTI consignment common data set (XML), as GET
    /v1/documents/{id}/efti gives it.

    An operator command on the node's own store: any document in it. Exit 18 when the store
    holds no such document, 2 for a kind with no such export (e-TIR, e-Permit).
    """
    from kervan.services.efti import EftiDocument, operator_efti_dataset  # noqa: PLC0415
    from kervan.services.exports import ExportDocument, operator_standard_export  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415
    from kervan.store.uow import UnitOfWork  # noqa: PLC0415

    engine = connect_migrated(get_settings().resolved_database_url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        if standard is ExportFormat.EFTI:
            _write_bytes(operator_efti_dataset(uow, EftiDocument(document_id)), output)
            return
        exported = operator_standard_export(uow, ExportDocument(document_id))
    finally:
        engine.dispose()
    _write(exported, output)


@trust_list_app.command("export")
@user_errors
def export_trust_list(output: OutputOption = None) -> None:
    """Write the node's trust list as JWKS (every organisation's public keys with their
    validity), as GET /v1/trust-list gives it: the --trust-list of `kervan verify`.

    An operator command on the node's own store.
    """
    from kervan.services.documents import trust_list  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415
    from kervan.store.uow import UnitOfWork  # noqa: PLC0415

    engine = connect_migrated(get_settings().resolved_database_url)
    try:
        jwks = trust_list(UnitOfWork(make_session_factory(engine)))
    finally:
        engine.dispose()
    _write(jwks, output)


def _write_bytes(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise InvalidRequestError(f"cannot write {output}: {exc.strerror or exc}") from None


def _write(value: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(f"cannot write {output}: {exc.strerror or exc}") from None

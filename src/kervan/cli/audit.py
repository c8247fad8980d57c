"""`kervan audit`: re-verify the whole node from its database and key files.

    kervan audit            # one line per finding; exit 0 when everything verifies
    kervan audit --json     # the report as JSON

An operator command, like `kervan evidence export`: it reads the node's own database
(KERVAN_DATABASE_URL) as its operator. Every row a signature or the ledger covers is checked
(services.audit says what); each finding names its table, its row and what is wrong. Exit 15
(ledger_integrity_failed) when there is any finding.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from kervan.cli.errors import user_errors


@user_errors
def audit(
    as_json: Annotated[bool, typer.Option("--json", help="Write the report as JSON.")] = False,
) -> None:
    """Re-verify the node's ledger, tree heads, documents, signatures and guard triggers; name
    every finding. Exit 15 when anything does not verify."""
    from kervan.errors import LedgerIntegrityError  # noqa: PLC0415
    from kervan.services.audit import AuditNode, audit_node  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415
    from kervan.store.uow import UnitOfWork  # noqa: PLC0415

    settings = get_settings()
    engine = connect_migrated(settings.resolved_database_url)
    try:
        report = audit_node(
            UnitOfWork(make_session_factory(engine)), AuditNode(), log_id=settings.node_id
        )
    finally:
        engine.dispose()
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for finding in report.findings:
            sys.stdout.write(finding.line() + "\n")
        sys.stdout.write(report.summary() + "\n")
    if not report.ok:
        raise typer.Exit(LedgerIntegrityError.exit_code)

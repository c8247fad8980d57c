"""`kervan verify FILE --trust-list JWKS`: offline verification of an evidence bundle or a scanned
e-Permit QR payload (what it checks and how: kervan.cli.verification, imported when the command
runs).

Exit codes: 0 everything verified; 13 (SignatureError) a document or QR signature, or the payload
it covers, does not hold; 15 (LedgerIntegrityError) only the ledger evidence does not hold;
2 (InvalidRequestError) FILE or the trust list is missing, unreadable or not what it should be.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from kervan.cli.errors import user_errors


@user_errors
def verify(
    file: Annotated[
        Path,
        typer.Argument(
            help="An evidence bundle (JSON) or a scanned QR payload (text).", dir_okay=False
        ),
    ],
    trust_list: Annotated[
        Path,
        typer.Option("--trust-list", help="The authorities' keys as a JWKS file.", dir_okay=False),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="The checks as JSON.")] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Judge QR validity at this time (RFC 3339 with zone); default now."
        ),
    ] = None,
) -> None:
    """Verify FILE offline against a trust list: signatures, inclusion proof, tree head, QR.

    Exit 0: every check holds. 13: a signature, or what it signs, fails.
    15: only the ledger evidence fails. 2: FILE or the trust list cannot be used.
    """
    from kervan.cli.verification import (  # noqa: PLC0415
        load_trust_list,
        moment,
        print_verdict,
        verify_file,
    )

    now = moment(at)
    trust = load_trust_list(trust_list)
    verdict = verify_file(file, trust, now=now)
    if as_json:
        sys.stdout.write(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_verdict(verdict, file)
    error = verdict.error()
    if error is not None:
        raise error

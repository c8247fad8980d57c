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
    log_keys: Annotated[
        Path | None,
        typer.Option(
            "--log-keys",
            help="Verifier keys of the log and its witnesses, one per line (a bundle's "
            "checkpoint is checked with them).",
            dir_okay=False,
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A newer co-signed checkpoint of the log (GET /v1/log/checkpoint) to check "
            "an older bundle against; needs --consistency and --log-keys.",
            dir_okay=False,
        ),
    ] = None,
    consistency: Annotated[
        Path | None,
        typer.Option(
            "--consistency",
            help="The consistency proof from the bundle's tree head to --checkpoint "
            "(GET /v1/log/consistency).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Verify FILE offline against a trust list: signatures, inclusion proof, tree head, QR.

    Exit 0: every check holds. 13: a signature, or what it signs, fails.
    15: only the ledger evidence fails. 2: FILE or the trust list cannot be used.
    """
    from kervan.cli.verification import (  # noqa: PLC0415
        load_log_keys,
        load_newer_checkpoint,
        load_trust_list,
        moment,
        print_verdict,
        verify_file,
    )

    now = moment(at)
    trust = load_trust_list(trust_list)
    keys = load_log_keys(log_keys)
    newer = load_newer_checkpoint(checkpoint, consistency)
    verdict = verify_file(file, trust, now=now, log_keys=keys, newer=newer)
    if as_json:
        sys.stdout.write(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_verdict(verdict, file)
    error = verdict.error()
    if error is not None:
        raise error

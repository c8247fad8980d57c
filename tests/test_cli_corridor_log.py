"""`kervan log` and `kervan witness` on a node of their own: the verifier keys, witnessing a log,
adding a witness, a checkpoint, and co-signing that fails clearly when no witness answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kervan.cli import app
from kervan.ledger.checkpoint import (
    COSIGNATURE_V1,
    ED25519,
    parse_signed_checkpoint,
    parse_verifier_key,
    verify_log_signature,
)
from kervan.settings import get_settings

runner = CliRunner()


def kervan(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "development")
    monkeypatch.setenv("KERVAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERVAN_NODE_ID", "kervan-az")
    monkeypatch.setenv("KERVAN_NODE_COUNTRY", "AZ")
    monkeypatch.delenv("KERVAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    migrated = kervan("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    yield tmp_path
    get_settings.cache_clear()


def test_keys_witnessing_and_cosigning_from_the_command_line(node: Path) -> None:
    log_key = kervan("log", "key")
    assert log_key.exit_code == 0, log_key.output
    log = parse_verifier_key(log_key.stdout.strip())
    assert (log.name, log.algorithm) == ("kervan-az", ED25519)
    witness_key = kervan("witness", "key")
    assert witness_key.exit_code == 0, witness_key.output
    witness = parse_verifier_key(witness_key.stdout.strip())
    assert (witness.name, witness.algorithm) == ("kervan-az", COSIGNATURE_V1)

    watched = kervan("witness", "add-log", log.text())
    assert watched.exit_code == 0, watched.output
    assert watched.stdout.strip() == "witnessing log kervan-az"
    wrong = kervan("witness", "add-log", witness.text())
    assert wrong.exit_code == 2
    assert "algorithm 0x01" in wrong.stderr

    checkpoint = kervan("log", "checkpoint")
    assert checkpoint.exit_code == 0, checkpoint.output
    signed = parse_signed_checkpoint(checkpoint.stdout)
    verify_log_signature(signed, log)
    assert signed.checkpoint.origin == "kervan-az"

    # A witness that does not answer: the report says so and the exit code tells the operator.
    added = kervan("log", "add-witness", witness.text(), "http://127.0.0.1:9")
    assert added.exit_code == 0, added.output
    cosigned = kervan("log", "cosign")
    assert cosigned.exit_code == 15
    report = json.loads(cosigned.stdout)
    assert report["cosigned_by"] == []
    assert "did not answer" in report["refused"]["kervan-az"]

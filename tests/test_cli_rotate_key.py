"""`kervan org rotate-key`: the node's administrator gives an organisation a new
document-signing key. The old key stops signing at the next second and keeps verifying what it
signed before; an organisation the node does not know exits 18 with a clear message."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kervan.cli import app
from kervan.errors import NotFoundError, SignatureError
from kervan.settings import get_settings
from kervan.signatures.jws import sign_document, verify
from kervan.signatures.trustlist import TrustList
from kervan.store.db import make_session_factory, unit_of_work
from kervan.store.node_files import node_keys
from kervan.store.repositories import SigningKeyRepository
from kervan.store.schema import connect_migrated
from tests.databases import BACKENDS, admin_sql, schema_url

runner = CliRunner()
ORG = "kz-ktz-express"
CONSIGNMENT = {
    "id": "SMGS-KZ-2026-118",
    "from": "Dostyk (KZ)",
    "to": "Baku port (AZ)",
    "goods": [{"hs": "520300", "description": "cotton, carded", "gross_kg": 21400}],
}


def kervan(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture(params=BACKENDS)
def node(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A development node with the Kazakh rail operator registered."""
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "development")
    monkeypatch.setenv("KERVAN_DATA_DIR", str(tmp_path / "node"))
    for name in ("KERVAN_DATABASE_URL", "KERVAN_KEY_PASSPHRASE", "KERVAN_KEY_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    schema = None
    if request.param == "postgresql":
        schema = f"kervan_test_{uuid.uuid4().hex[:16]}"
        admin_sql(f"CREATE SCHEMA {schema}")
        monkeypatch.setenv("KERVAN_DATABASE_URL", schema_url(schema))
    get_settings.cache_clear()
    assert kervan("db", "upgrade").exit_code == 0
    registered = kervan(
        "org", "create", ORG, "KTZ Express JSC", "KZ", "carrier",
        "--street", "Kunayev 10", "--city", "Astana",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    yield
    get_settings.cache_clear()
    if schema is not None:
        admin_sql(f"DROP SCHEMA {schema} CASCADE")


def _keys() -> tuple[list[str], TrustList]:
    """The organisation's current Ed25519 key ids (newest first) and the node's trust list."""
    settings = get_settings()
    engine = connect_migrated(settings.resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            repository = SigningKeyRepository(session)
            return repository.current_kids(ORG, "EdDSA"), repository.trust_list()
    finally:
        engine.dispose()


def test_rotating_moves_signing_to_a_new_key_and_keeps_old_signatures(node: None) -> None:
    (old_kid,), _ = _keys()
    keys = node_keys(get_settings())
    old = keys.load(ORG, old_kid)
    (before,) = _keys()[1].keys_of(ORG)

    rotated = kervan("org", "rotate-key", ORG)

    assert rotated.exit_code == 0, rotated.output
    (new_kid,), trust = _keys()
    assert new_kid != old_kid
    assert f"rotated {ORG}: {old_kid} -> {new_kid}" in rotated.output
    new_key, old_key = trust.get(new_kid), trust.get(old_kid)
    assert old_key.superseded_at is not None
    assert old_key.superseded_at == new_key.not_before + timedelta(seconds=1)
    # What the old key signed before the rotation stays valid; after it, only the new key signs.
    signed_before = sign_document(CONSIGNMENT, old, "carrier", before.not_before)
    assert [v.kid for v in verify(signed_before, trust)] == [old_kid]
    later = old_key.superseded_at + timedelta(minutes=5)
    with pytest.raises(SignatureError, match="superseded"):
        verify(sign_document(CONSIGNMENT, old, "carrier", later), trust)
    new = keys.load(ORG, new_kid)
    assert [v.kid for v in verify(sign_document(CONSIGNMENT, new, "carrier", later), trust)] == [
        new_kid
    ]


def test_an_unknown_organisation_is_a_clear_error(node: None) -> None:
    result = kervan("org", "rotate-key", "tm-nobody")
    assert result.exit_code == NotFoundError.exit_code
    assert "tm-nobody" in result.output
    assert "Traceback" not in result.output
    assert len(_keys()[0]) == 1

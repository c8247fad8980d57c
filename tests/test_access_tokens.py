"""Access tokens: a token's signature is checked once, its expiry and its client on every use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kervan.errors import AuthenticationError
from kervan.services.access import (
    TOKEN_LIFETIME,
    authenticate,
    client_credentials_token,
    create_client,
    revoke_client,
)
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationKind,
    OrganisationRepository,
)
from kervan.store.schema import upgrade

SECRET = "corridor-node-secret-" + "k" * 32
OTHER_SECRET = "another-node-secret-" + "q" * 32
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_a_token_is_refused_once_expired_revoked_or_under_another_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.sqlite3'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    with unit_of_work(sessions) as session:
        OrganisationRepository(session).add(
            Organisation("almaty-logistics", "Almaty Logistics", "KZ", OrganisationKind.SHIPPER, T0)
        )
        issued = create_client(session, "almaty-logistics", T0)
        token, _ = client_credentials_token(session, issued.identifier, issued.secret, SECRET, T0)
    bearer = f"Bearer {token}"
    with unit_of_work(sessions) as session:
        for minutes in (0, 1, 14):  # the same token, used again and again while it lives
            caller = authenticate(session, bearer, None, SECRET, T0 + timedelta(minutes=minutes))
            assert (caller.org_id, caller.country) == ("almaty-logistics", "KZ")
        with pytest.raises(AuthenticationError, match="expired"):
            authenticate(session, bearer, None, SECRET, T0 + TOKEN_LIFETIME + timedelta(seconds=1))
        with pytest.raises(AuthenticationError, match="refused"):
            authenticate(session, bearer, None, OTHER_SECRET, T0)
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        with pytest.raises(AuthenticationError, match="refused"):
            authenticate(session, f"Bearer {tampered}", None, SECRET, T0)
    with unit_of_work(sessions) as session:
        revoke_client(session, "almaty-logistics", issued.identifier, T0 + timedelta(minutes=2))
    with unit_of_work(sessions) as session, pytest.raises(AuthenticationError, match="revoked"):
        authenticate(session, bearer, None, SECRET, T0 + timedelta(minutes=3))

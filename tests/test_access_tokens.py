"""Access tokens: a token's signature is checked once, its expiry and its client on every use."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from kervan.errors import AuthenticationError
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.services.access import (
    TOKEN_LIFETIME,
    Caller,
    ClientToken,
    Credentials,
    client_credentials_token,
    identify,
    node_operator,
)
from kervan.services.credentials import (
    NewCredential,
    RevokeCredential,
    create_client,
    revoke_client,
)
from kervan.services.node import NodeContext
from kervan.settings import Environment, Settings
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationKind,
    OrganisationRepository,
)
from kervan.store.schema import upgrade

SECRET = "corridor-node-secret-" + "k" * 32
OTHER_SECRET = "another-node-secret-" + "q" * 32
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def caller_of(node: NodeContext, credentials: Credentials) -> Caller:
    """The caller behind `credentials`, as every use case identifies it in its unit of work."""
    uow = node.unit_of_work()
    with uow.for_reading():
        return identify(uow, credentials)


def test_a_token_is_refused_once_expired_revoked_or_under_another_secret(
    tmp_path: Path, mini_network: Network
) -> None:
    url = f"sqlite:///{tmp_path / 'node.sqlite3'}"
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        data_dir=tmp_path,
        database_url=url,
        secret_key=SECRET,
    )
    keys = KeyFileStore(settings.keys_dir)
    node = NodeContext(settings, sessions, mini_network, Planner(mini_network), keys)

    def at(moment: datetime, secret: str = SECRET) -> NodeContext:
        """The node with its clock at `moment` (and its secret key `secret`)."""
        other = settings.model_copy(update={"secret_key": SecretStr(secret)})
        return dataclasses.replace(node, settings=other, clock=lambda: moment)

    with unit_of_work(sessions) as session:
        OrganisationRepository(session).add(
            Organisation("almaty-logistics", "Almaty Logistics", "KZ", OrganisationKind.SHIPPER, T0)
        )
    operator = node_operator("kervan-test", "KZ")
    issued = create_client(at(T0).unit_of_work(), operator, NewCredential("almaty-logistics"))
    token = client_credentials_token(
        at(T0).unit_of_work(), ClientToken(issued.identifier, issued.secret)
    ).access_token
    bearer = Credentials(authorization=f"Bearer {token}")
    for minutes in (0, 1, 14):  # the same token, used again and again while it lives
        caller = caller_of(at(T0 + timedelta(minutes=minutes)), bearer)
        assert (caller.org_id, caller.country) == ("almaty-logistics", "KZ")
    with pytest.raises(AuthenticationError, match="expired"):
        caller_of(at(T0 + TOKEN_LIFETIME + timedelta(seconds=1)), bearer)
    with pytest.raises(AuthenticationError, match="refused"):
        caller_of(at(T0, OTHER_SECRET), bearer)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthenticationError, match="refused"):
        caller_of(at(T0), Credentials(authorization=f"Bearer {tampered}"))
    revoke_client(
        at(T0 + timedelta(minutes=2)).unit_of_work(),
        operator,
        RevokeCredential("almaty-logistics", issued.identifier),
    )
    with pytest.raises(AuthenticationError, match="revoked"):
        caller_of(at(T0 + timedelta(minutes=3)), bearer)

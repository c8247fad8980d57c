"""Tokens for the demonstration corridor's organisations (see kervan.services.demo_corridor)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kervan.services.access import node_operator
from kervan.services.credentials import NewCredential, create_client
from kervan.services.demo_corridor import CORRIDOR_ORGANISATIONS, register_corridor
from kervan.store.uow import UnitOfWork

__all__ = [
    "CORRIDOR_ORGANISATIONS",
    "UZBEK_TRUCK_TO_ISTANBUL",
    "Tokens",
    "register_corridor",
    "tokens_for",
]

#: The road route the truck tests book: an Uzbek truck Tashkent -> Istanbul, avoiding
#: Turkmenistan and Iran.
UZBEK_TRUCK_TO_ISTANBUL = {
    "origin": "Tashkent",
    "destination": "Istanbul",
    "unit": "truck",
    "truck_flag": "UZ",
    "avoid_countries": ["TM", "IR"],
    "alternatives": 1,
}


@dataclass
class Tokens:
    client: TestClient
    headers: dict[str, dict[str, str]]

    def __call__(self, org_id: str) -> dict[str, str]:
        return self.headers[org_id]


def tokens_for(client: TestClient, sessions: sessionmaker[Session]) -> Tokens:
    headers: dict[str, dict[str, str]] = {}
    operator = node_operator("kervan-test", "TR")
    issued = {
        org_id: create_client(UnitOfWork(sessions), operator, NewCredential(org_id))
        for org_id, *_ in CORRIDOR_ORGANISATIONS
    }
    for org_id, secret in issued.items():
        response = client.post(
            "/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": secret.identifier,
                "client_secret": secret.secret,
            },
        )
        assert response.status_code == 200, response.text
        headers[org_id] = {"authorization": f"Bearer {response.json()['access_token']}"}
    return Tokens(client, headers)

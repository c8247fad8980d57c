"""The organisations of a demonstration corridor, registered on a node, and their tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from kervan.services.access import create_client
from kervan.services.node import register_organisation
from kervan.store.db import unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.organisations import Organisation, OrganisationKind
from kervan.store.tables import OrganisationAddressRow

K = OrganisationKind
# id, name, country, kind, street, city
CORRIDOR_ORGANISATIONS: list[tuple[str, str, str, OrganisationKind, str, str]] = [
    (
        "xian-forwarding",
        "Xi'an International Land Port Forwarding",
        "CN",
        K.FORWARDER,
        "Gangwu Avenue 1",
        "Xi'an",
    ),
    ("tashkent-cotton", "Tashkent Cotton Export", "UZ", K.SHIPPER, "Amir Temur 15", "Tashkent"),
    ("istanbul-imports", "Istanbul Imports", "TR", K.CONSIGNEE, "Halkali Cd. 5", "Istanbul"),
    ("ktz-express", "KTZ Express", "KZ", K.CARRIER, "Kunayev 10", "Astana"),
    ("uz-trucking", "Uzbek Trucking", "UZ", K.CARRIER, "Bobur 3", "Tashkent"),
    (
        "uz-tir-association",
        "AIRCUZ (TIR association)",
        "UZ",
        K.GUARANTEE_CHAIN,
        "Shota Rustaveli 1",
        "Tashkent",
    ),
    (
        "kz-customs",
        "State Revenue Committee (customs)",
        "KZ",
        K.CUSTOMS_AUTHORITY,
        "Zhenis 11",
        "Astana",
    ),
    ("az-customs", "State Customs Committee", "AZ", K.CUSTOMS_AUTHORITY, "Inshaatchilar 2", "Baku"),
    (
        "ge-customs",
        "Revenue Service (customs)",
        "GE",
        K.CUSTOMS_AUTHORITY,
        "Vazha-Pshavela 16",
        "Tbilisi",
    ),
    (
        "tr-customs",
        "Ministry of Trade (customs)",
        "TR",
        K.CUSTOMS_AUTHORITY,
        "Sogutozu 1",
        "Ankara",
    ),
    ("tm-customs", "State Customs Service", "TM", K.CUSTOMS_AUTHORITY, "Archabil 1", "Ashgabat"),
    (
        "cn-customs",
        "General Administration of Customs",
        "CN",
        K.CUSTOMS_AUTHORITY,
        "Jianguomennei 6",
        "Beijing",
    ),
    (
        "tr-permits",
        "Ministry of Transport (permits)",
        "TR",
        K.PERMIT_AUTHORITY,
        "Hakki Turayliç 5",
        "Ankara",
    ),
    (
        "kz-permits",
        "Transport Committee (permits)",
        "KZ",
        K.PERMIT_AUTHORITY,
        "Kabanbay 32",
        "Astana",
    ),
    (
        "az-permits",
        "Ministry of Transport (permits)",
        "AZ",
        K.PERMIT_AUTHORITY,
        "Zarifa 33",
        "Baku",
    ),
    ("ge-permits", "Land Transport Agency", "GE", K.PERMIT_AUTHORITY, "Kazbegi 12", "Tbilisi"),
    ("uz-customs", "Customs Committee", "UZ", K.CUSTOMS_AUTHORITY, "Mustakillik 1", "Tashkent"),
    (
        "ministry-analyst",
        "OTS Transport Analysis Unit",
        "TR",
        K.ANALYST,
        "Sultanahmet 1",
        "Istanbul",
    ),
]


def register_corridor(sessions: sessionmaker[Session], keys: KeyFileStore) -> None:
    at = datetime.now(UTC)
    with unit_of_work(sessions) as session:
        for org_id, name, country, kind, street, city in CORRIDOR_ORGANISATIONS:
            register_organisation(session, keys, Organisation(org_id, name, country, kind, at), at)
            session.add(OrganisationAddressRow(org_id=org_id, street=street, city=city))


@dataclass
class Tokens:
    client: TestClient
    headers: dict[str, dict[str, str]]

    def __call__(self, org_id: str) -> dict[str, str]:
        return self.headers[org_id]


def tokens_for(client: TestClient, sessions: sessionmaker[Session]) -> Tokens:
    headers: dict[str, dict[str, str]] = {}
    with unit_of_work(sessions) as session:
        issued = {
            org_id: create_client(session, org_id, datetime.now(UTC))
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

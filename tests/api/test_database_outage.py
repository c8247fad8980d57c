"""A PostgreSQL connection lost under the node (restart, failover) is a 503 to retry, not a 500."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url

from kervan.api.app import create_app
from kervan.network.model import Network
from tests.api.conftest import node_settings
from tests.api.corridor_parties import register_corridor, tokens_for
from tests.databases import admin_sql, migrated_database


@pytest.mark.postgres
def test_requests_after_the_server_dropped_the_connections_get_503_then_succeed(
    tmp_path: Path, shipped_network: Network
) -> None:
    name = f"kervan-outage-{uuid.uuid4().hex[:12]}"
    with migrated_database("postgresql", tmp_path) as schema_url:
        url = make_url(schema_url).update_query_dict({"application_name": name})
        settings = node_settings(url.render_as_string(hide_password=False), tmp_path)
        app = create_app(settings, network=shipped_network)
        register_corridor(app.state.sessions, app.state.node.keys)
        with TestClient(app) as client:
            tokens = tokens_for(client, app.state.sessions)
            shipper = tokens("tashkent-cotton")
            assert client.get("/v1/shipments", headers=shipper).status_code == 200
            # The database server drops every connection the node holds.
            admin_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE application_name = '{name}'"
            )
            lost = client.get("/v1/shipments", headers=shipper)
            assert lost.status_code == 503
            assert lost.headers["content-type"] == "application/problem+json"
            assert lost.headers["retry-after"] == "1"
            assert lost.json()["code"] == "database_unavailable"
            # The pool opened fresh connections: the next request is served.
            again = client.get("/v1/shipments", headers=shipper)
            assert again.status_code == 200
            assert again.json() == client.get("/v1/shipments", headers=shipper).json()
        app.state.engine.dispose()

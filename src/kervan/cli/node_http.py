"""The node process's own HTTP port: `/health`, `/ready` and Prometheus `/metrics`.

`/health` answers while the process runs; `/ready` only while every node of the process can
reach its database and its broker (503 otherwise, with what is missing); `/metrics` holds the
exchange metrics (kervan.exchange.metrics). The server runs in the node's event loop; the
node process handles its own signals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Sequence

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kervan.exchange.metrics import node_registry
from kervan.exchange.node import Node
from kervan.exchange.status import outbox_lag
from kervan.store.db import read_only


def probe_app(nodes: Sequence[Node]) -> FastAPI:
    """The node process's health, readiness and metrics endpoints."""
    app = FastAPI(title="Kervan node", openapi_url=None, docs_url=None, redoc_url=None)
    registry = node_registry(nodes)
    codes = [node.authority for node in nodes]

    @app.get("/health")
    def health() -> dict[str, object]:
        return {"status": "ok", "authorities": codes}

    @app.get("/ready")
    def ready() -> JSONResponse:
        missing: list[str] = []
        for node in nodes:
            try:
                with read_only(node.sessions) as session:
                    outbox_lag(session, node.authority)
            except Exception as exc:
                missing.append(f"{node.authority}: database unreachable ({type(exc).__name__})")
            if not node.broker_connected():
                missing.append(f"{node.authority}: broker unreachable")
        status = 503 if missing else 200
        body = {"status": "not ready" if missing else "ready", "authorities": codes}
        if missing:
            body["missing"] = missing
        return JSONResponse(body, status_code=status)

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


class ProbeServer(uvicorn.Server):
    """uvicorn serving the probe app inside the node's loop, leaving signals to the node."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Leave SIGINT and SIGTERM to the node process (it stops its loops first)."""
        yield


def probe_server(nodes: Sequence[Node], listen: str) -> ProbeServer:
    """A server for `probe_app(nodes)` on `listen` ("host:port")."""
    host, _, port = listen.rpartition(":")
    config = uvicorn.Config(
        probe_app(nodes),
        host=host or "127.0.0.1",
        port=int(port),
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    return ProbeServer(config)

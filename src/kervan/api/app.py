"""The FastAPI application: one factory for the node's HTTP API (and, later, its web pages).

`create_app(settings)` connects to the node's database (refusing an unmigrated one with the
message to run `kervan db upgrade`), loads the corridor network, and wires the middleware:
request ids with JSON access logs, a body size limit, per-client rate limits (counted after
authentication), a guard refusing control characters in any text, problem+json errors, security
headers on every answer and Prometheus metrics (for a scraper presenting the node's metrics
token). It logs the node's environment and where its token secret came from.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from anyio import to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from kervan import __version__
from kervan.api import docs, problems
from kervan.api.metrics import CONTENT_TYPE_LATEST, ApiMetrics
from kervan.api.middleware import (
    BodySizeLimit,
    JsonFormatter,
    LedgerSettled,
    RateLimit,
    RequestContext,
    SecurityHeaders,
)
from kervan.api.openapi import document_problems
from kervan.api.routes import (
    access,
    corridor_log,
    customs,
    documents,
    efti,
    observatory,
    permits,
    planning,
    shipments,
    tir,
)
from kervan.api.text_guard import ControlCharacterGuard
from kervan.documents.goods import hs2022_subheadings
from kervan.errors import LedgerIntegrityError
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.services.audit import startup_audit
from kervan.services.ledger_sequencer import LedgerSequencer
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.services.throttle import TokenBucket
from kervan.settings import Settings, get_settings
from kervan.store.db import make_session_factory, unit_of_work
from kervan.store.node_files import node_keys
from kervan.store.schema import connect_migrated
from kervan.store.uow import UnitOfWork
from kervan.web import install as install_web

log = logging.getLogger("kervan.api")


@dataclass(frozen=True)
class Limits:
    """Request limits: body size and the token bucket of each client (or of each address, for
    requests that prove no client)."""

    max_body_bytes: int = 1_000_000
    requests_per_second: float = 200.0
    burst: float = 400.0


def configure_logging(level: int = logging.INFO) -> None:
    """Structured JSON logs on stderr for the kervan loggers."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("kervan", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def create_app(
    settings: Settings | None = None,
    *,
    network: Network | None = None,
    engine: Engine | None = None,
    limits: Limits | None = None,
) -> FastAPI:
    """Build the node's app. Raises DatabaseNotMigratedError for an unmigrated database."""
    settings = settings or get_settings()
    limits = limits or Limits()
    engine = engine or connect_migrated(settings.resolved_database_url)
    network = network or load_network()
    hs2022_subheadings()  # read the HS table now, not in the first requests that check goods
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Requests run in a thread pool; its size is the node's setting (see Settings).
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        sweeper = asyncio.create_task(_sweep_ledger(app.state.node.sequencer))
        try:
            yield
        finally:
            sweeper.cancel()
            engine.dispose()

    app = FastAPI(
        title="Kervan",
        version=__version__,
        summary="Open Digital Trade Corridor for the Middle Corridor",
        description=(
            "Plan multimodal routes on the Middle Corridor, book shipments, issue and sign their "
            "e-CMR, e-TIR, e-Permit and CIM/SMGS documents, and verify them. Errors are "
            "RFC 9457 problem+json with a machine `code`."
        ),
        lifespan=lifespan,
        # The node exports its own Prometheus metrics and JSON logs; FastAPI's OpenTelemetry
        # hooks would look the providers up in the environment on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # Served from the package's vendored scripts instead (api.docs): FastAPI's load a CDN.
        docs_url=None,
        redoc_url=None,
    )
    sessions = make_session_factory(engine)
    keys = node_keys(settings)
    with unit_of_work(sessions) as session:
        ensure_node_organisation(session, keys, settings)
    _audit_at_start(settings, sessions, engine)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.network = network
    app.state.planner = Planner(network)
    app.state.node = NodeContext(settings, sessions, network, app.state.planner, keys)
    app.state.node.load_ledger()
    bucket = TokenBucket(rate=limits.requests_per_second, burst=limits.burst)
    app.state.node.request_rate = bucket
    log.info(
        "node starting",
        extra={
            "environment": settings.environment.value,
            "node_id": settings.node_id,
            "token_secret": settings.secret_origin,
            "data_dir": str(settings.resolved_data_dir),
        },
    )
    app.state.metrics = metrics
    problems.install(app)
    document_problems(app)
    for module in (
        planning,
        access,
        shipments,
        documents,
        efti,
        corridor_log,
        permits,
        tir,
        customs,
        observatory,
    ):
        app.include_router(module.router)
    install_web(app)
    docs.install(app)
    _install_health(app, engine)
    scrape_token = f"Bearer {settings.metrics_token_value()}".encode()

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        # Only the node's scraper: the figures show who uses the node and how much.
        given = request.headers.get("authorization", "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, scrape_token):
            raise problems.ProblemError(
                401,
                "unauthorized",
                "send Authorization: Bearer <the node's metrics token> (KERVAN_METRICS_TOKEN, "
                "or the metrics_token file in the data directory)",
            )
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(LedgerSettled, sequencer=app.state.node.sequencer)
    app.add_middleware(ControlCharacterGuard)
    app.add_middleware(RateLimit, bucket=bucket, exempt=("/health", "/ready", "/metrics"))
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(RequestContext, observe=metrics.observe)
    app.add_middleware(SecurityHeaders)
    return app


def _audit_at_start(settings: Settings, sessions: sessionmaker[Session], engine: Engine) -> None:
    """A node re-verifies its store before it serves it (services.audit); LedgerIntegrityError
    (the engine disposed) when it does not verify and the operator did not say to serve it."""
    try:
        startup_audit(
            UnitOfWork(sessions),
            log_id=settings.node_id,
            serve_unverified=settings.serve_unverified_ledger,
        )
    except LedgerIntegrityError:
        engine.dispose()
        raise


#: Seconds between the node's looks for ledger events left pending (a failed batch, a crash).
LEDGER_SWEEP_SECONDS = 5.0


async def _sweep_ledger(sequencer: LedgerSequencer) -> None:
    """Carry events left pending into the ledger: at start-up, then every few seconds."""
    while True:
        try:
            await to_thread.run_sync(sequencer.sweep_if_pending)
        except Exception:
            log.exception("sweeping pending ledger events failed; trying again later")
        await asyncio.sleep(LEDGER_SWEEP_SECONDS)


def _install_health(app: FastAPI, engine: Engine) -> None:
    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/ready", tags=["operations"], responses={503: {"description": "Not ready"}})
    def ready() -> JSONResponse:
        """Readiness: the database answers and the network is loaded."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("not ready", extra={"error": str(exc)})
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        nodes = len(app.state.network.nodes)
        return JSONResponse({"status": "ready", "database": "ok", "network_nodes": nodes})

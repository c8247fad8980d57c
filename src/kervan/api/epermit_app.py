"""`kervan epermit serve`: a permit authority's face on the e-Permit network.

A separate app (and port) from `kervan serve`, because the protocol's public paths sit at the
root (`GET /` is the authority's keys, not the web interface) and because partner authorities
reach it through their own network path. It serves, for the permit authority `org_id` of this
node's database:

- `GET /` (code, name, version, keys), `POST /events/{quota-created, permit-created,
  permit-used, permit-revoked, key-created, key-revoked}`, `GET /verify/{qr}`: the standard;
- `GET /border-bundle`: Kervan's own addition, the signed revocation list and issuer keys a
  border device holds to check permits offline (`kervan epermit border sync`);
- `GET /metrics`: delivery counters, dead letters among them (Prometheus).

A delivery loop in the same process sends the authority's outbox to its partners every
`deliver_every` seconds (retrying unreachable partners with back-off, setting refused events
aside as dead letters). The API process (`kervan serve`) and this one share the database: what
a use case writes to the outbox there is delivered from here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from anyio import to_thread
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine

from kervan import __version__
from kervan.api.middleware import BodySizeLimit
from kervan.errors import KervanError
from kervan.exchange.epermit_peer.client import DeadLetter, DeliveryReport
from kervan.exchange.epermit_peer.peer import Accepted
from kervan.exchange.epermit_peer.router import PeerFace, epermit_router
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.services.epermit_border import border_bundle
from kervan.services.epermit_network import (
    AuthorityRef,
    Delivery,
    PartnerQr,
    PostedEvent,
    deliver_events,
    describe_authority,
    receive_event,
    verify_for_partner,
)
from kervan.services.node import Clock, NodeContext, utc_now
from kervan.settings import Settings, get_settings
from kervan.store.db import make_session_factory
from kervan.store.node_files import node_keys
from kervan.store.schema import connect_migrated

log = logging.getLogger("kervan.epermit")

#: A partner's event is a few kilobytes; anything far larger is not one.
MAX_EVENT_BYTES = 256_000


class DeliveryMetrics:
    """Counters of the delivery loop on the app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.delivered = Counter(
            "kervan_epermit_events_delivered",
            "e-Permit events partners accepted",
            ["partner"],
            registry=self.registry,
        )
        self.dead = Counter(
            "kervan_epermit_dead_letters",
            "e-Permit events partners refused (set aside as dead letters)",
            ["partner", "error_code"],
            registry=self.registry,
        )
        self.waiting = Counter(
            "kervan_epermit_delivery_retries",
            "Delivery rounds in which a partner could not be reached",
            ["partner"],
            registry=self.registry,
        )

    def dead_letter(self, letter: DeadLetter) -> None:
        """Count (and so alert on) an event a partner refused."""
        self.dead.labels(letter.consumer, letter.error_code).inc()

    def round(self, report: DeliveryReport) -> None:
        """Count one delivery round's outcome."""
        for partner, count in report.delivered_to.items():
            self.delivered.labels(partner).inc(count)
        for partner in report.failed:
            self.waiting.labels(partner).inc()


def create_epermit_app(
    org_id: str,
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    network: Network | None = None,
    deliver_every: float = 2.0,
    http: httpx.Client | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The e-Permit app of permit authority `org_id` (see the module). `deliver_every` <= 0
    runs no delivery loop (deliver with `kervan epermit deliver`)."""
    settings = settings or get_settings()
    engine = engine or connect_migrated(settings.resolved_database_url)
    network = network or load_network()
    sessions = make_session_factory(engine)
    node = NodeContext(settings, sessions, network, Planner(network), node_keys(settings), clock)
    metrics = DeliveryMetrics()
    client = http or httpx.Client(timeout=httpx.Timeout(10.0))
    ref = AuthorityRef(org_id)

    def deliver_once() -> DeliveryReport:
        report = deliver_events(
            node.unit_of_work(), Delivery(org_id, client, on_dead_letter=metrics.dead_letter)
        )
        metrics.round(report)
        return report

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        describe_authority(node.unit_of_work(), ref)  # refuse to start for a non-authority
        task = asyncio.create_task(_deliver_forever(deliver_once, deliver_every))
        try:
            yield
        finally:
            task.cancel()
            if http is None:
                client.close()

    app = FastAPI(
        title=f"e-Permit authority {org_id}",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )

    def receive(path: str, body: bytes, authorization: str | None) -> Accepted:
        return receive_event(node.unit_of_work(), PostedEvent(org_id, path, body, authorization))

    def verify(qr: str) -> dict[str, Any]:
        return verify_for_partner(node.unit_of_work(), PartnerQr(org_id, qr))

    face = PeerFace(
        describe=lambda: describe_authority(node.unit_of_work(), ref),
        receive=receive,
        verify=verify,
        now=node.clock,
        code=org_id,
    )
    app.include_router(epermit_router(face))

    @app.get("/border-bundle", tags=["border devices"])
    def bundle() -> JSONResponse:
        """The signed border bundle (revocation list and issuer keys) for offline checks."""
        try:
            return JSONResponse({"bundle": border_bundle(node.unit_of_work(), ref)})
        except KervanError as exc:
            return JSONResponse({"error": exc.code, "message": exc.message}, exc.http_status)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.state.deliver_once = deliver_once
    app.state.metrics = metrics
    app.add_middleware(BodySizeLimit, max_bytes=MAX_EVENT_BYTES)
    return app


async def _deliver_forever(deliver: Any, every: float) -> None:
    """Deliver the outbox every `every` seconds until cancelled (never, for `every` <= 0)."""
    if every <= 0:
        return
    while True:
        try:
            await to_thread.run_sync(deliver)
        except Exception:
            log.exception("e-Permit delivery round failed; trying again later")
        await asyncio.sleep(every)

"""A live node for browser tests: uvicorn on 127.0.0.1 (free port) over a migrated SQLite database,
and Debian's chromium driven by Playwright, recording every request the pages make.

chromium missing: the browser tests skip with the reason, except under CI=true, where they fail
(`make browser` installs it).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from kervan.api.app import create_app
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.services.access import node_operator
from kervan.services.credentials import NewPerson, create_user
from kervan.services.demo_corridor import (
    CORRIDOR_ORGANISATIONS,
    SeededShipment,
    register_corridor,
    seed_shipments,
)
from kervan.services.node import NodeContext
from tests.api.conftest import node_settings
from tests.databases import migrated_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LOCAL_SCHEMES = ("data:", "about:", "blob:")


@pytest.fixture(scope="session")
def web_network() -> Network:
    return load_network()


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve `app` from a background thread on a free port; yields "http://127.0.0.1:PORT"."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="kervan-web", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web node did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, web_network: Network) -> Iterator[str]:
    """The node's base URL ("http://127.0.0.1:PORT"), served from a background thread."""
    folder = tmp_path_factory.mktemp("web-node")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        with serve(app) as base_url:
            yield base_url


def require_chromium() -> None:
    """Skip (or fail under CI=true) when Debian's chromium is not installed."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs the browser: {reason}")
    pytest.skip(reason)


@dataclass
class RequestLog:
    """Every URL the browser asked for while the test ran."""

    base_url: str
    urls: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        """Requests that would leave the machine (anything but this node and local schemes)."""
        return [
            url
            for url in self.urls
            if not (url.startswith((f"{self.base_url}/", *LOCAL_SCHEMES)) or url == self.base_url)
        ]


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def password_of(org_id: str) -> str:
    """The test password of the person (username = organisation id) seeded for `org_id`."""
    return f"{org_id}-pass-2026"


def seed_corridor(app: FastAPI) -> list[SeededShipment]:
    """The demonstration corridor on the node, through the services: every organisation with
    its keys and address, one person per organisation (create_user, username = organisation
    id), and shipments at different stages (one in transit at the Azerbaijani border, one
    delivered, one Uzbek truck just booked with its e-Permit requests)."""
    ctx: NodeContext = app.state.node
    now = datetime.now(UTC)
    # Keys valid from well before the seeded shipments' dates (a permit's QR is dated from its
    # day of issue, which a key registered later that day would not cover).
    registered = now - timedelta(days=60)
    register_corridor(ctx.sessions, ctx.keys, registered)
    operator = node_operator(ctx.settings.node_id, ctx.settings.node_country)
    for org_id, name, *_ in CORRIDOR_ORGANISATIONS:
        person = NewPerson(org_id, org_id, password_of(org_id), f"{name} (test)")
        create_user(ctx.unit_of_work(), operator, person)
    return seed_shipments(ctx)


@pytest.fixture(scope="session")
def corridor_server(
    tmp_path_factory: pytest.TempPathFactory, web_network: Network
) -> Iterator[tuple[str, list[SeededShipment]]]:
    """A seeded node served on 127.0.0.1 for the browser journeys: (base URL, seeded)."""
    folder = tmp_path_factory.mktemp("web-corridor")
    with migrated_database("sqlite", folder) as url:
        app = create_app(node_settings(url, folder), network=web_network)
        seeded = seed_corridor(app)
        with serve(app) as base_url:
            yield base_url, seeded

"""`make demo`: a demonstration corridor on the embedded default, nothing to set up.

It shows the planner answering what a shipper asks, then starts a node on a fresh SQLite file
with the member states' organisations (customs, permit authorities, carriers, shippers), a person
to log in as for each, and shipments at different stages, and serves the API and the web pages.

    python -m kervan.demo [--no-serve] [--port 8000] [--data-dir var/demo]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from kervan.cli import app as cli
from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.demo_corridor import create_people, register_corridor, seed_shipments
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.settings import Environment, Settings
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.schema import upgrade

console = Console()

TOUR: list[tuple[str, list[str]]] = [
    (
        "Two containers Xi'an -> Duisburg without crossing Russia or Belarus",
        ["route", "Xi'an", "Duisburg", "--avoid", "RU", "--avoid", "BY", "--alternatives", "2"],
    ),
    (
        "An Uzbek truck Tashkent -> Istanbul: e-CMR, e-TIR and an e-Permit per country entered",
        [
            "route",
            "Tashkent",
            "Istanbul",
            "--unit",
            "truck",
            "--truck-flag",
            "UZ",
            "--alternatives",
            "1",
        ],
    ),
    (
        "Kashgar -> Tashkent in 2031, with the China-Kyrgyzstan-Uzbekistan railway open",
        [
            "route",
            "Kashgar",
            "Tashkent",
            "--year",
            "2031",
            "--avoid-mode",
            "road",
            "--alternatives",
            "1",
        ],
    ),
]


def tour() -> None:
    """The planner on the shipped corridor network, as a shipper would ask it."""
    for title, args in TOUR:
        console.print(Rule(f"[bold]{title}"))
        console.print(f"[dim]$ kervan {' '.join(args)}[/]", highlight=False)
        cli(args, standalone_mode=False)


def seed(settings: Settings) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Migrate a fresh database and fill it with the demonstration corridor."""
    url = settings.resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    keys = KeyFileStore(settings.keys_dir)
    with unit_of_work(sessions) as session:
        ensure_node_organisation(session, keys, settings)
    register_corridor(sessions, keys)
    passwords = create_people(sessions)
    network = load_network()
    ctx = NodeContext(settings, sessions, network, Planner(network), keys)
    shipments = [(s.id, s.description, s.stage) for s in seed_shipments(ctx)]
    engine.dispose()
    return passwords, shipments


def main() -> None:
    parser = argparse.ArgumentParser(description="Kervan demonstration corridor")
    parser.add_argument("--no-serve", action="store_true", help="seed and print, do not serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    args = parser.parse_args()

    tour()
    shutil.rmtree(args.data_dir, ignore_errors=True)
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=args.data_dir)
    console.print(Rule("[bold]A demonstration corridor node"))
    passwords, shipments = seed(settings)
    people = Table(title="Log in as (passwords are new each run)")
    for column in ("organisation / username", "password"):
        people.add_column(column)
    for org_id, password in passwords.items():
        people.add_row(org_id, password)
    console.print(people)
    booked = Table(title="Shipments on the node")
    for column in ("shipment", "what", "stage"):
        booked.add_column(column)
    for row in shipments:
        booked.add_row(*row)
    console.print(booked)
    base = f"http://{args.host}:{args.port}"
    console.print(
        f"Planner and map: {base}/   API docs: {base}/docs   OpenAPI: {base}/openapi.json\n"
        f"Border console: {base}/console (log in as kz-customs or az-customs)   "
        f"Verify a QR: {base}/verify   Metrics: {base}/metrics\n"
        f"Data: {settings.resolved_data_dir} (SQLite, key files under keys/)",
        highlight=False,
    )
    if args.no_serve:
        return
    import uvicorn  # noqa: PLC0415 (only serving needs it)

    from kervan.api.app import configure_logging, create_app  # noqa: PLC0415

    configure_logging()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()

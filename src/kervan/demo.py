"""`make demo`: a demonstration corridor on the embedded default, nothing to set up.

It shows the planner answering what a shipper asks, then starts a node on a fresh SQLite file
with the member states' organisations (customs, permit authorities, carriers, shippers), a person
to log in as for each, and shipments at different stages, and serves the API and the web pages.

    python -m kervan.demo [--no-serve] [--port 8000] [--data-dir var/demo]
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from kervan.cli import app as cli
from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.demo_corridor import (
    CORRIDOR_ORGANISATIONS,
    create_people,
    register_corridor,
    seed_shipments,
)
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.settings import Environment, Settings
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.node_files import node_keys
from kervan.store.repositories.organisations import OrganisationKind
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
    keys = node_keys(settings)
    with unit_of_work(sessions) as session:
        ensure_node_organisation(session, keys, settings)
    register_corridor(sessions, keys)
    passwords = create_people(sessions)
    network = load_network()
    ctx = NodeContext(settings, sessions, network, Planner(network), keys)
    shipments = [(s.id, s.description, s.stage) for s in seed_shipments(ctx)]
    engine.dispose()
    return passwords, shipments


#: The customs login whose border console opens on cargo to release now.
CONSOLE_LOGIN = "az-customs"
#: The permit authority whose desk holds the booked truck's permit requests and the quotas.
PERMIT_DESK_LOGIN = "uz-permits"


@dataclass(frozen=True)
class DemoPage:
    """A page of the demo node: what it is, its path, and who uses it."""

    name: str
    path: str
    who: str


PAGES: tuple[DemoPage, ...] = (
    DemoPage("Planner and map", "/", "anyone: routes, times, costs, CO2 and documents"),
    DemoPage("Log in", "/login", "the people above"),
    DemoPage("Shipments", "/shipments", "shippers, forwarders, carriers, consignees"),
    DemoPage("Book a shipment", "/shipments/book", "shippers and forwarders, from a plan"),
    DemoPage("Border console", "/console", "customs officers"),
    DemoPage("Permit desk", "/permits", "permit authorities"),
    DemoPage("Observatory", "/observatory", "analysts: KPIs from the node's records"),
    DemoPage("Verify", "/verify", "anyone, no login: a permit QR or a document's evidence"),
    DemoPage("API docs", "/docs", "developers: the /v1 API (OpenAPI at /openapi.json)"),
)

#: What to try first, for the logins the demo's story runs through.
FIRST_STEPS: dict[str, str] = {
    CONSOLE_LOGIN: "Border console: release the container that arrived 3 hours ago (first item)",
    PERMIT_DESK_LOGIN: "Permit desk: issue the Uzbek truck's four e-Permits from the quotas",
    "xian-forwarding": "Shipments: the two containers and their CIM/SMGS notes; book another",
    "tashkent-cotton": "Shipments: the Uzbek truck just booked; sign its e-CMR (issue)",
    "uz-trucking": "Shipments: the truck's e-CMR, e-TIR and e-Permit requests",
    "ktz-express": "Shipments: the containers it carries and their signed notes",
    "istanbul-imports": "Shipments: the delivered container and its signed delivery",
    "uz-tir-association": "Shipments: the truck's e-TIR, waiting for its guarantee",
    "ministry-analyst": "Observatory: crossings and dwell times from the seeded events",
    "ge-customs": "Border console: the container coming from Azerbaijan, in its lane",
    "tr-customs": "Border console: the container coming from Georgia, in its lane",
}
#: What to try first for any other login, by its kind.
FIRST_STEP_BY_KIND: dict[OrganisationKind, str] = {
    OrganisationKind.CUSTOMS_AUTHORITY: "Border console: empty until the truck is taken over",
    OrganisationKind.PERMIT_AUTHORITY: "Permit desk: add a quota a partner granted",
}
LANDING_HINT = "Shipments: the ones it takes part in"


@dataclass(frozen=True)
class DemoLogin:
    """A person to log in as (username = organisation id), their role and a first thing to do."""

    username: str
    password: str
    role: str
    try_first: str


def demo_logins(passwords: dict[str, str]) -> list[DemoLogin]:
    """Every seeded login, those the demo's story runs through first."""
    logins = []
    for org_id, _, country, kind, *_ in CORRIDOR_ORGANISATIONS:
        if org_id not in passwords:
            continue
        role = f"{kind.value.replace('_', ' ')}, {country}"
        step = FIRST_STEPS.get(org_id) or FIRST_STEP_BY_KIND.get(kind, LANDING_HINT)
        logins.append(DemoLogin(org_id, passwords[org_id], role, step))
    story = list(FIRST_STEPS)
    return sorted(logins, key=lambda x: story.index(x.username) if x.username in story else 99)


def print_orientation(
    out: Console,
    base: str,
    passwords: dict[str, str],
    shipments: list[tuple[str, str, str]],
    data_dir: Path,
) -> None:
    """Where the demo node is, who to log in as and what to try, its pages and shipments."""
    out.print(Rule(f"[bold]The demo corridor node: {base}"))
    people = Table(title="Log in as (username = organisation; passwords are new each run)")
    people.add_column("username", no_wrap=True)
    people.add_column("password", no_wrap=True)  # copied as it is: never wrapped or cut
    people.add_column("role")
    people.add_column("try first")
    for login in demo_logins(passwords):
        people.add_row(login.username, login.password, login.role, login.try_first)
    out.print(people)
    pages = Table(title=f"Pages (paths under {base})")
    pages.add_column("page")
    pages.add_column("path", no_wrap=True)
    pages.add_column("for")
    for page in PAGES:
        pages.add_row(page.name, page.path, page.who)
    out.print(pages)
    booked = Table(title="Shipments on the node")
    for column in ("shipment", "what", "stage"):
        booked.add_column(column)
    for row in shipments:
        booked.add_row(*row)
    out.print(booked)
    out.print(
        f"Open {base}/login and log in as {CONSOLE_LOGIN} for the border console or "
        f"{PERMIT_DESK_LOGIN} for the permit desk. Data: {data_dir} (SQLite, key files under "
        "keys/)",
        highlight=False,
    )


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
    passwords, shipments = seed(settings)
    base = f"http://{args.host}:{args.port}"
    print_orientation(console, base, passwords, shipments, settings.resolved_data_dir)
    if args.no_serve:
        return
    import uvicorn  # noqa: PLC0415 (only serving needs it)

    from kervan.api.app import configure_logging, create_app  # noqa: PLC0415

    configure_logging()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()

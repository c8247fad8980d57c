"""The `kervan` command: the Typer app, its command groups, and every command registered.

Each command lives in the module of its group (planning, verify, observatory, exchange, serve,
exports, admin) and imports what it works with inside its function, so starting `kervan` loads
Typer and the commands' signatures only. The set-up groups (db, org, client, key, user) take
types from the store in their signatures; their commands load when one of those groups runs.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup
from typer.main import get_group

# Command modules import only Typer and light enums at their top, the rest inside each command:
# --help 5.3 -> 0.23 s median, route 5.9 -> 2.1 s (cached bytecode, load ~8; bench/cli_startup.py).
from kervan.cli import audit, exchange, exports, observatory, planning, serve, verify
from kervan.cli.errors import report
from kervan.documents.control_characters import first_control
from kervan.errors import InvalidRequestError


def _lazy_group(module: str, attribute: str) -> type[TyperGroup]:
    """A group class whose commands are the Typer app `module.attribute`, imported the first
    time the group lists or looks up a command (its own help text needs no import)."""

    class LazyGroup(TyperGroup):
        def _load(self) -> None:
            if not self.commands:
                commands = getattr(importlib.import_module(module), attribute)
                self.commands.update(get_group(commands).commands)

        def list_commands(self, ctx: Any) -> list[str]:
            self._load()
            return super().list_commands(ctx)

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            self._load()
            return super().get_command(ctx, cmd_name)

    return LazyGroup


class GuardedGroup(TyperGroup):
    """The root group: refuses an argument holding a control character before any command
    runs (a text reaching the database may not hold one; kervan.documents.text)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        for position, argument in enumerate(args, start=1):
            character = first_control(argument, lines=False)
            if character is not None:
                option = (
                    args[position - 2] if position > 1 and args[position - 2][:1] == "-" else ""
                )
                where = f"{option} " if option else ""
                raise report(
                    InvalidRequestError(
                        f"argument {position} ({where}{argument!r}) holds the control character "
                        f"{character}; arguments may not hold control characters"
                    )
                )
        parsed: list[str] = super().parse_args(ctx, args)
        return parsed


# Plain (click) help, not Typer's Rich panels (typer.rich_utils): --help 0.45 -> 0.23 s median
# with cached bytecode, A/B in one run of bench/cli_startup.py's measurement at load ~7.
app = typer.Typer(
    help="Kervan: the Middle Corridor's digital trade corridor.",
    no_args_is_help=True,
    rich_markup_mode=None,
    cls=GuardedGroup,
)

app.command("route")(planning.route)
app.command("places")(planning.places)
app.command("verify")(verify.verify)
app.command("simulate")(observatory.simulate)
app.command("compare")(observatory.compare_scenarios)
app.command("kpis")(observatory.kpis)
app.command("targets")(observatory.targets)
app.command("serve")(serve.serve)
app.command("node")(exchange.node)
app.command("audit")(audit.audit)

network_app = typer.Typer(
    help="Inspect and validate the corridor network.", no_args_is_help=True, rich_markup_mode=None
)
network_app.command("validate")(planning.validate)
network_app.command("stats")(planning.stats)
network_app.command("check-plans")(planning.check_plans)
app.add_typer(network_app, name="network")
app.add_typer(exports.evidence_app, name="evidence")
app.add_typer(exports.trust_list_app, name="trust-list")
app.add_typer(exports.document_app, name="document")

# The set-up groups load kervan.cli.admin (the store, the services) only when invoked: loaded
# eagerly, --help took 3.5 s instead of 0.23 s (A/B, bench/cli_startup.py's measurement).
for name, help_text in (
    ("db", "The node's database."),
    ("org", "Organisations using this node."),
    ("client", "OAuth2 clients (machine access)."),
    ("key", "API keys."),
    ("user", "People who log in to the web interface."),
):
    app.add_typer(
        typer.Typer(
            help=help_text,
            no_args_is_help=True,
            rich_markup_mode=None,
            cls=_lazy_group("kervan.cli.admin", f"{name}_app"),
        ),
        name=name,
    )

for name, attribute, help_text in (
    ("log", "log_app", "This node's log: checkpoints, witnesses, co-signatures."),
    ("witness", "witness_app", "This node as a witness of other national nodes' logs."),
):
    app.add_typer(
        typer.Typer(
            help=help_text,
            no_args_is_help=True,
            rich_markup_mode=None,
            cls=_lazy_group("kervan.cli.corridor_log", attribute),
        ),
        name=name,
    )


for name, module, help_text in (
    ("messages", "kervan.cli.messages", "A node's held, refused and dead-lettered messages."),
    ("corridor", "kervan.cli.corridor", "A corridor of nodes: topology, trust list, NATS."),
):
    app.add_typer(
        typer.Typer(
            help=help_text,
            no_args_is_help=True,
            rich_markup_mode=None,
            cls=_lazy_group(module, f"{name}_app"),
        ),
        name=name,
    )


app.add_typer(
    typer.Typer(
        help="A permit authority on the e-Permit network (serve, partners, quotas, border).",
        no_args_is_help=True,
        rich_markup_mode=None,
        cls=_lazy_group("kervan.cli.epermit", "epermit_app"),
    ),
    name="epermit",
)


def main() -> None:
    """Entry point for `python -m kervan`."""
    app()

"""The `kervan` command: the Typer app, its command groups, and every command registered.

Each command lives in the module of its group (planning, verify, observatory, exchange, serve,
admin) and imports what it works with inside its function, so starting `kervan` loads Typer and
the commands' signatures only. The set-up groups (db, org, client, key, user) take types from the
store in their signatures; their commands are loaded when one of those groups is invoked.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup
from typer.main import get_group

from kervan.cli import exchange, exports, observatory, planning, serve, verify


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


# Plain (click) help instead of Typer's Rich panels: rendering them imports typer.rich_utils,
# which alone took longer than the whole `kervan --help` budget (bench/cli_startup.py).
app = typer.Typer(
    help="Kervan: the Middle Corridor's digital trade corridor.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

app.command("route")(planning.route)
app.command("places")(planning.places)
app.command("verify")(verify.verify)
app.command("simulate")(observatory.simulate)
app.command("compare")(observatory.compare_scenarios)
app.command("kpis")(observatory.kpis)
app.command("serve")(serve.serve)
app.command("node")(exchange.node)

network_app = typer.Typer(
    help="Inspect and validate the corridor network.", no_args_is_help=True, rich_markup_mode=None
)
network_app.command("validate")(planning.validate)
network_app.command("stats")(planning.stats)
app.add_typer(network_app, name="network")
app.add_typer(exports.evidence_app, name="evidence")
app.add_typer(exports.trust_list_app, name="trust-list")

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


def main() -> None:
    """Entry point for `python -m kervan`."""
    app()

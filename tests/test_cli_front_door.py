"""The command line's front door: every command and group is listed, and listing them or asking
for a command's help loads none of the heavy libraries the commands work with (no timings: what
is imported is checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from kervan.cli import app

HEAVY = ("numpy", "scipy", "pydantic", "sqlalchemy", "alembic", "fastapi", "simpy", "rich")
COMMANDS = [
    "route", "places", "verify", "simulate", "compare", "kpis", "targets", "serve", "node", "audit",
]  # fmt: skip
GROUPS = [
    "network", "evidence", "trust-list", "document", "db", "org", "client", "key", "user", "log",
    "witness", "messages", "corridor", "epermit",
]  # fmt: skip


def heavy_modules_after(*args: str) -> list[str]:
    code = (
        "import json, sys\n"
        "from kervan.cli import app\n"
        f"app({list(args)!r}, standalone_mode=False)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_help_lists_every_command_and_group_in_order() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    listed = [
        line.split()[0]
        for line in result.output.split("Commands:")[1].splitlines()
        if line.startswith("  ") and line.strip()
    ]
    assert listed == COMMANDS + GROUPS


def test_help_loads_no_heavy_library() -> None:
    assert heavy_modules_after("--help") == []


def test_a_commands_help_loads_no_heavy_library_of_ours() -> None:
    # Typer itself reads a command's parameters through pydantic once the command is chosen.
    assert heavy_modules_after("route", "--help") in ([], ["pydantic"])
    assert heavy_modules_after("evidence", "export", "--help") in ([], ["pydantic"])
    assert heavy_modules_after("document", "export", "--help") in ([], ["pydantic"])


def test_set_up_groups_load_their_commands_when_invoked() -> None:
    runner = CliRunner()
    org = runner.invoke(app, ["org", "--help"])
    assert org.exit_code == 0
    assert "Organisations using this node." in org.output
    assert "create" in org.output.split("Commands:")[1]
    create = runner.invoke(app, ["org", "create", "--help"])
    assert create.exit_code == 0
    assert "customs_authority" in create.output  # the kinds offered, from the store's enum
    for group, command in (("db", "upgrade"), ("client", "create"), ("key", "create")):
        assert command in runner.invoke(app, [group, "--help"]).output
    assert "--password-file" in runner.invoke(app, ["user", "create", "--help"]).output
    missing = runner.invoke(app, ["org", "delete"])
    assert missing.exit_code == 2

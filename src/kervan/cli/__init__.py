"""The `kervan` command line (Typer).

- `root`: the app, its groups and the registration of every command;
- `errors`: how an error a user can cause becomes one line on stderr and an exit code;
- one module per group of commands: `planning` (route, places, network), `verify` (and the
  checks it runs, `verification`), `observatory` (simulate, compare, kpis), `exchange` (node),
  `serve`, `exports` (evidence export, trust-list export) and `admin` (db, org, client, key,
  user).

Modules import downwards only (root -> command modules -> errors); each command imports what
it works with inside its function, so `kervan --help` loads Typer and little else.
"""

from kervan.cli.root import app, main

__all__ = ["app", "main"]

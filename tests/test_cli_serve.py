"""Serving tunes its process (GIL switch interval, collector thresholds); importing does not.

Each case runs in a fresh interpreter, since the tuning is process-wide.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kervan.api.asgi import GC_THRESHOLDS, SWITCH_INTERVAL_S
from kervan.cli import app
from kervan.settings import get_settings

REPORT = "import gc, json, sys; print(json.dumps([sys.getswitchinterval(), gc.get_threshold()]))"


@pytest.fixture
def node_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A migrated development node in `tmp_path`, and the environment naming it."""
    env = {**os.environ, "KERVAN_ENVIRONMENT": "development", "KERVAN_DATA_DIR": str(tmp_path)}
    env.pop("KERVAN_DATABASE_URL", None)
    for name in ("KERVAN_ENVIRONMENT", "KERVAN_DATA_DIR"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("KERVAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    migrated = CliRunner().invoke(app, ["db", "upgrade"])
    assert migrated.exit_code == 0, migrated.output
    yield env
    get_settings.cache_clear()


def tuning_after(code: str, env: dict[str, str]) -> tuple[float, tuple[int, int, int]]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    interval, thresholds = json.loads(done.stdout.splitlines()[-1])
    return interval, (thresholds[0], thresholds[1], thresholds[2])


def test_importing_the_api_or_the_command_line_leaves_the_process_alone(
    node_env: dict[str, str],
) -> None:
    untouched = tuning_after("pass", node_env)
    assert untouched != (SWITCH_INTERVAL_S, GC_THRESHOLDS)
    assert tuning_after("import kervan.api.asgi, kervan.api.app, kervan.cli", node_env) == untouched
    # In this very process too: the test imported kervan.api.asgi above.
    assert gc.get_threshold() != GC_THRESHOLDS


def test_the_served_app_tunes_its_process(node_env: dict[str, str]) -> None:
    # `kervan serve` hands uvicorn "kervan.api.asgi:app"; uvicorn loads it so in the serving
    # process and in each --workers process.
    code = (
        "import kervan.api.asgi as module\n"
        "from uvicorn.importer import import_from_string\n"
        "served = import_from_string('kervan.api.asgi:app')\n"
        "assert type(served).__name__ == 'FastAPI' and module.app is served"
    )
    assert tuning_after(code, node_env) == (SWITCH_INTERVAL_S, GC_THRESHOLDS)

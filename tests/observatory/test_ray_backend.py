"""Replications on Ray: the same `run(scenario, seed)` as Ray tasks on a local Ray instance
gives exactly the process pool's results for the same seeds, through the library and through
`kervan compare --backend ray`. Ray starts once for the module (it takes seconds) with 2 CPUs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from typer.testing import CliRunner

from kervan.cli import app
from kervan.errors import InvalidRequestError
from kervan.network.model import Network
from kervan.observatory import montecarlo
from kervan.observatory.backend import Backend, Runner
from kervan.observatory.montecarlo import replicate
from kervan.observatory.scenario import Scenario, load_scenario

YEARS = 0.05  # a few short replications: Ray's start-up dominates anyway


def test_no_cluster_to_join_exits_2_naming_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(First in the module: before the local instance below starts.)"""
    assert not ray.is_initialized()
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    args = ["simulate", "baseline-2024", "-n", "2", "--years", str(YEARS), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--backend", "ray", "--ray-address", "auto"])
    assert result.exit_code == 2
    assert "cannot reach the Ray cluster at 'auto'" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "baseline-2024.html").exists()


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # no workers started ahead of the first task: less to do while the node registers
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _system_config={"enable_worker_prestart": False},
    )
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def short(corridor: Network) -> Scenario:
    return load_scenario("baseline-2024", corridor).with_years(YEARS)


def test_ray_gives_the_process_pool_results(local_ray: None, short: Scenario) -> None:
    on_ray = replicate(short, 3, seed=11, backend=Runner(Backend.RAY))
    pooled = replicate(short, 3, seed=11, backend=Backend.PROCESS, workers=2)
    assert [r.seed for r in on_ray] == [11, 12, 13]
    # compared as JSON: a flow with no delivery in a short run has NaN times (NaN != NaN)
    assert [r.model_dump_json() for r in on_ray] == [r.model_dump_json() for r in pooled]
    assert on_ray[0].created != on_ray[1].created  # the seeds differ, so do the replications
    assert all(r.created == r.delivered + r.in_system + r.refused for r in on_ray)


def test_compare_runs_on_ray_from_the_command_line(local_ray: None, tmp_path: Path) -> None:
    args = ["compare", "baseline-2024", "digital-documents", "-n", "2", "--years", str(YEARS)]
    on_ray = CliRunner().invoke(
        app, [*args, "--backend", "ray", "--workers", "2", "--out", str(tmp_path / "ray")]
    )
    assert on_ray.exit_code == 0, on_ray.output
    pooled = CliRunner().invoke(
        app, [*args, "--backend", "process", "--workers", "2", "--out", str(tmp_path / "pool")]
    )
    assert pooled.exit_code == 0, pooled.output
    name = "compare-baseline-2024-digital-documents.json"
    ray_doc = json.loads((tmp_path / "ray" / name).read_text(encoding="utf-8"))
    pool_doc = json.loads((tmp_path / "pool" / name).read_text(encoding="utf-8"))
    assert ray_doc == pool_doc
    border = next(r for r in ray_doc["rows"] if r["metric"] == "border h/shipment")
    assert border["change"] < 0  # digital documents cut the border dwell


def test_ray_backend_without_ray_installed_says_how_to_get_it(
    short: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(montecarlo, "find_spec", lambda name: None)
    with pytest.raises(InvalidRequestError, match=r"kervan\[ray\]"):
        replicate(short, 2, backend=Runner(Backend.RAY))


def test_ray_address_without_ray_backend_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "baseline-2024", "--ray-address", "auto", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--backend ray" in result.stderr
    result = CliRunner().invoke(
        app, ["simulate", "baseline-2024", "--workers", "0", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--workers" in result.stderr

"""Simulation benchmark: 100 replications of one year at the 2030 demand on 2 cores, through the
product (`kervan simulate corridor-2030 -n 100 --years 1 --workers 2`, start-up, route planning,
summary and report included), against a baseline measured in the same run: replications one
after another on one core in this process, extrapolated to 100.

Writes bench/results/simulation.json. The target is 100 replications in under 5 minutes on 2
cores. The machine may be shared: the load average before and after is recorded, and the
CPU seconds of the baseline's replications (what load moves least) are given with their wall
seconds.

    .venv/bin/python bench/simulation.py [--replications 100] [--workers 2] [--baseline 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kervan.network.dataset import load_network
from kervan.observatory.montecarlo import Backend, replicate
from kervan.observatory.scenario import load_scenario
from kervan.observatory.simulator import compiled_for, run

RESULTS = Path(__file__).parent / "results" / "simulation.json"
SCENARIO = "corridor-2030"
TARGET_SECONDS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=4, help="sequential replications timed")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    network = load_network()
    scenario = load_scenario(SCENARIO, network).with_years(1.0)
    started = time.perf_counter()
    compiled_for(scenario)
    planning = time.perf_counter() - started

    # baseline: one core, one replication after another (routes already planned)
    wall: list[float] = []
    cpu: list[float] = []
    result = None
    for seed in range(args.baseline):
        w0, c0 = time.perf_counter(), time.process_time()
        result = run(scenario, seed)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    assert result is not None
    per_replication = statistics.median(wall)
    sequential_estimate = per_replication * args.replications + planning

    # the pool gives the sequential results (first seeds)
    check = min(args.baseline, 2)
    same = [r.model_dump_json() for r in replicate(scenario, check, 0, backend=Backend.PROCESS)]
    seq = [r.model_dump_json() for r in replicate(scenario, check, 0, backend=Backend.SEQUENTIAL)]

    # the product: the whole command, as an analyst runs it
    with tempfile.TemporaryDirectory() as out:
        command = [
            str(Path(sys.executable).parent / "kervan"),
            "simulate",
            SCENARIO,
            "--replications",
            str(args.replications),
            "--years",
            "1",
            "--workers",
            str(args.workers),
            "--out",
            out,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        product_s = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # the command's CPU seconds, its pool workers' included (waited for, so counted)
        product_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report = json.loads((Path(out) / f"{SCENARIO}.json").read_text(encoding="utf-8"))

    doc = {
        "benchmark": "observatory simulation",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min_before": round(load_before, 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "scenario": SCENARIO,
        "simulated_years": 1.0,
        "warmup_days": scenario.warmup_days,
        "shipments_created_per_replication": result.created,
        "route_planning_seconds": round(planning, 3),
        "baseline_one_core": {
            "replications_timed": args.baseline,
            "wall_seconds": [round(s, 3) for s in wall],
            "cpu_seconds": [round(s, 3) for s in cpu],
            "median_wall_seconds_per_replication": round(per_replication, 3),
            "extrapolated_seconds_for_all": round(sequential_estimate, 1),
            "note": f"measured {args.baseline} replications, extrapolated to "
            f"{args.replications} (median x {args.replications} + route planning)",
        },
        "product_process_pool": {
            "command": " ".join(["kervan", *command[1:-2]]),
            "replications": args.replications,
            "workers": args.workers,
            "wall_seconds": round(product_s, 1),
            "seconds_per_replication": round(product_s / args.replications, 3),
            "cpu_seconds": round(product_cpu, 1),
            "cpu_seconds_per_replication": round(product_cpu / args.replications, 3),
            "wall_seconds_on_idle_cores_estimate": round(product_cpu / args.workers, 1),
            "estimate_note": (
                "CPU seconds of the command and its workers / workers: the wall time the "
                "same work takes when the cores are not shared (an estimate, labelled as such; "
                "wall_seconds is what this run measured)"
            ),
            "speedup_over_one_core": round(sequential_estimate / product_s, 2),
            "target_seconds": TARGET_SECONDS,
            "meets_target": product_s < TARGET_SECONDS,
            "meets_target_on_idle_cores_estimate": product_cpu / args.workers < TARGET_SECONDS,
            "trans_caspian_mt_per_year": round(report["titr_tonnes_per_year"]["mean"] / 1e6, 3),
            "trans_caspian_95pct_interval_mt": [
                round(report["titr_tonnes_per_year"]["low"] / 1e6, 3),
                round(report["titr_tonnes_per_year"]["high"] / 1e6, 3),
            ],
            "longest_ferry_wait_hours": round(report["ferry_wait_max_hours"], 1),
        },
        "pool_gives_sequential_results": same == seq,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()

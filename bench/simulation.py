"""Simulation benchmark: one year at the 2030 target demand on one core, and the speed-up of
replications on a process pool over running them one after another.

Writes bench/results/simulation.json. The single-core figure is the median of `--repeat` runs
(routes are planned once before timing, as a process pool worker does once per scenario); the
speed-up compares the same 4 replications (same seeds, same results) run sequentially and on a
pool of `--workers` processes.

    .venv/bin/python bench/simulation.py [--repeat 3] [--workers 2] [--replications 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from kervan.network.dataset import load_network
from kervan.observatory.montecarlo import Backend, replicate
from kervan.observatory.scenario import load_scenario
from kervan.observatory.simulator import compiled_for, run

RESULTS = Path(__file__).parent / "results" / "simulation.json"
SCENARIO = "demand-2030"
TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replications", type=int, default=4)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    network = load_network()
    scenario = load_scenario(SCENARIO, network).with_years(1.0)
    started = time.perf_counter()
    compiled_for(scenario)
    planning = time.perf_counter() - started

    one_year: list[float] = []
    result = None
    for seed in range(args.repeat):
        started = time.perf_counter()
        result = run(scenario, seed)
        one_year.append(time.perf_counter() - started)
    assert result is not None

    started = time.perf_counter()
    sequential = replicate(scenario, args.replications, 100, backend=Backend.SEQUENTIAL)
    sequential_s = time.perf_counter() - started
    started = time.perf_counter()
    pooled = replicate(
        scenario, args.replications, 100, backend=Backend.PROCESS, workers=args.workers
    )
    pooled_s = time.perf_counter() - started

    median = statistics.median(one_year)
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
        "one_year_at_2030_demand": {
            "scenario": SCENARIO,
            "simulated_years": 1.0,
            "warmup_days": scenario.warmup_days,
            "shipments_created": result.created,
            "trans_caspian_tonnes_per_year": round(result.titr_tonnes_per_year),
            "route_planning_seconds": round(planning, 3),
            "wall_seconds_median": round(median, 3),
            "wall_seconds_runs": [round(s, 3) for s in one_year],
            "target_seconds": TARGET_SECONDS,
            "meets_target": median < TARGET_SECONDS,
        },
        "replications_speedup": {
            "replications": args.replications,
            "workers": args.workers,
            "sequential_seconds": round(sequential_s, 3),
            "process_pool_seconds": round(pooled_s, 3),
            "speedup": round(sequential_s / pooled_s, 3),
            "same_results": pooled == sequential,
            "note": (
                "pool time includes starting the workers; the machine is shared, so the "
                "speed-up moves with other processes' load (see load_average)"
            ),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()

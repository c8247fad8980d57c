"""Command-line start-up benchmark: `kervan --help` and `kervan route "Xi'an" Istanbul` as whole
processes, against a same-run baseline of `python -c pass`.

Writes bench/results/cli_startup.json. Each round runs the baseline and every command once, in
turn, as a fresh process (the installed `kervan` script beside this interpreter), and times it
wall to wall; reported are the median, min and max over the rounds and the ratio of each median
to the baseline's. Rounds interleave the commands, so a busy moment of the shared machine slows
all of them alike.

Two states of Python's bytecode cache, each in a fresh temporary PYTHONPYCACHEPREFIX (nothing is
written beside the sources):
- "cached": how an installed command runs from its second start on (one untimed start fills the
  cache); the targets (0.3 s for --help, 0.6 s for route) are judged here;
- "compiling": PYTHONDONTWRITEBYTECODE=1 and an empty cache, so every module is compiled from
  source at every start (how a checkout runs where bytecode writing is switched off).

    .venv/bin/python bench/cli_startup.py [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "cli_startup.json"
TARGETS_S = {"help": 0.3, "route": 0.6}
BASELINE = "python -c pass"


def kervan_command() -> list[str]:
    """The installed console script beside this interpreter, else `python -m kervan`."""
    script = Path(sys.executable).parent / "kervan"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "kervan"]


def commands() -> dict[str, list[str]]:
    kervan = kervan_command()
    return {
        BASELINE: [sys.executable, "-c", "pass"],
        "typer import (reference)": [sys.executable, "-c", "import typer"],
        "help": [*kervan, "--help"],
        "route": [*kervan, "route", "Xi'an", "Istanbul"],
    }


def environment(cache: Path, *, compiling: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if compiling:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of `argv`."""
    cpu, start = _children_cpu_s(), time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed, _children_cpu_s() - cpu


def measure(rounds: int, *, compiling: bool) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per run of every command, `rounds` interleaved rounds."""
    cache = Path(tempfile.mkdtemp(prefix="kervan-bench-pyc-"))
    try:
        env = environment(cache, compiling=compiling)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands()}
        for argv in commands().values():  # untimed: fills the cache ("cached") or warms the OS
            run_once(argv, env)
        for round_no in range(1, rounds + 1):
            for name, argv in commands().items():
                runs[name].append(run_once(argv, env))
            line = ", ".join(f"{name} {times[-1][0]:.3f}" for name, times in runs.items())
            print(f"{'compiling' if compiling else 'cached'} round {round_no}: {line}")
        return runs
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def summary(runs: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    baseline = statistics.median(wall for wall, _ in runs[BASELINE])
    out: dict[str, Any] = {}
    for name, measured in runs.items():
        times = [wall for wall, _ in measured]
        median = statistics.median(times)
        entry: dict[str, Any] = {
            "median_s": round(median, 4),
            "min_s": round(min(times), 4),
            "max_s": round(max(times), 4),
            "runs_s": [round(t, 4) for t in times],
            "ratio_to_baseline": round(median / baseline, 2),
            "cpu_median_s": round(statistics.median(cpu for _, cpu in measured), 4),
        }
        if name in TARGETS_S:
            entry["target_s"] = TARGETS_S[name]
            entry["meets_target"] = median < TARGETS_S[name]
        out[name] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    cached = summary(measure(args.rounds, compiling=False))
    compiling = summary(measure(args.rounds, compiling=True))
    result = {
        "benchmark": "cli_startup",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "typer": version("typer"),
            "numpy": version("numpy"),
            "scipy": version("scipy"),
            "pydantic": version("pydantic"),
        },
        # The command as a reader would type it, not this machine's path to it.
        "command": [Path(part).name for part in kervan_command()],
        "rounds": args.rounds,
        "targets_s": TARGETS_S,
        "meets_targets": all(cached[name]["meets_target"] for name in TARGETS_S),
        "bytecode_cached": cached,
        "compiling_every_start": compiling,
        "notes": NOTES,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for state, numbers in (("cached", cached), ("compiling", compiling)):
        print(
            f"{state}: baseline {numbers[BASELINE]['median_s']:.3f} s, "
            f"help {numbers['help']['median_s']:.3f} s (x{numbers['help']['ratio_to_baseline']}), "
            f"route {numbers['route']['median_s']:.3f} s "
            f"(x{numbers['route']['ratio_to_baseline']}); targets met: {result['meets_targets']}"
        )


NOTES = [
    "Timings are whole processes, wall to wall, on a shared 2-CPU machine; the ratios to the "
    "baseline measured in the same rounds are the figures to compare between runs. "
    "cpu_median_s is the median user + system CPU time of the process: what the start costs "
    "when the machine is not shared (wall exceeds it when other work holds the CPUs).",
    "Before the command line became a package with its imports inside the commands (commit "
    "3a66bbf), measured A/B in one run with cached bytecode at load ~8: --help 5.3 s -> 0.23 s, "
    "route 5.9 s -> 2.1 s (median of 5-7 interleaved runs). In the same A/B, Typer's Rich help "
    "panels instead of plain help: --help 0.45 s; the set-up groups (db, org, client, key, user) "
    "loaded eagerly instead of when invoked: --help 3.5 s.",
    "--help meets its target with cached bytecode; with bytecode compiled at every start it "
    "cannot: importing Typer alone (its vendored click) costs about as much as the whole --help "
    "(see 'typer import (reference)').",
    "route does not meet 0.6 s: its CPU time is ~0.8 s with cached bytecode. What it loads is "
    "what it uses: scipy.sparse.csgraph (the planner's Dijkstra; ~0.16-0.26 s of import, most "
    "of it scipy's own array-API and linalg modules), numpy, pydantic (the network model, the "
    "plans, and Typer's own parameter coercion), the dataset load (TOML, ~50 ms) and Rich's "
    "table rendering of every leg (~65 ms warm, more on the first table). A pure-Python "
    "Dijkstra was measured 8-30x slower per search on the corridor graph and picks other "
    "predecessors on equal-weight ties (other plans), so the planner keeps scipy; no compiled "
    "network is cached on disk.",
]

if __name__ == "__main__":
    main()

"""Start-up audit benchmark: how long a node's audit (services.audit) takes on the `make demo`
seed, against a same-run baseline of what a node already did at every start, reading its Merkle
tree (`NodeContext.load_ledger`).

Seeds the demonstration corridor into a fresh SQLite data directory, then runs the baseline and
the audit in turn, `--rounds` times each, in this one process (imports and the first connection
are outside the timings), and writes bench/results/audit.json: the median, min and max seconds
of each, and the audit's median as a ratio of the baseline's.

    .venv/bin/python bench/audit.py [--rounds 21]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kervan.demo import seed
from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.audit import AuditNode, audit_node
from kervan.services.node import NodeContext
from kervan.settings import Environment, Settings
from kervan.store.db import make_session_factory
from kervan.store.node_files import node_keys
from kervan.store.schema import connect_migrated
from kervan.store.uow import UnitOfWork

RESULTS = Path(__file__).parent / "results" / "audit.json"


def timed(work: Callable[[], object], rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - start)
    return seconds


def summary(seconds: list[float]) -> dict[str, float]:
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(environment=Environment.DEVELOPMENT, data_dir=Path(folder))
        seed(settings)
        engine = connect_migrated(settings.resolved_database_url)
        sessions = make_session_factory(engine)
        network = load_network()
        node = NodeContext(settings, sessions, network, Planner(network), node_keys(settings))
        report = audit_node(UnitOfWork(sessions), AuditNode(), log_id=settings.node_id)
        assert report.ok, report.summary()
        baseline: list[float] = []
        audit: list[float] = []
        for _ in range(args.rounds):
            # A fresh log each time: what a starting node reads.
            baseline += timed(lambda: NodeContext(settings, sessions, network, node.planner,
                                                  node.keys).load_ledger(), 1)  # fmt: skip
            audit += timed(
                lambda: audit_node(UnitOfWork(sessions), AuditNode(), log_id=settings.node_id), 1
            )
        engine.dispose()
    result: dict[str, Any] = {
        "benchmark": "start-up audit on the make demo seed (SQLite)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "notes": (
            "Shared 2-core machine, other work running: compare the ratio, not the seconds. "
            f"Store: {report.summary()}."
        ),
        "rounds": args.rounds,
        "baseline (load the Merkle tree)": summary(baseline),
        "audit": summary(audit),
        "audit / baseline (medians)": statistics.median(audit) / statistics.median(baseline),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

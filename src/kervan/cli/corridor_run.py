"""`kervan corridor up`: set a corridor's databases and broker up, then run and watch one
`kervan node` process per authority.

Each node process gets its database (KERVAN_DATABASE_URL), its data folder with its keys
(KERVAN_DATA_DIR) and its broker user in the environment (KERVAN_BROKER: the password never
shows in a process listing), and its trust list and probe port as options. A node that exits
while the corridor runs is started again after a pause that grows with each restart (a node
killed by the operator or by a crash comes back by itself); Ctrl-C or SIGTERM stops them all.
Each node's process id is written to `<data_dir>/node.pid` while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import Final

from rich.console import Console

from kervan.cli.topology import NodeSection, Topology
from kervan.exchange.bus import NatsJetStreamBroker
from kervan.store.db import display_url
from kervan.store.schema import upgrade

_MAX_PAUSE: Final = 10.0
out = Console(highlight=False)


async def _set_up_broker(topology: Topology, nodes: Sequence[NodeSection], url: str) -> None:
    """The corridor's stream and every authority's consumer, made as the broker's operator
    (the authorities' users may not create streams). Waits for the broker to come up."""
    corridor = topology.corridor
    broker = NatsJetStreamBroker(
        url,
        corridor=corridor.name,
        ack_wait=corridor.ack_wait,
        max_deliver=corridor.max_deliveries + 1,
    )
    pause = 0.5
    while True:
        try:
            await broker.connect()
            for node in nodes:
                await broker.ensure_consumer(node.authority)
            break
        except Exception as exc:
            out.print(f"broker not ready ({exc}); retrying in {pause:.1f} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)
    await broker.close()


def _environment(node: NodeSection, broker_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KERVAN_DATABASE_URL=node.database,
        KERVAN_DATA_DIR=str(node.data_dir),
        KERVAN_BROKER=broker_url,
    )
    return env


async def _keep_running(
    topology: Topology, node: NodeSection, broker_url: str, stopping: asyncio.Event
) -> None:
    corridor = topology.corridor
    command = [
        sys.executable, "-m", "kervan", "node",
        "--authority", node.authority,
        "--corridor", corridor.name,
        "--trust-list", str(node.trust_list),
        "--trust-list-key", str(node.trust_list_key),
        "--listen", node.listen,
        "--max-deliveries", str(corridor.max_deliveries),
        "--gap-timeout", str(corridor.gap_timeout),
        "--ack-wait", str(corridor.ack_wait),
    ]  # fmt: skip
    pid_file = node.data_dir / "node.pid"
    pause = 0.5
    while not stopping.is_set():
        process = await asyncio.create_subprocess_exec(*command, env=_environment(node, broker_url))
        pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
        out.print(f"{node.authority}: started (pid {process.pid}, probe {node.listen})")
        waiting = asyncio.create_task(process.wait())
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({waiting, stop}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.is_set():
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            await waiting
            stop.cancel()
            break
        stop.cancel()
        out.print(f"{node.authority}: exited with {process.returncode}; restarting")
        await asyncio.sleep(pause)
        pause = min(pause * 2, _MAX_PAUSE)
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()


async def run_corridor(
    topology: Topology,
    nodes: Sequence[NodeSection],
    urls: Mapping[str, str],
    operator_url: str,
) -> None:
    """Set up and run `nodes` of `topology` until SIGINT or SIGTERM."""
    for node in nodes:
        if not node.trust_list.exists():
            out.print(f"{node.authority}: no trust list at {node.trust_list}")
            out.print("run `kervan corridor trust-list` first")
            raise SystemExit(2)
        node.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(upgrade, node.database)
        out.print(f"{node.authority}: database {display_url(node.database)} migrated")
    await _set_up_broker(topology, nodes, operator_url)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await asyncio.gather(
        *(_keep_running(topology, node, urls[node.authority], stopping) for node in nodes)
    )
    out.print("corridor stopped")

"""Prometheus metrics of the nodes running in this process, read when scraped.

Figures kept in the node's store (outbox lag, held gaps, refusals by reason, dead letters, the
last sequence applied per sender) are read from it at each scrape, so they survive a restart and
agree with `kervan messages list`; what only the process knows (receipts by outcome since it
started, messages waiting at the broker, the broker connection, trust-list reloads) comes from
the running node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from kervan.exchange.node import Node
from kervan.exchange.status import (
    channel_heads,
    dead_letter_counts,
    dead_letters,
    held_gaps,
    outbox_lag,
    refusals_by_reason,
)
from kervan.store.db import read_only


class NodeCollector(Collector):
    """Collects the exchange metrics of `nodes` (one process)."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self._nodes = nodes

    def collect(self) -> Iterable[Metric]:
        """Read every node's figures now."""
        a = ["authority"]
        waiting = GaugeMetricFamily(
            "kervan_exchange_outbox_waiting", "Messages in the outbox not yet relayed", labels=a
        )
        lag = GaugeMetricFamily(
            "kervan_exchange_outbox_lag_seconds",
            "Age of the oldest message waiting in the outbox (0 when none waits)",
            labels=a,
        )
        pending = GaugeMetricFamily(
            "kervan_exchange_messages_pending",
            "Messages for this authority waiting at the broker (last seen)",
            labels=a,
        )
        gaps = GaugeMetricFamily(
            "kervan_exchange_held_gaps", "Senders whose messages wait behind a gap", labels=a
        )
        held = GaugeMetricFamily(
            "kervan_exchange_held_messages", "Messages held behind a gap", labels=[*a, "sender"]
        )
        refusals = CounterMetricFamily(
            "kervan_exchange_refusals", "Messages refused, by reason", labels=[*a, "reason"]
        )
        dead = CounterMetricFamily(
            "kervan_exchange_dead_letters",
            "Messages dead-lettered, by reason",
            labels=[*a, "reason"],
        )
        dead_waiting = GaugeMetricFamily(
            "kervan_exchange_dead_letters_waiting",
            "Dead letters no operator has replayed or skipped",
            labels=a,
        )
        last = GaugeMetricFamily(
            "kervan_exchange_last_applied_seq",
            "Last sequence number applied, per sender",
            labels=[*a, "sender"],
        )
        received = CounterMetricFamily(
            "kervan_exchange_received",
            "Messages received by this process, by outcome (duplicates included)",
            labels=[*a, "outcome"],
        )
        connected = GaugeMetricFamily(
            "kervan_exchange_broker_connected", "1 while the broker connection is up", labels=a
        )
        reloads = GaugeMetricFamily(
            "kervan_exchange_trust_list_reloads",
            "Times the trust list file was re-read since the process started",
            labels=a,
        )
        refused_lists = GaugeMetricFamily(
            "kervan_exchange_trust_list_refused",
            "Trust list files refused since the process started (signature, age or format)",
            labels=a,
        )
        for node in self._nodes:
            code = node.authority
            reloads.add_metric([code], float(getattr(node.trust, "reloads", 0)))
            refused_lists.add_metric([code], float(getattr(node.trust, "refused", 0)))
            with read_only(node.sessions) as session:
                outbox = outbox_lag(session, code)
                waiting.add_metric([code], outbox.waiting)
                age = 0.0
                if outbox.oldest is not None:
                    age = max(0.0, (node.clock() - outbox.oldest).total_seconds())
                lag.add_metric([code], age)
                found = held_gaps(session, code)
                gaps.add_metric([code], len(found))
                for gap in found:
                    held.add_metric([code, gap.sender], gap.held)
                for reason, count in refusals_by_reason(session, code).items():
                    refusals.add_metric([code, reason], count)
                for reason, count in dead_letter_counts(session, code).items():
                    dead.add_metric([code, reason], count)
                dead_waiting.add_metric(
                    [code], len(dead_letters(session, code, unresolved_only=True))
                )
                for sender, seq in channel_heads(session, code).items():
                    last.add_metric([code, sender], seq)
            pending.add_metric([code], node.broker_pending)
            for outcome, count in sorted(node.counts.items()):
                received.add_metric([code, outcome], count)
            connected.add_metric([code], 1.0 if node.broker_connected() else 0.0)
        yield from (
            waiting, lag, pending, gaps, held, refusals, dead, dead_waiting, last, received,
            connected, reloads, refused_lists,
        )  # fmt: skip


def node_registry(nodes: Sequence[Node]) -> CollectorRegistry:
    """A registry holding only the exchange metrics of `nodes`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(nodes))
    return registry

"""Plans as GeoJSON (RFC 7946) for maps: one LineString per leg, one Point per stop."""

from __future__ import annotations

from typing import Any

from kervan.network.model import Network
from kervan.routing.plan import Plan


def plans_to_geojson(network: Network, plans: list[Plan]) -> dict[str, Any]:
    """A FeatureCollection with every leg of every plan (property `plan` is its rank from 1)."""
    features: list[dict[str, Any]] = []
    for rank, plan in enumerate(plans, start=1):
        for leg in plan.legs:
            a, z = network.nodes[leg.from_node], network.nodes[leg.to_node]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[a.lon, a.lat], [z.lon, z.lat]],
                    },
                    "properties": {
                        "plan": rank,
                        "leg": leg.index,
                        "link": leg.link_id,
                        "mode": leg.mode.value,
                        "from": leg.from_name,
                        "to": leg.to_name,
                        "hours_p50": round(leg.hours_p50, 1),
                        "cost_usd": round(leg.cost_usd, 2),
                        "border": leg.border.crossing_id if leg.border else None,
                    },
                }
            )
        stops = [plan.legs[0].from_node, *(leg.to_node for leg in plan.legs)] if plan.legs else []
        transfer_at = {t.node: t.kind.value for t in plan.transfers}
        for node_id in dict.fromkeys(stops):
            node = network.nodes[node_id]
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [node.lon, node.lat]},
                    "properties": {
                        "plan": rank,
                        "node": node.id,
                        "name": node.name,
                        "country": node.country,
                        "transfer": transfer_at.get(node_id),
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}

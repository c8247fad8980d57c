"""The marine network sea legs sail on: shortest sea paths between ports, passages closable.

The network is the `searoute` package's marnet (version 1.6.0, Apache-2.0, derived from
Eurostat's SeaRoute), shipped in `kervan/network/data/sea/` with its licence. Its lines are
lanes between waypoints; straits and canals are tagged (Suez, Bab-el-Mandeb, Bosphorus, ...).
A port snaps to the nearest waypoint. Two things are corrected here, as the corridor facts say:
marnet joins the Caspian to the Black Sea through the Volga-Don waterway, which no sea-going
container ship sails, and snaps the Caspian ports to the same two waypoints; so waypoints east of
the Black Sea and north of Iran are dropped, and a leg between two Caspian ports is the
great-circle distance x 1.1 (open water, one lane).

Loaded only when asked (the dataset check, validation, tests): the route command never reads it.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources

from kervan.network.model import Network, Node, Passage

EARTH_RADIUS_KM = 6371.0088
#: Lanes through these marnet passages close with each of Kervan's passages.
_MARNET_PASSAGES: dict[Passage, frozenset[str]] = {
    Passage.RED_SEA: frozenset({"suez", "babalmandab"}),
    Passage.BOSPHORUS: frozenset({"bosporus", "dardanelles"}),
    Passage.CAPE: frozenset({"south_africa"}),
}
_ALWAYS_CLOSED = frozenset({"northwest"})  # the Northwest Passage, as searoute's default
CASPIAN_DETOUR = 1.1


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def in_caspian(lat: float, lon: float) -> bool:
    """Whether a point lies in the Caspian basin (and the Volga waterways north of it)."""
    return 36.0 < lat < 60.0 and 42.5 < lon < 62.0


class SeaNetwork:
    """Waypoints and lanes (with length in km and the passage a lane is part of)."""

    def __init__(
        self,
        waypoints: list[tuple[float, float]],
        lanes: Iterable[tuple[int, int, float, str | None]],
    ) -> None:
        self.waypoints = waypoints
        self._adjacent: list[list[tuple[int, float, str | None]]] = [[] for _ in waypoints]
        for a, b, km, passage in lanes:
            self._adjacent[a].append((b, km, passage))
            self._adjacent[b].append((a, km, passage))

    @classmethod
    @cache
    def shipped(cls) -> SeaNetwork:
        """The marnet shipped with Kervan (read once per process)."""
        path = resources.files("kervan.network") / "data" / "sea" / "marnet.geojson"
        return cls.from_geojson(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_geojson(cls, document: dict[str, object]) -> SeaNetwork:
        """Build from a GeoJSON FeatureCollection of LineStrings ([lon, lat] coordinates)."""
        index: dict[tuple[float, float], int] = {}
        waypoints: list[tuple[float, float]] = []
        lanes: list[tuple[int, int, float, str | None]] = []

        def waypoint(lon: float, lat: float) -> int:
            key = (round(lat, 6), round(lon, 6))
            if key not in index:
                index[key] = len(waypoints)
                waypoints.append(key)
            return index[key]

        features = document.get("features")
        for feature in features if isinstance(features, list) else []:
            geometry = feature["geometry"]
            passage = (feature.get("properties") or {}).get("passage")
            parts = geometry["coordinates"]
            for coords in parts if geometry["type"] == "MultiLineString" else [parts]:
                for u, v in itertools.pairwise(coords):
                    if in_caspian(u[1], u[0]) or in_caspian(v[1], v[0]):
                        continue
                    a, b = waypoint(u[0], u[1]), waypoint(v[0], v[1])
                    if a != b:
                        km = great_circle_km(waypoints[a], waypoints[b])
                        lanes.append((a, b, km, passage))
        return cls(waypoints, lanes)

    @lru_cache(maxsize=256)  # noqa: B019 (the shipped network lives as long as the process)
    def snap(self, lat: float, lon: float) -> int:
        """The waypoint nearest to a port."""
        return min(
            range(len(self.waypoints)),
            key=lambda i: great_circle_km((lat, lon), self.waypoints[i]),
        )

    def distance_km(self, a: Node, b: Node, closed: Iterable[Passage] = ()) -> float | None:
        """Shortest sea distance between two ports with `closed` passages shut (None if cut off).

        The distance runs from each port to its waypoint and along the lanes between them.
        """
        if in_caspian(a.lat, a.lon) or in_caspian(b.lat, b.lon):
            if in_caspian(a.lat, a.lon) and in_caspian(b.lat, b.lon):
                return great_circle_km((a.lat, a.lon), (b.lat, b.lon)) * CASPIAN_DETOUR
            return None  # no sea-going ship leaves the Caspian
        shut = set(_ALWAYS_CLOSED)
        for passage in closed:
            shut |= _MARNET_PASSAGES[passage]
        return self._shortest(a.lat, a.lon, b.lat, b.lon, frozenset(shut))

    @lru_cache(maxsize=1024)  # noqa: B019 (see snap)
    def _shortest(
        self, lat_a: float, lon_a: float, lat_b: float, lon_b: float, shut: frozenset[str]
    ) -> float | None:
        source, target = self.snap(lat_a, lon_a), self.snap(lat_b, lon_b)
        ends = great_circle_km((lat_a, lon_a), self.waypoints[source]) + great_circle_km(
            (lat_b, lon_b), self.waypoints[target]
        )
        dist = {source: 0.0}
        heap = [(0.0, source)]
        while heap:
            d, v = heapq.heappop(heap)
            if v == target:
                return d + ends
            if d > dist[v]:
                continue
            for w, km, passage in self._adjacent[v]:
                if passage in shut:
                    continue
                if d + km < dist.get(w, math.inf):
                    dist[w] = d + km
                    heapq.heappush(heap, (d + km, w))
        return None


def sea_legs_off_the_network(network: Network, sea: SeaNetwork, stretch: float = 1.3) -> list[str]:
    """Sea links longer than `stretch` x the sea network's shortest path between their ports
    (sailing their own passages, with the others closed when the link goes round the Cape)."""
    problems: list[str] = []
    for link in network.links.values():
        if link.mode.value != "sea":
            continue
        a, b = network.nodes[link.from_node], network.nodes[link.to_node]
        closed = {Passage.RED_SEA} if Passage.CAPE in link.passages else set()
        shortest = sea.distance_km(a, b, closed)
        if shortest is None:
            problems.append(f"{link.id}: the sea network joins no such ports")
        elif link.distance_km > stretch * shortest:
            problems.append(
                f"{link.id}: {link.distance_km:,.0f} km, the sea network's path is "
                f"{shortest:,.0f} km"
            )
    return problems

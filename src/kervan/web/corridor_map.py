"""The corridor map as SVG drawn on the server: no tiles, no WebGL, no script needed to see it.

The projection is equirectangular with a standard parallel at 40°N (the corridor's middle), so
shapes look right between the Gulf and the Baltic. The country outlines (Natural Earth, shipped
in static/map) are one SVG document the browser caches; each page draws the network and its
planned routes over it in the same coordinates, and zooms (viewBox) to the routes it shows.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from kervan.network.model import LinkStatus, Mode, Network, NodeKind
from kervan.routing.plan import Plan

LON_WEST, LON_EAST = -10.0, 125.0
LAT_SOUTH, LAT_NORTH = 20.0, 60.0
UNITS_PER_DEGREE = 10.0
_X_SCALE = UNITS_PER_DEGREE * math.cos(math.radians(40.0))

WIDTH = round((LON_EAST - LON_WEST) * _X_SCALE, 1)
HEIGHT = round((LAT_NORTH - LAT_SOUTH) * UNITS_PER_DEGREE, 1)
OUTLINES = "countries-corridor.geojson"


def project(lon: float, lat: float) -> tuple[float, float]:
    """Map coordinates (x right, y down) of a point given in degrees."""
    return (lon - LON_WEST) * _X_SCALE, (LAT_NORTH - lat) * UNITS_PER_DEGREE


@dataclass(frozen=True)
class ViewBox:
    x: float
    y: float
    width: float
    height: float

    def __str__(self) -> str:
        return f"{self.x:.1f} {self.y:.1f} {self.width:.1f} {self.height:.1f}"


@dataclass(frozen=True)
class Country:
    """One country's outline as SVG path data in map coordinates."""

    numeric: str
    name: str
    alpha2: str | None
    disputed: bool
    path: str


@dataclass(frozen=True)
class Segment:
    """One link drawn as SVG path data, with what it is (for classes and titles)."""

    d: str
    mode: str
    planned: bool
    title: str


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    kind: str  # "gauge", "border" or "node"
    title: str


@dataclass(frozen=True)
class RouteLeg:
    """One leg of a drawn plan: its own path (to point at) and what it is, in words."""

    index: int
    d: str
    title: str


@dataclass(frozen=True)
class RouteLine:
    """One plan drawn as SVG path data through its stops (deep-sea legs leave the map),
    shifted sideways by its rank so plans sharing a link stay side by side."""

    rank: int
    d: str
    label: str
    legs: tuple[RouteLeg, ...] = ()


@dataclass(frozen=True)
class Label:
    """A place name. `tier` says how far in the map must be zoomed to show it: 0 the ends of a
    drawn route, 1 the corridor's main hubs (always), 2 other towns and ports, 3 the rest
    (border posts, stations); `shown` whether it shows at the page's first view (the script
    then places them by the space they take on the screen)."""

    x: float
    y: float
    text: str
    tier: int = 1
    shown: bool = True


# Hubs: places with this many links or more (Xi'an, Tbilisi, Almaty, Istanbul, the ports).
HUB_LINKS = 6
# The narrowest frame (map units; the whole map is about 1030 wide) at which each tier shows
# before the script places the labels: hubs always, towns below a third of the map, the rest
# when zoomed to a region.
TIER_WIDTHS = {0: math.inf, 1: math.inf, 2: 360.0, 3: 160.0}
# How far apart plans sharing a link are drawn, as a share of the frame's width.
ROUTE_SPACING = 0.0055
LEG_LABEL = "{origin} – {destination}: {mode}, {km} km, {hours} h"


def _plain_number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


@dataclass(frozen=True)
class MapView:
    """Everything a page's map draws: the frame, the network, routes and labels."""

    view_box: ViewBox
    marker_radius: float
    font_size: float
    segments: tuple[Segment, ...]
    markers: tuple[Marker, ...]
    routes: tuple[RouteLine, ...]
    labels: tuple[Label, ...]
    avoided: tuple[Country, ...]


# Deep-sea lanes, (lon, lat): a China-Europe sailing goes round, not across Asia. Each lane runs
# from its port out of the map's frame; the part beyond the frame is not drawn.
_NORTH_SEA_OUT = [(3.0, 51.6), (-1.5, 50.2), (-5.8, 48.6), (-9.8, 43.2), (-9.8, 37.0)]
_TO_PORT_SAID = [(-5.6, 35.95), (0.0, 36.9), (11.0, 37.6), (20.0, 34.6), (32.3, 31.6)]
_BLACK_SEA_OUT = [(29.1, 41.3), (26.4, 40.2), (25.6, 37.0)]
_RED_SEA_SOUTH = [(32.55, 29.9), (34.6, 27.3), (38.5, 20.0), (42.5, 13.0)]
_CAPE_WEST = [(-12.0, 38.0), (-17.5, 28.0), (-20.0, 14.0)]
_CHINA_SOUTH = [(122.8, 30.6), (120.3, 25.0), (117.0, 21.6), (113.0, 14.0)]
_ASIA_LON = 60.0
_ROUND_ABOUT = 1.5  # sailed distance over straight distance beyond which a lane goes round


def _great_circle_km(a: tuple[float, float], z: tuple[float, float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *z))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _european_lane(port: tuple[float, float], via_suez: bool) -> list[tuple[float, float]]:
    lon, lat = port
    if lat > 45.0 and lon < 15.0:  # North Sea and Atlantic ports
        if not via_suez:
            return [port, *_NORTH_SEA_OUT[:4], *_CAPE_WEST]
        return [port, *_NORTH_SEA_OUT, *_TO_PORT_SAID, *_RED_SEA_SOUTH]
    if lat > 40.9 and lon > 27.5:  # Black Sea ports, out through the Bosporus
        east = [(35.0, 42.5)] if lon > 36.0 else []
        return [port, *east, *_BLACK_SEA_OUT, _TO_PORT_SAID[-1], *_RED_SEA_SOUTH]
    if lon > 33.0:  # Levant and Cilicia: east of Cyprus
        return [port, (35.3, 35.0), _TO_PORT_SAID[-1], *_RED_SEA_SOUTH]
    return [port, (lon + 1.0, lat - 1.5), _TO_PORT_SAID[-1], *_RED_SEA_SOUTH]


def _chinese_lane(port: tuple[float, float]) -> list[tuple[float, float]]:
    lon, lat = port
    offshore = [(min(lon + 3.0, 123.5), lat - 1.5)] if lat > 32.0 else []
    return [port, *offshore, *_CHINA_SOUTH]


def link_geometry(
    a: tuple[float, float], z: tuple[float, float], *, sea: bool, distance_km: float, via: str = ""
) -> list[list[tuple[float, float]]]:
    """The lines (lon, lat) that draw a link from `a` to `z`.

    A sea link sailed much further than the straight line between its ports (China to Europe
    round Arabia or Africa) is drawn as two lanes leaving the map, one from each port; every
    other link is a straight line.
    """
    straight = _great_circle_km(a, z)
    if not sea or straight == 0.0 or distance_km < straight * _ROUND_ABOUT:
        return [[a, z]]
    east, west = (a, z) if a[0] > z[0] else (z, a)
    if east[0] < _ASIA_LON or west[0] > _ASIA_LON:
        return [[a, z]]
    return [_chinese_lane(east), _european_lane(west, via_suez="ZA" not in via)]


def _path(lines: Sequence[Sequence[tuple[float, float]]]) -> str:
    out: list[str] = []
    for line in lines:
        points = [project(lon, lat) for lon, lat in line]
        out.append(
            f"M{points[0][0]:.1f} {points[0][1]:.1f}"
            + "".join(f"L{x:.1f} {y:.1f}" for x, y in points[1:])
        )
    return "".join(out)


def _ring_path(ring: Sequence[Sequence[float]]) -> str:
    points = [project(lon, lat) for lon, lat in ring]
    head = f"M{points[0][0]:.1f} {points[0][1]:.1f}"
    body = "".join(f"L{x:.1f} {y:.1f}" for x, y in points[1:])
    return head + body + "Z"


@cache
def countries() -> tuple[Country, ...]:
    """The shipped outlines, projected (read once per process)."""
    text = resources.files("kervan.web").joinpath("static", "map", OUTLINES).read_text("utf-8")
    collection: dict[str, Any] = json.loads(text)
    out: list[Country] = []
    for feature in collection["features"]:
        polygons = feature["geometry"]["coordinates"]
        path = "".join(_ring_path(ring) for polygon in polygons for ring in polygon)
        props = feature["properties"]
        out.append(
            Country(
                numeric=str(feature.get("id", "")),
                name=str(props.get("name", "")),
                alpha2=props.get("a2"),
                disputed=bool(props.get("disputed")),
                path=path,
            )
        )
    return tuple(out)


@cache
def base_map_svg() -> str:
    """The country outlines as a standalone SVG document (served once, cached by browsers).

    Colours are presentation attributes: a document used as an image takes no page styles.
    """
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#dce9f2"/>',
        '<g fill="#f4f1ea" stroke="#a39e93" stroke-width="0.35" stroke-linejoin="round">',
    ]
    for country in countries():
        dash = ' stroke-dasharray="1.2 0.8" fill="#ece6da"' if country.disputed else ""
        name = _escape(country.name)
        parts.append(f'<path d="{country.path}"{dash}><title>{name}</title></path>')
    parts.append("</g></svg>")
    return "".join(parts)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _frame(points: Iterable[tuple[float, float]], min_width: float = 160.0) -> ViewBox:
    """A viewBox around `points` with a margin, never narrower than `min_width` map units and
    never flatter than 2.2:1, kept inside the drawn area."""
    xs, ys = zip(*points, strict=True)
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    margin = max(x1 - x0, y1 - y0) * 0.08 + 12.0
    x0, x1, y0, y1 = x0 - margin, x1 + margin, y0 - margin, y1 + margin
    width = max(x1 - x0, min_width)
    height = max(y1 - y0, width / 2.2)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    width, height = min(width, WIDTH), min(height, HEIGHT)
    x = min(max(cx - width / 2, 0.0), WIDTH - width)
    y = min(max(cy - height / 2, 0.0), HEIGHT - height)
    return ViewBox(x, y, width, height)


def _link_lines(network: Network, link_id: str) -> list[list[tuple[float, float]]]:
    link = network.links[link_id]
    a, z = network.nodes[link.from_node], network.nodes[link.to_node]
    return link_geometry(
        (a.lon, a.lat),
        (z.lon, z.lat),
        sea=link.mode is Mode.SEA,
        distance_km=link.distance_km,
        via=",".join(link.via_countries),
    )


Point = tuple[float, float]


def offset_line(points: Sequence[Point], distance: float) -> list[Point]:
    """`points` (a polyline in map coordinates) moved `distance` to its left, corners mitred
    (a mitre at most twice the distance, so a sharp turn does not shoot off)."""
    if distance == 0.0 or len(points) < 2:
        return list(points)
    normals: list[Point] = []
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        normals.append(((y1 - y0) / length, -(x1 - x0) / length))
    out: list[Point] = []
    for i, (x, y) in enumerate(points):
        a = normals[max(i - 1, 0)]
        b = normals[min(i, len(normals) - 1)]
        mx, my = a[0] + b[0], a[1] + b[1]
        size = math.hypot(mx, my)
        if size < 1e-9:
            mx, my, stretch = a[0], a[1], 1.0
        else:
            mx, my = mx / size, my / size
            stretch = 1.0 / max(mx * a[0] + my * a[1], 0.5)
        out.append((x + mx * distance * stretch, y + my * distance * stretch))
    return out


def _points_d(points: Sequence[Point]) -> str:
    head = f"M{points[0][0]:.1f} {points[0][1]:.1f}"
    return head + "".join(f"L{x:.1f} {y:.1f}" for x, y in points[1:])


def _route_paths(network: Network, plan: Plan, distance: float) -> tuple[str, dict[int, str]]:
    """The plan's whole path and each leg's, shifted `distance` to the left of travel.

    The route is shifted as one line, so legs meet where they join; each leg's path is cut
    from it (a deep-sea leg may be two pieces, one leaving the map from each port)."""
    lines: list[list[Point]] = []
    leg_of: list[list[int]] = []  # the leg of each segment, line by line
    for leg in plan.legs:
        leg_lines = _link_lines(network, leg.link_id)
        first = network.nodes[leg.from_node]
        if leg_lines[0][0] != (first.lon, first.lat):
            leg_lines = [line[::-1] for line in leg_lines[::-1]]
        for line in leg_lines:
            points = [project(lon, lat) for lon, lat in line]
            if lines and lines[-1][-1] == points[0]:
                lines[-1].extend(points[1:])
                leg_of[-1].extend([leg.index] * (len(points) - 1))
            else:
                lines.append(points)
                leg_of.append([leg.index] * (len(points) - 1))
    whole: list[str] = []
    pieces: dict[int, list[str]] = {}
    for points, legs in zip(lines, leg_of, strict=True):
        kept = [points[0]]
        kept_legs: list[int] = []
        for point, leg_index in zip(points[1:], legs, strict=True):
            if point != kept[-1]:
                kept.append(point)
                kept_legs.append(leg_index)
        if len(kept) < 2:
            continue
        moved = offset_line(kept, distance)
        whole.append(_points_d(moved))
        start = 0
        for i in range(1, len(kept_legs) + 1):
            if i == len(kept_legs) or kept_legs[i] != kept_legs[start]:
                pieces.setdefault(kept_legs[start], []).append(_points_d(moved[start : i + 1]))
                start = i
    return "".join(whole), {index: "".join(parts) for index, parts in pieces.items()}


def _labels(network: Network, ends: Sequence[str], view: ViewBox) -> tuple[Label, ...]:
    """Every place's label, the most important first: the drawn routes' ends, the hubs (by
    their number of links), then towns and ports, then the rest."""
    links: dict[str, int] = {}
    for link in network.links.values():
        links[link.from_node] = links.get(link.from_node, 0) + 1
        links[link.to_node] = links.get(link.to_node, 0) + 1
    plain = {NodeKind.BORDER_CROSSING, NodeKind.GAUGE_CHANGE}

    def tier(node_id: str) -> int:
        node = network.nodes[node_id]
        if node_id in ends:
            return 0
        if links.get(node_id, 0) >= HUB_LINKS:
            return 1
        if links.get(node_id, 0) >= 3 and not plain & set(node.kinds):
            return 2
        return 3

    order = sorted(network.nodes, key=lambda i: (tier(i), -links.get(i, 0), network.nodes[i].name))
    out: list[Label] = []
    for node_id in order:
        node = network.nodes[node_id]
        x, y = project(node.lon, node.lat)
        level = tier(node_id)
        out.append(Label(x, y, node.name, level, view.width <= TIER_WIDTHS[level]))
    return tuple(out)


def map_view(
    network: Network,
    plans: Sequence[Plan] = (),
    *,
    mode_names: dict[str, str],
    planned_label: str,
    route_label: str,
    avoid_countries: Iterable[str] = (),
    leg_label: str = LEG_LABEL,
    number: Callable[[float, int], str] = _plain_number,
) -> MapView:
    """What to draw for `network` with `plans` over it.

    `mode_names` names each mode in the page's language; `planned_label` is a format string with
    `{year}`; `route_label` one with `{n}` (the plan's rank); `leg_label` one with `{origin}`,
    `{destination}`, `{mode}`, `{km}` and `{hours}` (P50) that names a leg under the pointer,
    its numbers written by `number(value, digits)`.
    """
    segments: list[Segment] = []
    for link in network.links.values():
        a, z = network.nodes[link.from_node], network.nodes[link.to_node]
        planned = link.status is LinkStatus.PLANNED
        title = f"{a.name} – {z.name}: {mode_names[link.mode.value]}"
        if planned and link.opens_year:
            title += f" ({planned_label.format(year=link.opens_year)})"
        lines = _link_lines(network, link.id)
        segments.append(Segment(_path(lines), link.mode.value, planned, title))
    markers: list[Marker] = []
    for node in network.nodes.values():
        x, y = project(node.lon, node.lat)
        if NodeKind.GAUGE_CHANGE in node.kinds:
            kind = "gauge"
        elif NodeKind.BORDER_CROSSING in node.kinds:
            kind = "border"
        else:
            kind = "node"
        markers.append(Marker(x, y, kind, f"{node.name} ({node.country})"))
    # Draw gauge changes and borders last so they stay visible over plain nodes.
    order = {"node": 0, "border": 1, "gauge": 2}
    markers.sort(key=lambda m: order[m.kind])

    stops: list[tuple[float, float]] = []
    ends: list[str] = []
    drawn = [plan for plan in plans if plan.legs]
    for plan in drawn:
        ids = [plan.legs[0].from_node, *(leg.to_node for leg in plan.legs)]
        stops.extend(project(network.nodes[i].lon, network.nodes[i].lat) for i in ids)
        ends.extend((ids[0], ids[-1]))
    if not stops:
        stops = [project(n.lon, n.lat) for n in network.nodes.values()]
    view = _frame(stops)
    routes: list[RouteLine] = []
    for rank, plan in enumerate(plans, start=1):
        if not plan.legs:
            continue
        # Plans side by side: the middle one on the link, the others either side of it.
        shift = (len(routes) - (len(drawn) - 1) / 2) * ROUTE_SPACING * view.width
        whole, pieces = _route_paths(network, plan, shift)
        legs = tuple(
            RouteLeg(
                leg.index,
                pieces[leg.index],
                leg_label.format(
                    origin=leg.from_name,
                    destination=leg.to_name,
                    mode=mode_names[leg.mode.value],
                    km=number(leg.distance_km, 0),
                    hours=number(leg.hours_p50, 0),
                ),
            )
            for leg in plan.legs
            if leg.index in pieces
        )
        routes.append(RouteLine(rank, whole, route_label.format(n=rank), legs))
    avoid = set(avoid_countries)
    avoided = tuple(c for c in countries() if c.alpha2 in avoid)
    return MapView(
        view_box=view,
        marker_radius=round(view.width / 260, 2),
        font_size=round(view.width / 70, 2),
        segments=tuple(segments),
        markers=tuple(markers),
        routes=tuple(routes),
        labels=_labels(network, ends, view),
        avoided=avoided,
    )

"""Build step: country outlines for the corridor map from world-atlas (Natural Earth TopoJSON).

Run once when the outlines are refreshed, never at run time:

    npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz
    python -m kervan.web.outlines_build package/countries-50m.json \
        src/kervan/web/static/map/countries-corridor.geojson

It decodes the TopoJSON arcs, clips every polygon to the corridor's bounding box, simplifies
(Douglas-Peucker, 0.02 degree), rounds coordinates to 0.01 degree (about 1 km, finer than the map
ever draws) and writes GeoJSON with
each country's ISO 3166-1 numeric id, its Natural Earth name and, where known, its alpha-2 code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Point = tuple[float, float]
Ring = list[Point]

# lon_min, lat_min, lon_max, lat_max: China to the Atlantic, the Gulf to the Baltic.
CORRIDOR_BBOX: tuple[float, float, float, float] = (-10.0, 20.0, 125.0, 60.0)

# ISO 3166-1 numeric -> alpha-2 for the countries inside the corridor's box (the network and
# planner speak alpha-2; world-atlas keys countries by numeric code).
ALPHA2 = {
    "004": "AF", "008": "AL", "012": "DZ", "020": "AD", "031": "AZ", "040": "AT", "048": "BH",
    "050": "BD", "051": "AM", "056": "BE", "064": "BT", "070": "BA", "100": "BG", "104": "MM",
    "112": "BY", "156": "CN", "191": "HR", "196": "CY", "203": "CZ", "208": "DK", "233": "EE",
    "246": "FI", "250": "FR", "268": "GE", "275": "PS", "276": "DE", "300": "GR", "348": "HU",
    "356": "IN", "364": "IR", "368": "IQ", "372": "IE", "376": "IL", "380": "IT", "392": "JP",
    "398": "KZ", "400": "JO", "408": "KP", "410": "KR", "414": "KW", "417": "KG", "418": "LA",
    "422": "LB", "428": "LV", "434": "LY", "438": "LI", "440": "LT", "442": "LU", "470": "MT",
    "492": "MC", "496": "MN", "498": "MD", "499": "ME", "504": "MA", "512": "OM", "524": "NP",
    "528": "NL", "578": "NO", "586": "PK", "616": "PL", "620": "PT", "634": "QA", "642": "RO",
    "643": "RU", "682": "SA", "688": "RS", "703": "SK", "705": "SI", "724": "ES", "752": "SE",
    "756": "CH", "760": "SY", "762": "TJ", "764": "TH", "784": "AE", "788": "TN", "792": "TR",
    "795": "TM", "804": "UA", "807": "MK", "818": "EG", "826": "GB", "860": "UZ", "887": "YE",
    "158": "TW", "704": "VN", "344": "HK", "446": "MO", "674": "SM", "336": "VA", "729": "SD",
    "562": "NE", "148": "TD", "478": "MR", "466": "ML", "732": "EH", "232": "ER", "262": "DJ",
    "234": "FO", "352": "IS", "833": "IM", "832": "JE", "831": "GG", "248": "AX", "608": "PH",
}  # fmt: skip


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Every arc of a quantized topology as absolute (lon, lat) points."""
    scale_x, scale_y = topology["transform"]["scale"]
    shift_x, shift_y = topology["transform"]["translate"]
    arcs: list[list[Point]] = []
    for arc in topology["arcs"]:
        x = y = 0
        points: list[Point] = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale_x + shift_x, y * scale_y + shift_y))
        arcs.append(points)
    return arcs


def ring_of(arc_ids: Sequence[int], arcs: list[list[Point]]) -> Ring:
    """Join arcs into one ring; a negative id ~i is arc i reversed (TopoJSON's convention)."""
    ring: Ring = []
    for arc_id in arc_ids:
        points = arcs[arc_id] if arc_id >= 0 else arcs[~arc_id][::-1]
        ring.extend(points[1:] if ring else points)
    return ring


def clip_ring(ring: Ring, bbox: tuple[float, float, float, float]) -> Ring:
    """Sutherland-Hodgman clipping of a closed ring to an axis-aligned box."""
    lon_min, lat_min, lon_max, lat_max = bbox
    # (axis, bound, keep the side above the bound)
    edges = ((0, lon_min, True), (0, lon_max, False), (1, lat_min, True), (1, lat_max, False))
    points = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
    for axis, value, above in edges:
        if not points:
            break

        def inside(p: Point, axis: int = axis, value: float = value, above: bool = above) -> bool:
            return p[axis] >= value if above else p[axis] <= value

        clipped: Ring = []
        previous = points[-1]
        for current in points:
            if inside(current):
                if not inside(previous):
                    clipped.append(_cross(previous, current, axis, value))
                clipped.append(current)
            elif inside(previous):
                clipped.append(_cross(previous, current, axis, value))
            previous = current
        points = clipped
    return points


def _cross(a: Point, b: Point, axis: int, value: float) -> Point:
    t = (value - a[axis]) / (b[axis] - a[axis])
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def simplified(ring: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker: drop points closer than `tolerance` degrees to the line they sit on."""
    if len(ring) < 4:
        return ring
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = ring[first], ring[last]
        dx, dy = bx - ax, by - ay
        length = (dx * dx + dy * dy) ** 0.5
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            px, py = ring[i]
            if length == 0.0:
                distance = ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            else:
                distance = abs(dy * (px - ax) - dx * (py - ay)) / length
            if distance > worst:
                worst, index = distance, i
        if index >= 0 and worst > tolerance:
            keep[index] = True
            stack.extend([(first, index), (index, last)])
    return [p for p, k in zip(ring, keep, strict=True) if k]


def rounded(ring: Ring, digits: int = 2) -> list[list[float]]:
    """The ring rounded, without repeated points, closed (first point repeated last)."""
    out: list[list[float]] = []
    for lon, lat in ring:
        point = [round(lon, digits), round(lat, digits)]
        if not out or out[-1] != point:
            out.append(point)
    if len(out) > 1 and out[0] == out[-1]:
        out.pop()
    if len(out) < 3:
        return []
    return [*out, out[0]]


def corridor_outlines(
    topology: dict[str, Any],
    bbox: tuple[float, float, float, float] = CORRIDOR_BBOX,
    tolerance: float = 0.02,
) -> dict[str, Any]:
    """The countries of `topology` clipped to `bbox`, as a GeoJSON FeatureCollection.

    Natural Earth gives no ISO code to disputed or breakaway areas it draws apart (Kosovo,
    N. Cyprus, Siachen Glacier); those features get `disputed: true` so the map can mark them.
    """
    arcs = decode_arcs(topology)
    features: list[dict[str, Any]] = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry.get("type") == "Polygon":
            polygons = [geometry["arcs"]]
        elif geometry.get("type") == "MultiPolygon":
            polygons = geometry["arcs"]
        else:
            continue
        kept: list[list[list[list[float]]]] = []
        for polygon in polygons:
            rings = [
                rounded(simplified(clip_ring(ring_of(r, arcs), bbox), tolerance)) for r in polygon
            ]
            if rings and rings[0]:
                kept.append([r for r in rings if r])
        if not kept:
            continue
        numeric = str(geometry.get("id", ""))
        features.append(
            {
                "type": "Feature",
                "id": numeric,
                "properties": {
                    "name": geometry.get("properties", {}).get("name", ""),
                    "a2": ALPHA2.get(numeric),
                    "disputed": not numeric,
                },
                "geometry": {"type": "MultiPolygon", "coordinates": kept},
            }
        )
    return {"type": "FeatureCollection", "bbox": list(bbox), "features": features}


def main(argv: Sequence[str]) -> int:
    """`outlines_build SOURCE.json TARGET.geojson`: write the corridor's outlines."""
    if len(argv) != 2:
        sys.stderr.write("usage: python -m kervan.web.outlines_build countries-50m.json out\n")
        return 2
    topology = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    collection = corridor_outlines(topology)
    Path(argv[1]).write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The web layer without a browser: formats, catalogues, the outline build step, the form reader,
the map geometry and the pages' HTTP answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.customs.rules import Lane
from kervan.documents.ecmr import ReservationSubject
from kervan.documents.goods import SealCondition
from kervan.documents.kinds import DocumentKind
from kervan.network.model import CargoUnit, Mode, Network, NodeKind
from kervan.routing.planner import Objective
from kervan.routing.requirements import OfficeRole, PermitType
from kervan.shipments.events import ShipmentStatus
from kervan.web import corridor_map
from kervan.web.document_parts import STEP_ROLES
from kervan.web.i18n import LANGUAGES, choose_language, locale
from kervan.web.outlines_build import clip_ring, corridor_outlines, simplified
from kervan.web.planner_form import parse_form
from tests.api.conftest import node_settings
from tests.databases import migrated_database

WEB = resources.files("kervan.web")


@pytest.fixture
def client(tmp_path: Path, web_network: Network) -> Iterator[TestClient]:
    with migrated_database("sqlite", tmp_path) as url:
        app = create_app(node_settings(url, tmp_path), network=web_network)
        with TestClient(app, base_url="http://127.0.0.1") as test_client:
            yield test_client


@pytest.mark.parametrize(
    ("code", "number", "money", "day"),
    [
        ("en", "1,234.5", "1,234,568 USD", "5 March 2026"),
        ("tr", "1.234,5", "1.234.568 USD", "5 Mart 2026"),
        ("ru", "1\u00a0234,5", "1\u00a0234\u00a0568 USD", "5 марта 2026 г."),
    ],
)
def test_numbers_and_dates_per_language(code: str, number: str, money: str, day: str) -> None:
    loc = locale(code)
    assert loc.number(1234.5, 1) == number
    assert loc.money(1234567.6) == money
    assert loc.date(date(2026, 3, 5)) == day
    assert loc.number(-0.04, 1) == f"0{loc.decimal}0"
    assert loc.number(-12.5, 1) == f"-12{loc.decimal}5"


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    catalogues = {
        code: json.loads(WEB.joinpath("messages", f"{code}.json").read_text("utf-8"))
        for code in LANGUAGES
    }
    english = catalogues["en"]
    for code, catalogue in catalogues.items():
        assert set(catalogue) == set(english), code
        for key, text in english.items():
            if key.startswith("_"):
                continue
            fields = set(re.findall(r"\{(\w+)\}", text))
            assert set(re.findall(r"\{(\w+)\}", catalogue[key])) == fields, (code, key)


def test_every_message_the_templates_use_exists(web_network: Network) -> None:
    english = locale("en")
    used: set[str] = set()
    for item in WEB.joinpath("templates").iterdir():
        text = item.read_text("utf-8")
        used |= {k for k in re.findall(r"loc\.t\([\"']([\w.]+)[\"']", text) if k[-1] not in "._"}
    used |= {f"status.{s.value}" for s in ShipmentStatus} | {f"lane.{x.value}" for x in Lane}
    used |= {f"sign.step.{step}" for step in STEP_ROLES}
    used |= {f"event.record.{e}" for e in ("taken_over", "delivered")}
    used |= {f"reservation.{r.value}" for r in ReservationSubject}
    used |= {f"seal.{c.value}" for c in SealCondition} | {f"permit_type.{t}" for t in range(1, 5)}
    used |= {f"mode.{m.value}" for m in Mode} | {f"unit.{u.value}" for u in CargoUnit}
    used |= {f"objective.{o.value}" for o in Objective}
    used |= {f"country.{c}" for c in web_network.countries()}
    used |= {f"kind.{k.value}" for k in NodeKind} | {f"doc.{d.value}" for d in DocumentKind}
    used |= {f"permit.{p.value}" for p in PermitType} | {f"office.{r.value}" for r in OfficeRole}
    used |= {f"field.{name}" for name in ("unit", "objective", "year", "departure")}
    used |= {"field.avoid_country", "field.avoid_mode"}
    missing = sorted(k for k in used if k not in english.messages)
    assert missing == []


def test_language_choice() -> None:
    assert choose_language("ru", "tr-TR,tr;q=0.9") == "ru"
    assert choose_language(None, "de-DE,tr;q=0.8,en;q=0.5") == "tr"
    assert choose_language("xx", None) == "en"


def test_clip_keeps_the_inside_and_cuts_at_the_box() -> None:
    square = [(-5.0, -5.0), (5.0, -5.0), (5.0, 5.0), (-5.0, 5.0), (-5.0, -5.0)]
    clipped = clip_ring(square, (0.0, 0.0, 10.0, 10.0))
    assert sorted(clipped) == [(0.0, 0.0), (0.0, 5.0), (5.0, 0.0), (5.0, 5.0)]
    assert clip_ring(square, (20.0, 20.0, 30.0, 30.0)) == []


def test_simplify_drops_only_points_on_the_line() -> None:
    line = [(0.0, 0.0), (1.0, 0.001), (2.0, 0.0), (2.0, 2.0)]
    assert simplified(line, 0.01) == [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)]


def test_outline_build_decodes_quantized_arcs() -> None:
    topology = {
        "type": "Topology",
        "transform": {"scale": [1.0, 1.0], "translate": [0.0, 30.0]},
        "arcs": [[[10, 0], [5, 0], [0, 5], [-5, 0], [0, -5]]],
        "objects": {
            "countries": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0]], "id": "398", "properties": {"name": "K"}},
                    {"type": "Polygon", "arcs": [[0]], "properties": {"name": "Contested"}},
                ],
            }
        },
    }
    features = corridor_outlines(topology)["features"]
    ring = features[0]["geometry"]["coordinates"][0][0]
    assert ring == [[10.0, 30.0], [15.0, 30.0], [15.0, 35.0], [10.0, 35.0], [10.0, 30.0]]
    assert features[0]["properties"] == {"name": "K", "a2": "KZ", "disputed": False}
    assert features[1]["properties"]["disputed"] is True


def test_shipped_outlines_cover_the_corridor_with_their_licence() -> None:
    collection = json.loads(WEB.joinpath("static", "map", corridor_map.OUTLINES).read_text("utf-8"))
    codes = {f["properties"]["a2"] for f in collection["features"]}
    assert {"CN", "KZ", "AZ", "GE", "TR", "DE", "UZ", "TM"} <= codes
    for feature in collection["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            for lon, lat in (p for ring in polygon for p in ring):
                assert -10.0 <= lon <= 125.0
                assert 20.0 <= lat <= 60.0
    readme = WEB.joinpath("static", "map", "README.md").read_text("utf-8")
    assert "Natural Earth" in readme
    assert "ISC" in WEB.joinpath("static", "map", "LICENSE-world-atlas").read_text("utf-8")
    assert "BSD" in WEB.joinpath("static", "vendor", "htmx", "LICENSE").read_text("utf-8")


def test_nothing_shipped_points_outside_the_server() -> None:
    """Templates, styles and scripts name no other host (the SVG namespace is not a request)."""
    roots = [WEB.joinpath("templates"), WEB.joinpath("static", "css"), WEB.joinpath("static", "js")]
    roots.append(WEB.joinpath("static", "vendor", "htmx"))
    found: list[str] = []
    for root in roots:
        for item in root.iterdir():
            if item.name.endswith((".html", ".css", ".js")):
                text = item.read_text("utf-8").replace("http://www.w3.org/2000/svg", "")
                found += [
                    f"{item.name}: {m}" for m in re.findall(r"(?:https?:)?//[\w.-]+\.\w+", text)
                ]
    assert found == []


def test_deep_sea_links_go_round_not_across_asia() -> None:
    shanghai, rotterdam = (121.497, 31.4), (4.442, 51.904)
    lanes = corridor_map.link_geometry(shanghai, rotterdam, sea=True, distance_km=19610.0)
    assert len(lanes) == 2
    assert lanes[0][0] == shanghai
    assert lanes[1][0] == rotterdam
    # Both lanes leave the map southwards; no point lies in inner Asia.
    assert lanes[0][-1][1] < corridor_map.LAT_SOUTH
    assert lanes[1][-1][1] < corridor_map.LAT_SOUTH
    assert not any(50 < lon < 110 and lat > 25 for lane in lanes for lon, lat in lane)
    feeder = corridor_map.link_geometry((41.66, 42.16), (28.95, 41.01), sea=True, distance_km=1138)
    assert feeder == [[(41.66, 42.16), (28.95, 41.01)]]


def test_form_reader_keeps_good_values_and_names_bad_ones() -> None:
    params = {"origin": " Xi'an ", "destination": "Istanbul", "unit": "barrel", "year": "2030"}
    lists = {"avoid_country": ["kz", "QQ"], "avoid_mode": ["sea", "air"]}
    form = parse_form(
        params, lists, known_countries=frozenset({"KZ", "TR"}), years=range(2026, 2032)
    )
    assert form.origin == "Xi'an"
    assert form.ready
    assert form.unit is CargoUnit.CONTAINER
    assert form.year == 2030
    assert form.avoid_countries == ("KZ",)
    assert form.avoid_modes == (Mode.SEA,)
    assert set(form.problems) == {"unit", "avoid_country", "avoid_mode"}
    dated = parse_form(
        {"departure": "2027-06-01", "year": "2030"},
        {},
        known_countries=frozenset(),
        years=range(2026, 2032),
    )
    assert dated.to_request().on_date == date(2027, 6, 1)
    assert dated.to_request().year is None


def test_planner_page_answers_html_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/", params={"origin": "Xi'an", "destination": "Istanbul"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert page.text.count('class="book-form"') >= 2
    assert page.text.count('name="plan_key"') == page.text.count('class="book-form"')


def test_unknown_place_is_told_on_the_page(client: TestClient) -> None:
    page = client.get("/", params={"origin": "Xian", "destination": "Istanbol"})
    assert page.status_code == 200
    assert "No place on the corridor network matches “Istanbol”" in page.text
    assert "Istanbul" in page.text.split("Did you mean:")[1]


def test_suggestions_fragment(client: TestClient) -> None:
    fragment = client.get("/web/places", params={"field": "destination", "destination": "ista"})
    assert fragment.status_code == 200
    assert 'data-value="Istanbul"' in fragment.text
    assert "<html" not in fragment.text
    assert client.get("/web/places", params={"field": "nope"}).status_code == 422


def test_language_cookie_and_no_open_redirect(client: TestClient) -> None:
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/").text)
    assert token is not None
    csrf = token.group(1)
    refused = client.post("/web/language", data={"lang": "tr"}, follow_redirects=False)
    assert refused.status_code == 403
    answer = client.post(
        "/web/language",
        data={"lang": "tr", "next": "/?origin=x", "csrf": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/?origin=x"
    assert "kervan_lang=tr" in answer.headers["set-cookie"]
    outside = client.post(
        "/web/language",
        data={"lang": "ru", "next": "//evil.example/", "csrf": csrf},
        follow_redirects=False,
    )
    assert outside.headers["location"] == "/"
    assert '<html lang="ru">' in client.get("/").text


def test_base_map_is_cacheable_svg(client: TestClient) -> None:
    svg = client.get("/web/map/countries.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "max-age" in svg.headers["cache-control"]
    assert svg.text.count("<path ") > 50
    assert "stroke-dasharray" in svg.text  # contested areas are marked


def test_planner_page_shows_handling_waiting_and_driving_rest(client: TestClient) -> None:
    truck = client.get("/", params={"origin": "Almaty", "destination": "Istanbul", "unit": "truck"})
    assert truck.status_code == 200
    assert 'class="segment segment-rest"' in truck.text
    assert 'class="segment segment-waiting"' in truck.text
    container = client.get("/", params={"origin": "Xi'an", "destination": "Istanbul"})
    assert 'class="segment segment-handling"' in container.text
    closed = client.get(
        "/",
        params={"origin": "Shanghai", "destination": "Rotterdam", "red_sea": "closed"},
    )
    assert closed.status_code == 200
    assert 'name="red_sea" value="closed" checked' in closed.text
    assert '<input type="hidden" name="red_sea" value="closed">' in closed.text

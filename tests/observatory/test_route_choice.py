"""Route choice: shippers take the planner's alternatives by generalised cost given the queues
they see, divert when their route is congested and are refused (with where) when every route
would queue longer than a shipper accepts, so queues stay bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from kervan.network.model import CargoUnit, Network
from kervan.observatory.choice import MAX_EXPECTED_WAIT_HOURS, Offer, choose
from kervan.observatory.scenario import load_scenario
from kervan.observatory.simulator import compiled_for, run

OWN = """
[[source]]
id = "est-test"
title = "test figures"
publisher = "Kervan tests"
year = 2026
kind = "estimate"
method = "made up for a test"
"""


def _scenario(folder: Path, name: str, header: str = "", body: str = "") -> str:
    text = (
        f'[scenario]\nid = "{name}"\ntitle = "{name}"\nincludes = ["baseline-2024"]\n'
        f"{header}\n{OWN}\n{body}"
    )
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_cheapest_route_that_does_not_queue_too_long() -> None:
    boxes = 41.0  # a block train of 41 FEU; money per train
    unit = CargoUnit.CONTAINER

    def offer(usd_per_box: float, p50: float, queue: float = 0.0, where: str = "") -> Offer:
        return Offer(usd_per_box * boxes, p50, p50 + 150, queue, where)

    aktau = "CASP-AAU-ALAT:KZAAU>AZ-ALAT"
    sea = offer(6000, 900)
    assert choose([offer(8000, 400), offer(8080, 400), sea], unit, boxes).option == 0
    # a short queue is not worth leaving the route for; 300 h of queue is
    assert choose([offer(8000, 400, 100, aktau), offer(8080, 400), sea], unit, boxes).option == 0
    assert choose([offer(8000, 400, 300, aktau), offer(8080, 400), sea], unit, boxes).option == 1
    # beyond the bound a route is out, however cheap
    jammed = offer(8000, 400, MAX_EXPECTED_WAIT_HOURS + 1, aktau)
    assert choose([jammed, sea], unit, boxes).option == 1
    refused = choose([jammed, offer(6000, 900, MAX_EXPECTED_WAIT_HOURS + 1, "SEA")], unit, boxes)
    assert refused.option is None
    assert refused.refused_at == aktau


def test_flows_weigh_the_planners_alternatives(corridor: Network) -> None:
    compiled = compiled_for(load_scenario("cku-open", corridor))
    by_id = {f.flow.id: f for f in compiled.flows}
    labels = {o.label for o in by_id["xian-poti-containers"].options}
    assert any("SUEZ" in label for label in labels)  # sea
    assert any("CASP-" in label for label in labels)  # the Caspian
    assert any("CKU" in o.label for o in by_id["xian-tashkent-containers"].options)
    # the CKU to Turkmenbashi is an alternative for Xi'an's containers once it opens; the
    # Northern route is one only where the planner offers it (within its detour caps)
    assert any(o.label.startswith("CKU") for o in by_id["xian-istanbul-containers"].options)


def test_the_2024_flows_keep_their_routes(corridor: Network) -> None:
    r = run(load_scenario("baseline-2024", corridor).with_years(0.25), seed=5)
    carried = sum(s.tonnes_per_year for s in r.routes)
    assert r.refused == 0
    assert r.diverted_tonnes_per_year < 0.05 * carried


def test_containers_divert_when_their_ferry_line_is_cut(corridor: Network, tmp_path: Path) -> None:
    # the Aktau-Alat ferries carry a tenth of what they do: 2,466 t a sailing instead of 24,658
    body = """
[[resource]]
id = "sailings:CASP-AAU-ALAT"
kind = "sailings"
link = "CASP-AAU-ALAT"
unit = "tonnes"
headway_hours = 48
capacity_per_sailing = 2466
sources = { headway_hours = "est-test", capacity_per_sailing = "est-test" }
"""
    cut = load_scenario(_scenario(tmp_path, "ferry-cut", body=body), corridor).with_years(0.25)
    base = load_scenario("baseline-2024", corridor).with_years(0.25)
    before, after = run(base, seed=5), run(cut, seed=5)
    # what the cut line cannot take goes by Kuryk, Turkmenbashi or the sea, or is refused at
    # the Aktau-Alat sailings: it does not queue for ever
    lost = after.diverted_tonnes_per_year + after.refused_tonnes_per_year
    assert lost > before.diverted_tonnes_per_year + before.refused_tonnes_per_year + 1_000_000
    assert after.diverted_tonnes_per_year > before.diverted_tonnes_per_year + 100_000
    assert all(p.startswith(("CASP-", "port:", "locomotives:")) for p in after.refused_at)
    assert after.created == after.delivered + after.in_system + after.refused
    assert after.ferry_wait_max_hours < 3 * MAX_EXPECTED_WAIT_HOURS


def test_demand_beyond_every_route_is_refused_where_it_queues(
    corridor: Network, tmp_path: Path
) -> None:
    header = (
        "demand_target_tonnes_per_year = 30000000\n"
        'sources = { demand_target_tonnes_per_year = "est-test" }'
    )
    over = load_scenario(_scenario(tmp_path, "over", header=header), corridor).with_years(0.25)
    r = run(over, seed=5)
    assert r.created == r.delivered + r.in_system + r.refused
    assert r.refused > 0
    assert r.refused_tonnes_per_year == pytest.approx(sum(r.refused_at.values()))
    # refused at the places that queue: Caspian sailings or Georgia's locomotives
    assert all(p.startswith(("CASP-", "locomotives:", "line:", "port:")) for p in r.refused_at)
    assert any(p.startswith("CASP-") for p in r.refused_at)
    # queues stay bounded: nobody waits for ever for a ferry
    assert r.ferry_wait_max_hours < 3 * MAX_EXPECTED_WAIT_HOURS
    unstable = [x for x in r.loads if x.offered_per_year >= x.capacity_per_year]
    assert unstable  # the offered load shows what would be needed

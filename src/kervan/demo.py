"""`make demo`: a tour of the corridor on the embedded default, nothing to set up.

It asks the planner what a shipper would: two containers from Xi'an to Duisburg without crossing
Russia, the same with Russia allowed, sea via Suez for comparison, a truck from Tashkent to
Istanbul with its e-Permits and e-TIR, and what the China-Kyrgyzstan-Uzbekistan railway changes
when it opens.
"""

from __future__ import annotations

from rich.console import Console
from rich.rule import Rule

from kervan.cli import app

console = Console()

TOUR: list[tuple[str, list[str]]] = [
    ("The corridor network Kervan ships with", ["network", "stats"]),
    (
        "Two containers Xi'an -> Duisburg without crossing Russia or Belarus, fastest first",
        ["route", "Xi'an", "Duisburg", "--avoid", "RU", "--avoid", "BY", "--alternatives", "3"],
    ),
    (
        "The same with the Northern corridor allowed, ranked by cost",
        ["route", "Xi'an", "Duisburg", "--by", "cost", "--alternatives", "2"],
    ),
    (
        "Every plan no other beats on time, cost and CO2 at once (Lianyungang -> Duisburg)",
        ["route", "Lianyungang", "Duisburg", "--pareto", "--avoid", "RU"],
    ),
    (
        "An Uzbek truck Tashkent -> Istanbul: e-CMR, e-TIR and an e-Permit per country entered",
        [
            "route",
            "Tashkent",
            "Istanbul",
            "--unit",
            "truck",
            "--truck-flag",
            "UZ",
            "--alternatives",
            "1",
        ],
    ),
    (
        "Kashgar -> Tashkent in 2031, with the China-Kyrgyzstan-Uzbekistan railway open",
        ["route", "Kashgar", "Tashkent", "--year", "2031", "--alternatives", "2"],
    ),
    (
        "The same shipment on digital documents in the Simplified Customs Corridor's green lane",
        ["route", "Xi'an", "Istanbul", "--digital", "--green-lane", "--alternatives", "1"],
    ),
]


def main() -> None:
    """Run every step of the tour, stopping at the first that fails."""
    for title, args in TOUR:
        console.print(Rule(f"[bold]{title}"))
        console.print(f"[dim]$ kervan {' '.join(args)}[/]", highlight=False)
        app(args, standalone_mode=False)
    console.print(Rule("[bold green]Tour complete"))
    console.print("Try your own: .venv/bin/kervan route --help")


if __name__ == "__main__":
    main()

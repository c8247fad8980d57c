"""Published figures the observatory reports against, each with the network source it rests on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedFigure:
    """One published figure: its value, unit and the network source id that publishes it."""

    name: str
    value: float
    unit: str
    source: str


# Trans-Caspian International Transport Route volumes (Kazakh Ministry of Transport).
TITR_VOLUME_2024 = PublishedFigure("TITR volume 2024", 4_484_000.0, "t/year", "kz-mot-titr")
TITR_VOLUME_2025 = PublishedFigure("TITR volume 2025", 4_119_000.0, "t/year", "kz-mot-titr")
TITR_TEU_2025 = PublishedFigure("TITR containers 2025", 77_000.0, "TEU/year", "kz-mot-titr")

# Policy targets for 2030 (World Bank 2023; OTS Secretary General 2025).
TARGET_VOLUME_2030 = PublishedFigure(
    "Middle Corridor volume 2030", 11_000_000.0, "t/year", "wb-mtc-2023"
)
TARGET_TIME_FACTOR_2030 = PublishedFigure("travel time 2030 vs today", 0.5, "ratio", "wb-mtc-2023")

TARGET_CKU_2030 = PublishedFigure(
    "China-Kyrgyzstan-Uzbekistan railway volume", 15_000_000.0, "t/year", "ots-2025"
)
TARGET_AKTAU_TEU = PublishedFigure(
    "Aktau sea hub containers", 300_000.0, "TEU/year", "kz-ports-2024"
)

# Trade context (not simulated: a freight simulator does not model trade values).
INTRA_OTS_TRADE_SHARE = PublishedFigure(
    "intra-OTS trade, share of external trade (about US$57bn)", 0.07, "share", "ots-2025"
)
TARGET_INTRA_OTS_TRADE_SHARE = PublishedFigure(
    "intra-OTS trade share goal", 0.10, "share", "ots-2025"
)

# The reference year the time target is measured from (the network without reforms).
REFERENCE_YEAR = 2024

# Nodes whose Caspian sailings count as Trans-Caspian (TITR) volume: Kazakhstan's Caspian ports.
TITR_PORTS = frozenset({"KZAAU", "KZKUR"})

ALL = (
    TITR_VOLUME_2024,
    TITR_VOLUME_2025,
    TITR_TEU_2025,
    TARGET_VOLUME_2030,
    TARGET_TIME_FACTOR_2030,
    TARGET_CKU_2030,
    TARGET_AKTAU_TEU,
    INTRA_OTS_TRADE_SHARE,
    TARGET_INTRA_OTS_TRADE_SHARE,
)

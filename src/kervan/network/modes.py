"""How cargo moves and what a shipper books: the network's two words every layer uses, kept
free of imports so the command line can offer them without loading the model."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """How cargo moves on a link."""

    RAIL = "rail"
    ROAD = "road"
    FERRY = "ferry"  # Caspian and Black Sea rail/Ro-Ro ferries
    SEA = "sea"  # deep-sea container and bulk shipping


class CargoUnit(StrEnum):
    """The unit a shipper books and pays by.

    container: one 40-foot container (FEU); truck: one semi-trailer truck; bulk: one tonne.
    """

    CONTAINER = "container"
    TRUCK = "truck"
    BULK = "bulk"


class Passage(StrEnum):
    """A sea passage a scenario can close; a sea link names the ones it sails through."""

    RED_SEA = "red-sea"  # Suez Canal, the Red Sea and Bab-el-Mandeb
    CAPE = "cape"  # round the Cape of Good Hope: sailed only when the Red Sea is shut to a plan
    BOSPHORUS = "bosphorus"  # Turkish Straits between the Black Sea and the Mediterranean

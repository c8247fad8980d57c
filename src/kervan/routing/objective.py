"""What the planner minimises; kept free of imports so the command line can offer it without
loading the planner."""

from __future__ import annotations

from enum import StrEnum


class Objective(StrEnum):
    TIME = "time"
    COST = "cost"
    CO2 = "co2"
    MIX = "mix"

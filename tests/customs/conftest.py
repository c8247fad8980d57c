"""Fixtures of the customs tests: offices and the two reference plans on the shipped corridor."""

from __future__ import annotations

import pytest

from kervan.customs.offices import CustomsOffices
from kervan.network.model import Network
from kervan.routing.plan import Plan
from kervan.routing.planner import Planner
from tests.customs.shipments import container_plan, truck_plan


@pytest.fixture(scope="session")
def offices(corridor: Network) -> CustomsOffices:
    return CustomsOffices(corridor)


@pytest.fixture(scope="session")
def xian_istanbul(corridor_planner: Planner) -> Plan:
    return container_plan(corridor_planner)


@pytest.fixture(scope="session")
def tashkent_istanbul(corridor_planner: Planner) -> Plan:
    return truck_plan(corridor_planner)

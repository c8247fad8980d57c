"""Shared fixtures: the mini corridor for fast tests and the shipped corridor network."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.routing.planner import Planner

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def mini_network() -> Network:
    return load_network(FIXTURES / "mini")


@pytest.fixture(scope="session")
def corridor() -> Network:
    """The shipped corridor network."""
    return load_network()


@pytest.fixture(scope="session")
def corridor_planner(corridor: Network) -> Planner:
    return Planner(corridor)


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A writable copy of the mini dataset, for breaking on purpose."""
    target = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", target)
    return target

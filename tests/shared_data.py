"""Reference data the standards publish (RFC 9162 Merkle vectors, UN/CEFACT schemas...), kept in
the folder `shared` beside the repository, for tests that check Kervan against it.

KERVAN_TEST_SHARED_DIR points elsewhere. A fresh clone made from a local checkout (as CI makes
one) also looks beside the checkout it was cloned from. Missing data skips those tests with the
reason, except under CI=true, where it fails the run: a CI run must never pass by checking
nothing.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

import pytest

SHARED_DIR_ENV = "KERVAN_TEST_SHARED_DIR"
REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DIR = REPOSITORY.parent / "shared"


@cache
def _candidates() -> tuple[Path, ...]:
    """Where the shared folder may be: the environment's choice, else beside this checkout,
    then beside the local checkout this one was cloned from."""
    chosen = os.environ.get(SHARED_DIR_ENV)
    if chosen:
        return (Path(chosen),)
    found = [DEFAULT_SHARED_DIR]
    origin = subprocess.run(
        ["git", "-C", str(REPOSITORY), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        found.append(Path(origin).resolve().parent / "shared")
    return tuple(found)


def shared_data(*parts: str) -> Path:
    """The folder or file `parts` under the shared data, holding something.

    Skips the calling module (or fails it under CI=true) when it is missing or empty; call it at
    module level, before the module's tests are parametrised from the files it lists.
    """
    for root in _candidates():
        path = root.joinpath(*parts)
        if path.is_file() or (path.is_dir() and any(path.iterdir())):
            return path
    looked = " or ".join(str(root.joinpath(*parts)) for root in _candidates())
    reason = f"{'/'.join(parts)} is not present at {looked} (set {SHARED_DIR_ENV})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs the shared reference data: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

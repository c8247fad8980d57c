"""Reference data the standards publish (RFC 9162 Merkle vectors, UN/CEFACT schemas...), kept in
the folder `shared` beside the repository, for tests that check Kervan against it.

KERVAN_TEST_SHARED_DIR points elsewhere. Missing data skips those tests with the reason, except
under CI=true, where it fails the run: a CI run must never pass by checking nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DIR_ENV = "KERVAN_TEST_SHARED_DIR"
DEFAULT_SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"


def shared_data(*parts: str) -> Path:
    """The folder or file `parts` under the shared data, holding something.

    Skips the calling module (or fails it under CI=true) when it is missing or empty; call it at
    module level, before the module's tests are parametrised from the files it lists.
    """
    root = Path(os.environ.get(SHARED_DIR_ENV) or DEFAULT_SHARED_DIR)
    path = root.joinpath(*parts)
    if path.is_file() or (path.is_dir() and any(path.iterdir())):
        return path
    reason = f"{'/'.join(parts)} is not present at {path} (set {SHARED_DIR_ENV})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs the shared reference data: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

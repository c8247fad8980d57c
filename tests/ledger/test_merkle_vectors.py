"""RFC 9162 proof verification against the transparency-dev test vectors in ../shared."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from kervan.errors import MerkleProofError
from kervan.ledger.merkle import verify_consistency, verify_inclusion
from tests.shared_data import shared_data

VECTORS = shared_data("standards", "rfc9162")


def _files(kind: str) -> list[Path]:
    folder = VECTORS / kind
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(VECTORS)) for p in paths]


INCLUSION = _files("inclusion")
CONSISTENCY = _files("consistency")


@pytest.mark.parametrize("path", INCLUSION, ids=_ids(INCLUSION))
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)
    proof = [_b64(p) for p in v["proof"] or []]

    def run() -> None:
        verify_inclusion(v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), proof, _b64(v["root"]))

    if v["wantErr"]:
        with pytest.raises(MerkleProofError):
            run()
    else:
        run()


@pytest.mark.parametrize("path", CONSISTENCY, ids=_ids(CONSISTENCY))
def test_consistency_vector(path: Path) -> None:
    v = _load(path)
    proof = [_b64(p) for p in v["proof"] or []]

    def run() -> None:
        verify_consistency(v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), proof)

    if v["wantErr"]:
        with pytest.raises(MerkleProofError):
            run()
    else:
        run()


def test_vector_set_has_happy_paths_and_corruptions() -> None:
    # Guards against a silently empty or one-sided vector set making the tests above vacuous.
    wants = [_load(p)["wantErr"] for p in INCLUSION + CONSISTENCY]
    assert len(INCLUSION) > 50
    assert len(CONSISTENCY) > 50
    assert wants.count(False) >= 10
    assert wants.count(True) >= 100

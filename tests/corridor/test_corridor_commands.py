"""`kervan corridor nats-config` and `trust-list` from a topology file, and the topology's
errors: one broker user per authority with only its own subjects; the trust list built from the
nodes' public keys, handed to every node, with a revocation kept when it is built again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from kervan.cli import app
from kervan.exchange.trustfile import (
    TRUST_LIST_SIGNER,
    TrustListFile,
    sign_trust_list,
    write_atomically,
)
from kervan.settings import get_settings
from kervan.signatures.trustlist import TrustList
from kervan.store.keyfiles import KeyFileStore
from kervan.store.node_files import keys_of_node_dir

runner = CliRunner()

TOPOLOGY = """
[corridor]
name = "middle"

[broker]
url = "nats://127.0.0.1:4333"

[[node]]
authority = "kz-customs"
kind = "customs"
database = "sqlite:///kz.sqlite3"
data_dir = "nodes/kz"
listen = "127.0.0.1:9411"

[[node]]
authority = "tr-customs"
kind = "customs"
database = "sqlite:///tr.sqlite3"
data_dir = "nodes/tr"
listen = "127.0.0.1:9412"
"""


def topology(tmp_path: Path, text: str = TOPOLOGY) -> Path:
    path = tmp_path / "topology.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_nats_config_gives_each_authority_only_its_own_subjects(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corridor", "nats-config", str(topology(tmp_path))])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "nats.conf").read_text(encoding="utf-8"))
    assert (config["host"], config["port"]) == ("127.0.0.1", 4333)
    assert config["jetstream"] == {"store_dir": str(tmp_path / "nats-store")}
    users = {u["user"]: u for u in config["authorization"]["users"]}
    assert sorted(users) == ["kz-customs", "operator", "tr-customs"]
    kz = users["kz-customs"]["permissions"]
    assert kz["subscribe"] == {"allow": ["_INBOX.kz-customs.>"]}
    published = kz["publish"]["allow"]
    assert "kervan.middle.*.kz-customs" in published  # to anyone, as itself
    assert not any("tr-customs" in subject for subject in published)
    assert "$JS.API.CONSUMER.MSG.NEXT.KERVAN_MIDDLE.kz-customs" in published
    assert "permissions" not in users["operator"]
    credentials = tmp_path / "nats-credentials.json"
    assert credentials.stat().st_mode & 0o077 == 0
    assert (tmp_path / "nats.conf").stat().st_mode & 0o077 == 0
    # Written again: the same passwords (nodes already configured keep working).
    before = json.loads(credentials.read_text(encoding="utf-8"))
    assert (
        runner.invoke(app, ["corridor", "nats-config", str(tmp_path / "topology.toml")]).exit_code
        == 0
    )
    assert json.loads(credentials.read_text(encoding="utf-8")) == before


def test_trust_list_is_built_from_the_nodes_keys_and_keeps_a_revocation(tmp_path: Path) -> None:
    path = topology(tmp_path)
    missing = runner.invoke(app, ["corridor", "trust-list", str(path)])
    assert missing.exit_code == 2
    assert "kz-customs has no key" in missing.output
    kz = KeyFileStore(tmp_path / "nodes/kz/keys").generate("kz-customs", "kz-customs-2026")
    tr = KeyFileStore(tmp_path / "nodes/tr/keys").generate("tr-customs", "tr-customs-2026")
    assert runner.invoke(app, ["corridor", "trust-list", str(path)]).exit_code == 0
    for node in ("kz", "tr"):
        trust = TrustListFile(tmp_path / f"nodes/{node}/trust-list.json").current()
        assert sorted(k.kid for k in trust) == [kz.kid, tr.kid]
    revoked = runner.invoke(
        app,
        ["corridor", "trust-list", str(path), "--revoke", kz.kid, "--at", "2026-12-01T00:00:00"],
    )
    assert revoked.exit_code == 0, revoked.output
    # A rotation: KZ's new key joins; the revocation stays in force.
    KeyFileStore(tmp_path / "nodes/kz/keys").generate("kz-customs", "kz-customs-2027")
    assert runner.invoke(app, ["corridor", "trust-list", str(path)]).exit_code == 0
    trust = TrustListFile(tmp_path / "nodes/tr/trust-list.json").current()
    assert trust.get(kz.kid).revoked_at is not None
    assert trust.get("kz-customs-2027").revoked_at is None
    assert trust.get(tr.kid).revoked_at is None
    unknown = runner.invoke(app, ["corridor", "trust-list", str(path), "--revoke", "nobody-1"])
    assert unknown.exit_code == 2
    assert "nobody-1" in unknown.output


def test_a_topology_with_mistakes_is_refused_naming_them(tmp_path: Path) -> None:
    doubled = TOPOLOGY.replace('"tr-customs"', '"kz-customs"')
    result = runner.invoke(app, ["corridor", "nats-config", str(topology(tmp_path, doubled))])
    assert result.exit_code == 2
    assert "names an authority twice" in result.output
    wrong = TOPOLOGY.replace('kind = "customs"', 'kind = "smuggler"', 1)
    result = runner.invoke(app, ["corridor", "nats-config", str(topology(tmp_path, wrong))])
    assert result.exit_code == 2
    assert "node.0.kind" in result.output
    result = runner.invoke(app, ["corridor", "nats-config", str(topology(tmp_path, "[[node]\n"))])
    assert result.exit_code == 2
    assert "not TOML" in result.output


def test_nodes_apply_only_trust_lists_the_operator_signed_and_never_an_older_one(
    tmp_path: Path,
) -> None:
    path = topology(tmp_path)
    kz = KeyFileStore(tmp_path / "nodes/kz/keys").generate("kz-customs", "kz-customs-2026")
    KeyFileStore(tmp_path / "nodes/tr/keys").generate("tr-customs", "tr-customs-2026")
    assert runner.invoke(app, ["corridor", "trust-list", str(path)]).exit_code == 0
    node_file = tmp_path / "nodes/tr/trust-list.json"
    operator = TrustList.from_jwks(
        json.loads((tmp_path / "nodes/tr/trust-list-key.json").read_text(encoding="utf-8"))
    )
    assert [k.party for k in operator] == [TRUST_LIST_SIGNER]
    assert "d" not in next(iter(operator)).to_jwk()  # only the public half leaves the operator
    first = node_file.read_text(encoding="utf-8")
    trust = TrustListFile(node_file, interval=0.0, signed_by=operator)
    assert trust.current().get(kz.kid).revoked_at is None

    # KZ's key revoked: the signed list reaches the running node.
    revoke = ["corridor", "trust-list", str(path), "--revoke", kz.kid]
    assert runner.invoke(app, [*revoke, "--at", "2026-12-01T00:00:00"]).exit_code == 0
    revoked = node_file.read_text(encoding="utf-8")
    assert trust.current().get(kz.kid).revoked_at is not None
    assert (trust.reloads, trust.refused) == (1, 0)

    # Someone lifts the revocation in the node's copy: the signature no longer holds.
    document = json.loads(revoked)
    for key in document["keys"]:
        key.pop("revoked_at", None)
    write_atomically(node_file, json.dumps(document))
    assert trust.current().get(kz.kid).revoked_at is not None
    assert trust.refused == 1
    # A list signed by another key (here KZ's own) is refused the same way.
    forged = json.loads(sign_trust_list(trust.current(), kz, datetime.now(UTC)))
    forged["keys"] = [k for k in forged["keys"] if k["kid"] != kz.kid]
    forged["signature"] = json.loads(sign_trust_list(TrustList(), kz, datetime.now(UTC)))[
        "signature"
    ]
    write_atomically(node_file, json.dumps(forged))
    assert kz.kid in trust.current()
    # A list the operator signed earlier (without the revocation), put back: refused as
    # older than the one in force, so the revocation stays.
    keys = keys_of_node_dir(tmp_path / "operator", get_settings())
    signer = keys.load(TRUST_LIST_SIGNER, keys.kids(TRUST_LIST_SIGNER)[-1])
    before = TrustList.from_jwks(json.loads(first))
    write_atomically(
        node_file, sign_trust_list(before, signer, datetime.now(UTC) - timedelta(days=1))
    )
    assert trust.current().get(kz.kid).revoked_at is not None
    assert trust.refused == 3
    # An unsigned JWKS is no list for a node that knows the operator's key.
    write_atomically(node_file, json.dumps(trust.current().to_jwks()))
    assert trust.current().get(kz.kid).revoked_at is not None
    assert trust.refused == 4
    # The operator's next list applies again.
    assert runner.invoke(app, ["corridor", "trust-list", str(path)]).exit_code == 0
    assert trust.current().get(kz.kid).revoked_at is not None
    assert trust.reloads == 2

"""`kervan audit` names every tampered row: on the demonstration corridor's store (SQLite and
PostgreSQL), an attacker with the database in hand turns the guards off (SQLite: drops the
triggers and foreign keys; PostgreSQL: session_replication_role = replica), then edits, deletes
and reorders each kind of row a signature or the ledger covers, one case at a time; the audit
must name the table, the row and what is wrong, and exit 15. The node refuses to start on such a
store unless KERVAN_SERVE_UNVERIFIED_LEDGER says otherwise; the guard on documents.state refuses
a direct edit of a state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from kervan.api.app import create_app
from kervan.cli import app
from kervan.demo import seed
from kervan.documents.kinds import DocumentKind
from kervan.errors import LedgerIntegrityError
from kervan.ledger.chain import LedgerEntry
from kervan.settings import Environment, Settings, get_settings
from kervan.store.db import normalise_url
from tests.databases import BACKENDS, admin_sql, schema_url

runner = CliRunner()
AUDIT_EXIT = 15
#: The tables whose rows a signature or the ledger covers (restored after every case).
COVERED = ("documents", "document_versions", "document_signatures", "ledger_entries",
           "signed_tree_heads", "permits", "log_checkpoints")  # fmt: skip


@dataclass(frozen=True)
class Node:
    url: str
    data_dir: Path
    engine: Engine  # the attacker's: no guards of the node's own engine
    note: str  # CIM/SMGS note of the delivered container: version 1, 4 signed steps
    other_note: str  # CIM/SMGS note of the container at the border
    ecmr: str  # the truck's e-CMR, issued by its consignor in this test
    permits: tuple[str, str]  # two of the truck's e-Permit requests
    issued: tuple[str, str]  # the ids of two permits issued for the truck, the second revoked

    @property
    def sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def settings(self, **extra: Any) -> Settings:
        return Settings(
            environment=Environment.DEVELOPMENT,
            data_dir=self.data_dir,
            database_url=self.url,
            **extra,
        )


@pytest.fixture(scope="module", params=BACKENDS)
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    data_dir = tmp_path_factory.mktemp("node")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'kervan.sqlite3'}"
    else:
        schema = f"kervan_test_{uuid.uuid4().hex[:16]}"
        admin_sql(f"CREATE SCHEMA {schema}")
        url = schema_url(schema)
    settings = Settings(environment=Environment.DEVELOPMENT, data_dir=data_dir, database_url=url)
    passwords, shipments = seed(settings)
    stages = {stage: shipment for shipment, _, stage in shipments}
    delivered, at_border, truck = (stages[s] for s in ("delivered", "at the Azerbaijani border",
                                                       "booked"))  # fmt: skip
    note = f"{delivered}-{DocumentKind.CIM_SMGS.id_part}-1"
    ecmr = f"{truck}-{DocumentKind.ECMR.id_part}-1"
    engine = create_engine(normalise_url(url))
    node = Node(
        url,
        data_dir,
        engine,
        note,
        f"{at_border}-{DocumentKind.CIM_SMGS.id_part}-1",
        ecmr,
        (f"{truck}-{DocumentKind.EPERMIT.id_part}-1", f"{truck}-{DocumentKind.EPERMIT.id_part}-2"),
        ("", ""),
    )
    # Two tree heads of different sizes, through the product: an evidence export, a signed
    # step (the consignor issues the truck's e-CMR), another export.
    with _cli_on(node):
        assert runner.invoke(app, ["evidence", "export", note]).exit_code == 0
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/v1/auth/login",
            json={"username": "tashkent-cotton", "password": passwords["tashkent-cotton"]},
        )
        headers = {"authorization": f"Bearer {login.json()['access_token']}"}
        signed = client.post(f"/v1/documents/{ecmr}/signatures", json={"step": "issue"},
                             headers=headers)  # fmt: skip
        assert signed.status_code == 201, signed.text
        # The permit desk issues two of the truck's permits and revokes the second.
        login = client.post(
            "/v1/auth/login",
            json={"username": "uz-permits", "password": passwords["uz-permits"]},
        )
        desk = {"authorization": f"Bearer {login.json()['access_token']}"}
        issued = []
        for number in (3, 4):
            document = f"{truck}-{DocumentKind.EPERMIT.id_part}-{number}"
            answer = client.post("/v1/permits", json={"document_id": document}, headers=desk)
            assert answer.status_code == 201, answer.text
            issued.append(answer.json()["permit_id"])
        revoked = client.post(f"/v1/permits/{issued[1]}/revocation",
                              json={"reason": "issued in error"}, headers=desk)  # fmt: skip
        assert revoked.status_code == 201, revoked.text
    node = dataclasses.replace(node, issued=(issued[0], issued[1]))
    with _cli_on(node):
        assert runner.invoke(app, ["evidence", "export", ecmr]).exit_code == 0
        # A checkpoint of the log, as the node signs one for its witnesses (it has none to
        # co-sign it here: exit 15, the checkpoint kept all the same).
        cosigned = runner.invoke(app, ["log", "cosign"])
        assert json.loads(cosigned.stdout)["cosigned_by"] == [], cosigned.output
    yield node
    engine.dispose()
    if schema is not None:
        admin_sql(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def _cli_on(node: Node) -> Iterator[None]:
    """The command line's environment pointing at the node (settings read afresh)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERVAN_ENVIRONMENT", "development")
        patch.setenv("KERVAN_DATA_DIR", str(node.data_dir))
        patch.setenv("KERVAN_DATABASE_URL", node.url)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()


def audit(node: Node) -> tuple[int, list[dict[str, str]]]:
    with _cli_on(node):
        result = runner.invoke(app, ["audit", "--json"])
    return result.exit_code, json.loads(result.stdout)["findings"]


@contextmanager
def guards_off(node: Node) -> Iterator[Connection]:
    """What an attacker with the database does first; the triggers come back afterwards."""
    with node.engine.begin() as connection:
        if not node.sqlite:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield connection
            return
        triggers = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        for name, _ in triggers:
            connection.exec_driver_sql(f"DROP TRIGGER {name}")
        yield connection
        for _, sql in triggers:
            connection.exec_driver_sql(sql)


@contextmanager
def restored_afterwards(node: Node) -> Iterator[None]:
    with node.engine.connect() as connection:
        saved = {
            table: [
                dict(row._mapping) for row in connection.execute(text(f"SELECT * FROM {table}"))
            ]
            for table in COVERED
        }
    try:
        yield
    finally:
        with guards_off(node) as connection:
            for table in COVERED:
                connection.execute(text(f"DELETE FROM {table}"))
                if saved[table]:
                    columns = list(saved[table][0])
                    connection.execute(
                        text(
                            f"INSERT INTO {table} ({', '.join(columns)}) "
                            f"VALUES ({', '.join(':' + c for c in columns)})"
                        ),
                        saved[table],
                    )


def one(connection: Connection, sql: str, **params: Any) -> Any:
    return connection.execute(text(sql), params).one()


def _flip(value: str, position: int = 20) -> str:
    return value[:position] + chr(ord(value[position]) ^ 1) + value[position + 1 :]


# -- the tampering, one case each: (what it does, the rows the audit must name) ----------------

Tamper = Callable[[Connection, Node], None]


def edit_state(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE documents SET state = 'in_transit' WHERE id = :d"), {"d": n.note})


def edit_current_version(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE documents SET current_version = 2 WHERE id = :d"), {"d": n.ecmr})


def delete_document(c: Connection, n: Node) -> None:
    c.execute(text("DELETE FROM documents WHERE id = :d"), {"d": n.permits[0]})


def reorder_documents(c: Connection, n: Node) -> None:
    # The two notes' states swapped: each document claims the other's place in its lifecycle.
    states = {d: one(c, "SELECT state FROM documents WHERE id = :d", d=d)[0]
              for d in (n.note, n.other_note)}  # fmt: skip
    for document, other in ((n.note, n.other_note), (n.other_note, n.note)):
        c.execute(text("UPDATE documents SET state = :s WHERE id = :d"),
                  {"s": states[other], "d": document})  # fmt: skip


def edit_body(c: Connection, n: Node) -> None:
    c.execute(
        text("UPDATE document_versions SET body = :b WHERE document_id = :d AND version = 1"),
        {"b": _flip(one(c, "SELECT body FROM document_versions WHERE document_id = :d",
                        d=n.note)[0]), "d": n.note},
    )  # fmt: skip


def edit_body_and_digest(c: Connection, n: Node) -> None:
    body = one(c, "SELECT body FROM document_versions WHERE document_id = :d", d=n.note)[0]
    forged = body.replace('"version":1', '"version":1,"x":0', 1)
    if forged == body:
        forged = _flip(body)
    c.execute(
        text("UPDATE document_versions SET body = :b, digest = :h WHERE document_id = :d"),
        {"b": forged, "h": hashlib.sha256(forged.encode()).hexdigest(), "d": n.note},
    )


def delete_version(c: Connection, n: Node) -> None:
    c.execute(text("DELETE FROM document_versions WHERE document_id = :d"), {"d": n.permits[1]})


def reorder_versions(c: Connection, n: Node) -> None:
    first, second = n.permits
    rows = {d: one(c, "SELECT body, digest FROM document_versions WHERE document_id = :d", d=d)
            for d in n.permits}  # fmt: skip
    for document, other in ((first, second), (second, first)):
        c.execute(
            text("UPDATE document_versions SET body = :b, digest = :h WHERE document_id = :d"),
            {"b": rows[other][0], "h": rows[other][1], "d": document},
        )


def delete_last_signature(c: Connection, n: Node) -> None:
    c.execute(text("DELETE FROM document_signatures WHERE document_id = :d AND position = 3"),
              {"d": n.note})  # fmt: skip


def delete_first_signature(c: Connection, n: Node) -> None:
    c.execute(text("DELETE FROM document_signatures WHERE document_id = :d AND position = 0"),
              {"d": n.note})  # fmt: skip


def edit_signature_role(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE document_signatures SET role = 'consignee' "
                   "WHERE document_id = :d AND position = 1"), {"d": n.note})  # fmt: skip


def edit_signature_entry(c: Connection, n: Node) -> None:
    entry = one(c, "SELECT entry FROM document_signatures WHERE document_id = :d AND position = 2",
                d=n.note)[0]  # fmt: skip
    signature = json.loads(entry)["signature"]
    forged = json.dumps({"protected": json.loads(entry)["protected"],
                         "signature": ("A" if signature[0] != "A" else "B") + signature[1:]},
                        separators=(",", ":"))  # fmt: skip
    statement = "UPDATE document_signatures SET entry = :e WHERE document_id = :d AND position = 2"
    c.execute(text(statement), {"e": forged, "d": n.note})


def reorder_signatures(c: Connection, n: Node) -> None:
    # The consignor's and the consignee's (the carrier's two may be the same bytes: one key,
    # one role, the same second, the same version).
    for old, new in ((0, 99), (3, 0), (99, 3)):
        c.execute(text("UPDATE document_signatures SET position = :new "
                       "WHERE document_id = :d AND position = :old"),
                  {"new": new, "old": old, "d": n.note})  # fmt: skip


def edit_ledger_event(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE ledger_entries SET event_type = 'forged' "
                   "WHERE document_id = :d AND seq = 2"), {"d": n.note})  # fmt: skip


def rewrite_ledger_entry(c: Connection, n: Node) -> None:
    # A careful forger: a new digest with the entry's own hashes recomputed to match.
    row = one(c, "SELECT * FROM ledger_entries WHERE document_id = :d AND seq = 2", d=n.note)
    at = row.recorded_at
    at = at if isinstance(at, datetime) else datetime.fromisoformat(at)  # SQLite: text
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    entry = LedgerEntry(row.log_index, row.document_id, row.seq, row.event_type, "ab" * 32,
                        row.previous_entry_hash, at)  # fmt: skip
    c.execute(
        text("UPDATE ledger_entries SET payload_digest = :p, entry_hash = :e, leaf_hash = :l "
             "WHERE log_index = :i"),
        {"p": entry.payload_digest, "e": entry.entry_hash(), "l": entry.leaf_hash().hex(),
         "i": row.log_index},
    )  # fmt: skip


def delete_ledger_entry(c: Connection, n: Node) -> None:
    c.execute(text("DELETE FROM ledger_entries WHERE document_id = :d AND seq = 3"),
              {"d": n.note})  # fmt: skip


def reorder_ledger_entries(c: Connection, n: Node) -> None:
    for old, new in ((2, 9999), (3, 2), (9999, 3)):
        c.execute(text("UPDATE ledger_entries SET log_index = :new WHERE log_index = :old"),
                  {"new": new, "old": old})  # fmt: skip


def move_ledger_entry(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE ledger_entries SET org_id = 'istanbul-imports' "
                   "WHERE document_id = :d AND seq = 1"), {"d": n.note})  # fmt: skip


def delete_last_ledger_entry(c: Connection, n: Node) -> None:
    # The newest: the revocation of the second permit.
    c.execute(text("DELETE FROM ledger_entries WHERE log_index = "
                   "(SELECT max(log_index) FROM ledger_entries)"))  # fmt: skip


def edit_tree_head_root(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE signed_tree_heads SET root_hash = :r WHERE tree_size = "
                   "(SELECT min(tree_size) FROM signed_tree_heads)"), {"r": "cd" * 32})  # fmt: skip


def edit_tree_head_size(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE signed_tree_heads SET tree_size = tree_size - 1 WHERE tree_size = "
                   "(SELECT min(tree_size) FROM signed_tree_heads)"))  # fmt: skip


def reorder_tree_heads(c: Connection, n: Node) -> None:
    # Each head given the other's root and signature.
    small, large = c.execute(text("SELECT tree_size, root_hash, signature FROM signed_tree_heads "
                                  "ORDER BY tree_size")).all()  # fmt: skip
    for mine, theirs in ((small, large), (large, small)):
        statement = (
            "UPDATE signed_tree_heads SET root_hash = :r, signature = :s WHERE tree_size = :t"
        )
        c.execute(text(statement), {"r": theirs[1], "s": theirs[2], "t": mine[0]})


def edit_permit(c: Connection, n: Node) -> None:
    fields = json.loads(one(c, "SELECT fields FROM permits WHERE permit_id = :p", p=n.issued[0])[0])
    fields["plate_number"] = "01A777AA"
    c.execute(text("UPDATE permits SET fields = :f WHERE permit_id = :p"),
              {"f": json.dumps(fields, separators=(",", ":")), "p": n.issued[0]})  # fmt: skip


def edit_permit_qr(c: Connection, n: Node) -> None:
    qr = one(c, "SELECT qr_code FROM permits WHERE permit_id = :p", p=n.issued[0])[0]
    forged = qr[:-3] + ("A" if qr[-3] != "A" else "B") + qr[-2:]
    c.execute(text("UPDATE permits SET qr_code = :q WHERE permit_id = :p"),
              {"q": forged, "p": n.issued[0]})  # fmt: skip


def delete_permit(c: Connection, n: Node) -> None:
    c.execute(text("DELETE FROM permits WHERE permit_id = :p"), {"p": n.issued[0]})


def reorder_permits(c: Connection, n: Node) -> None:
    rows = {p: one(c, "SELECT fields, qr_code FROM permits WHERE permit_id = :p", p=p)
            for p in n.issued}  # fmt: skip
    for permit, other in ((n.issued[0], n.issued[1]), (n.issued[1], n.issued[0])):
        c.execute(text("UPDATE permits SET fields = :f, qr_code = :q WHERE permit_id = :p"),
                  {"f": rows[other][0], "q": rows[other][1], "p": permit})  # fmt: skip


def unrevoke_permit(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE permits SET revoked_at = NULL WHERE permit_id = :p"),
              {"p": n.issued[1]})  # fmt: skip


def edit_checkpoint(c: Connection, n: Node) -> None:
    note = one(c, "SELECT note FROM log_checkpoints")[0]
    origin, size, root, *rest = note.split("\n")
    forged = "\n".join(
        [origin, size, root[:5] + ("A" if root[5] != "A" else "B") + root[6:], *rest]
    )
    c.execute(text("UPDATE log_checkpoints SET note = :n"), {"n": forged})


def move_checkpoint(c: Connection, n: Node) -> None:
    c.execute(text("UPDATE log_checkpoints SET tree_size = tree_size - 1"))


#: Each case: the tampering, then (table, text in the row, text in the problem) it must name.
CASES: dict[str, tuple[Tamper, list[tuple[str, str, str]]]] = {
    "edit a document's state": (edit_state, [("documents", "{note}", "state 'in_transit'")]),
    "edit a document's current version": (
        edit_current_version, [("document_versions", "{ecmr} v2", "missing")]),
    "delete a document": (delete_document, [("documents", "{permit0}", "missing")]),
    "reorder documents' states": (reorder_documents, [
        ("documents", "{note}", "is not what its signed steps lead to"),
        ("documents", "{other_note}", "is not what its signed steps lead to")]),
    "edit a version's body": (edit_body, [("document_versions", "{note} v1", "does not hash")]),
    "edit a version's body and digest": (edit_body_and_digest, [
        ("document_versions", "{note} v1", "not the one the ledger recorded"),
        ("document_signatures", "{note} v1 position 0", "does not verify")]),
    "delete a version": (delete_version, [("document_versions", "{permit1} v1", "missing")]),
    "reorder versions": (reorder_versions, [
        ("document_versions", "{permit0} v1", "the body names document '{permit1}'"),
        ("document_versions", "{permit1} v1", "the body names document '{permit0}'")]),
    "delete the last signature": (delete_last_signature, [
        ("document_signatures", "{note}", "3 signature rows, but the ledger records 4")]),
    "delete the first signature": (delete_first_signature, [
        ("document_signatures", "{note} v1", "positions are [1, 2, 3]")]),
    "edit a signature's role": (edit_signature_role, [
        ("document_signatures", "{note} v1 position 1", "role 'consignee'")]),
    "edit a signature": (edit_signature_entry, [
        ("document_signatures", "{note} v1 position 2", "does not verify")]),
    "reorder signatures": (reorder_signatures, [
        ("document_signatures", "{note} v1 position 0", "not the signature the ledger recorded"),
        ("document_signatures", "{note} v1 position 3", "not the signature the ledger recorded")]),
    "edit a ledger entry": (edit_ledger_event, [
        ("ledger_entries", "document {note}, seq 2", "entry_hash is not the hash")]),
    "rewrite a ledger entry with its hashes": (rewrite_ledger_entry, [
        ("ledger_entries", "document {note}, seq 3", "previous_entry_hash"),
        ("signed_tree_heads", "size", "rebuild another root")]),
    "delete a ledger entry": (delete_ledger_entry, [
        ("ledger_entries", "log_index", "before it is missing"),
        ("ledger_entries", "document {note}, seq 4", "seq 4 where 3 was due"),
        ("document_signatures", "{note}", "4 signature rows, but the ledger records 3")]),
    "reorder ledger entries": (reorder_ledger_entries, [
        ("ledger_entries", "log_index 2,", "entry_hash is not the hash"),
        ("ledger_entries", "log_index 3,", "entry_hash is not the hash")]),
    "move a ledger entry to another organisation": (move_ledger_entry, [
        ("ledger_entries", "document {note}, ledger seq 1", "recorded for istanbul-imports")]),
    "delete the newest ledger entry": (delete_last_ledger_entry, [
        ("signed_tree_heads", "size", "entries were deleted"),
        ("permits", "{revoked}", "stored as revoked, but"),
        ("documents", "-4", "state 'revoked' is not what its signed steps lead to ('issued')")]),
    "edit a tree head's root": (edit_tree_head_root, [
        ("signed_tree_heads", "size", "root_hash in the tree head differs from what the log")]),
    "edit a tree head's size": (edit_tree_head_size, [
        ("signed_tree_heads", "size", "tree_size in the tree head differs from what the log")]),
    "reorder tree heads": (reorder_tree_heads, [
        ("signed_tree_heads", "size", "in the tree head differs from what the log signed")]),
    "edit a permit": (edit_permit, [("permits", "{issued}", "plate_number differ")]),
    "edit a permit's QR": (edit_permit_qr, [("permits", "{issued}", "the QR does not verify")]),
    "delete a permit": (delete_permit, [("permits", "{issued}", "missing: version 2 of")]),
    "reorder permits": (reorder_permits, [
        ("permits", "{issued}", "differ from what version 2"),
        ("permits", "{revoked}", "differ from what version 2")]),
    "un-revoke a permit": (unrevoke_permit, [
        ("permits", "{revoked}", "records its revocation, but it is stored as valid")]),
    "edit a checkpoint": (edit_checkpoint, [
        ("log_checkpoints", "size", "signature (kervan-node) does not verify"),
        ("log_checkpoints", "size", "rebuild another root")]),
    "move a checkpoint to another size": (move_checkpoint, [
        ("log_checkpoints", "size", "not of the row's log and size")]),
}  # fmt: skip


def _named(expected: tuple[str, str, str], node: Node) -> tuple[str, str, str]:
    names = {"note": node.note, "other_note": node.other_note, "ecmr": node.ecmr,
             "permit0": node.permits[0], "permit1": node.permits[1],
             "issued": node.issued[0], "revoked": node.issued[1]}  # fmt: skip
    return tuple(part.format(**names) for part in expected)  # type: ignore[return-value]


def test_the_untouched_store_verifies(node: Node) -> None:
    code, findings = audit(node)
    assert (code, findings) == (0, [])


@pytest.mark.parametrize("case", list(CASES))
def test_the_audit_names_each_tampered_row(node: Node, case: str) -> None:
    tamper, expected = CASES[case]
    with restored_afterwards(node):
        with guards_off(node) as connection:
            tamper(connection, node)
        code, findings = audit(node)
        assert code == AUDIT_EXIT
        for table, row, problem in (_named(e, node) for e in expected):
            assert any(
                f["table"] == table and row in f["row"] and problem in f["problem"]
                for f in findings
            ), f"{case}: no finding {table}[{row}] {problem!r} in {findings}"
        assert all(f["table"] != "triggers" for f in findings)
    assert audit(node) == (0, [])


def test_a_dropped_or_disabled_guard_trigger_is_named(node: Node) -> None:
    with node.engine.begin() as connection:
        if node.sqlite:
            sql = one(connection, "SELECT sql FROM sqlite_master WHERE name = "
                      "'trg_ledger_entries_insert_only_delete'")[0]  # fmt: skip
            connection.exec_driver_sql("DROP TRIGGER trg_ledger_entries_insert_only_delete")
        else:
            connection.exec_driver_sql(
                "ALTER TABLE ledger_entries DISABLE TRIGGER trg_ledger_entries_insert_only"
            )
    name = "trg_ledger_entries_insert_only" + ("_delete" if node.sqlite else "")
    try:
        assert audit(node) == (
            AUDIT_EXIT,
            [
                {
                    "table": "triggers",
                    "row": name,
                    "problem": "the guard trigger is missing or disabled",
                }
            ],
        )
    finally:
        with node.engine.begin() as connection:
            if node.sqlite:
                connection.exec_driver_sql(sql)
            else:
                connection.exec_driver_sql("ALTER TABLE ledger_entries ENABLE TRIGGER USER")
    assert audit(node) == (0, [])


def test_a_document_state_cannot_be_edited_directly(node: Node) -> None:
    for statement in (
        "UPDATE documents SET state = 'delivered' WHERE id = :d",
        "UPDATE documents SET state = 'delivered', updated_at = updated_at WHERE id = :d",
    ):
        with pytest.raises(DBAPIError, match="kervan"), node.engine.begin() as connection:
            connection.execute(text(statement), {"d": node.ecmr})
    assert audit(node) == (0, [])


def test_the_node_refuses_to_start_on_a_store_that_does_not_verify(
    node: Node,
) -> None:
    with restored_afterwards(node):
        with guards_off(node) as connection:
            edit_state(connection, node)
        with pytest.raises(LedgerIntegrityError, match="does not serve a store"):
            create_app(node.settings())
        with _cli_on(node):
            refused = runner.invoke(app, ["node", "--all", "--seconds", "0.1"])
        assert refused.exit_code == AUDIT_EXIT, refused.output
        assert "kervan audit" in refused.output
        records = _Records()
        logger = logging.getLogger("kervan.services.audit")
        logger.addHandler(records)
        try:
            started = create_app(node.settings(serve_unverified_ledger=True))
        finally:
            logger.removeHandler(records)
        started.state.engine.dispose()
        loud = [r.getMessage() for r in records.seen if r.levelno == logging.CRITICAL]
        assert loud
        assert "KERVAN_SERVE_UNVERIFIED_LEDGER" in loud[0]
        named = [r.getMessage() for r in records.seen if r.levelno == logging.ERROR]
        assert any(f"documents[{node.note}]" in message for message in named)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record)

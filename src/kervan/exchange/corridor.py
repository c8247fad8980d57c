"""What a corridor's operators hand to its nodes and its broker: the trust list built from the
authorities' public keys, and the NATS server configuration that lets each authority publish
only as itself and read only its own messages.

Subjects (see kervan.exchange.bus): `kervan.<corridor>.<receiver>.<sender>`; each receiver
reads through its durable consumer `<receiver>` (and `<receiver>-resync` when it asks for a
channel again). The configuration gives every authority a user whose permissions allow:
- publishing on `kervan.<corridor>.*.<itself>` (to anyone, as itself only);
- the JetStream API calls of its own consumers only (info, next message, create with its own
  subjects as the filter, acknowledgements);
- replies on its own inbox subjects `_INBOX.<itself>.>` (what it receives from a fetch).
Everything else is denied, so an authority's connection can neither read another's messages nor
sign as another on the wire; an `operator` user (set-up: stream and consumers) may do anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from kervan.errors import TrustListError
from kervan.exchange.bus import corridor_stream
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList

OPERATOR_USER = "operator"


def build_trust_list(
    signers: Iterable[Signer], *, since: datetime, previous: TrustList | None = None
) -> TrustList:
    """The trust list of the corridor: every authority's public keys, valid from `since`.

    Keys already in `previous` keep their validity (revocations and rotations stay in force);
    a key that is new gets `since`. A private key never enters: only the public half is taken.
    """
    trust = TrustList()
    kept = {key.kid: key for key in previous} if previous is not None else {}
    for key in kept.values():
        trust._keys[key.kid] = key
    for signer in signers:
        if signer.kid in kept:
            if kept[signer.kid].party != signer.party:
                raise TrustListError(f"kid {signer.kid} belongs to {kept[signer.kid].party}")
            continue
        trust.add_signer(signer, not_before=since)
    return trust


def _permissions(corridor: str, authority: str) -> dict[str, object]:
    stream = corridor_stream(corridor)
    api = "$JS.API"
    own = f"kervan.{corridor}.{authority}"
    resync = f"{authority}-resync"
    return {
        "publish": {
            "allow": [
                f"kervan.{corridor}.*.{authority}",
                f"{api}.INFO",
                f"{api}.STREAM.INFO.{stream}",
                f"{api}.CONSUMER.INFO.{stream}.{authority}",
                f"{api}.CONSUMER.MSG.NEXT.{stream}.{authority}",
                f"{api}.CONSUMER.CREATE.{stream}.{authority}.{own}.>",
                f"{api}.CONSUMER.INFO.{stream}.{resync}",
                f"{api}.CONSUMER.MSG.NEXT.{stream}.{resync}",
                f"{api}.CONSUMER.DELETE.{stream}.{resync}",
                f"{api}.CONSUMER.CREATE.{stream}.{resync}.{own}.*",
                f"$JS.ACK.{stream}.{authority}.>",
            ]
        },
        "subscribe": {"allow": [f"_INBOX.{authority}.>"]},
    }


def nats_config(
    *,
    corridor: str,
    listen: tuple[str, int],
    store_dir: Path,
    passwords: Mapping[str, str],
    tls: tuple[Path, Path] | None = None,
) -> str:
    """The nats-server configuration of a corridor (JSON, which nats-server reads as its
    configuration syntax): one user per authority in `passwords` plus the operator."""
    users: list[dict[str, object]] = []
    for user, password in sorted(passwords.items()):
        entry: dict[str, object] = {"user": user, "password": password}
        if user != OPERATOR_USER:
            entry["permissions"] = _permissions(corridor, user)
        users.append(entry)
    config: dict[str, object] = {
        "host": listen[0],
        "port": listen[1],
        "jetstream": {"store_dir": str(store_dir)},
        "authorization": {"users": users},
    }
    if tls is not None:
        config["tls"] = {"cert_file": str(tls[0]), "key_file": str(tls[1])}
    return json.dumps(config, indent=2) + "\n"

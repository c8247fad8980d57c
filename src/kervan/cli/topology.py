"""A corridor topology: its authorities' nodes, their databases and key folders, the broker.

    [corridor]
    name = "middle"                      # the JetStream stream KERVAN_MIDDLE
    trust_list = "trust.json"            # the JWKS `kervan corridor trust-list` builds and signs
    operator_dir = "operator"            # the operator's trust-list signing key (keys/...)

    [broker]
    url = "nats://127.0.0.1:4222"        # where the nodes connect (no password here)
    config = "nats.conf"                 # written by `kervan corridor nats-config`
    credentials = "nats-credentials.json"  # generated passwords, one per authority (0600)
    store_dir = "nats-store"             # JetStream's storage
    # tls_cert = "server.pem"; tls_key = "server.key"   (optional)

    [[node]]
    authority = "kz-customs"
    kind = "customs"                     # customs | permit | trade
    database = "postgresql+psycopg://127.0.0.1/kervan_kz"
    data_dir = "nodes/kz"                # its key files under keys/<authority>/, its trust list
    listen = "127.0.0.1:9411"            # its /health, /ready and /metrics

Relative paths are taken from the topology file's folder. Read with `load_topology`, which
raises InvalidRequestError naming what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kervan.errors import InvalidRequestError

_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CorridorSection(_Strict):
    """The corridor's name (its stream) and where its trust list is written."""

    name: str = Field(default="middle", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    trust_list: Path = Path("trust.json")
    #: The corridor operator's folder: the key that signs the trust list (keys/corridor-operator).
    operator_dir: Path = Path("operator")
    max_deliveries: int = Field(default=5, ge=1)
    gap_timeout: float = Field(default=30.0, ge=0)
    ack_wait: float = Field(default=30.0, ge=1)


class BrokerSection(_Strict):
    """The NATS server the nodes use and the files its configuration is made of."""

    url: str = Field(default="nats://127.0.0.1:4222", pattern=r"^(nats|tls)://[^@/]+$")
    config: Path = Path("nats.conf")
    credentials: Path = Path("nats-credentials.json")
    store_dir: Path = Path("nats-store")
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def host_port(self) -> tuple[str, int]:
        """The host and port of `url`."""
        host, _, port = self.url.partition("://")[2].rpartition(":")
        return host or "127.0.0.1", int(port or 4222)


class NodeSection(_Strict):
    """One authority's node."""

    authority: str = Field(pattern=_CODE)
    kind: Literal["customs", "permit", "trade"]
    database: str
    data_dir: Path
    listen: str = Field(pattern=r"^[^:]*:[0-9]{1,5}$")

    @property
    def trust_list(self) -> Path:
        """The node's copy of the corridor's trust list (it reloads it when it changes)."""
        return self.data_dir / "trust-list.json"

    @property
    def trust_list_key(self) -> Path:
        """The operator's public key the node checks each trust list's signature with."""
        return self.data_dir / "trust-list-key.json"

    @property
    def keys_dir(self) -> Path:
        """The node's private keys (KERVAN_DATA_DIR/keys)."""
        return self.data_dir / "keys"


class Topology(_Strict):
    """A corridor: its settings, its broker and its nodes (one per authority)."""

    corridor: CorridorSection = CorridorSection()
    broker: BrokerSection = BrokerSection()
    node: list[NodeSection] = Field(min_length=1)

    def named(self, authority: str) -> NodeSection:
        """The node of `authority`; InvalidRequestError if the topology has none."""
        for node in self.node:
            if node.authority == authority:
                return node
        raise InvalidRequestError(f"the topology has no node for {authority}")


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def load_topology(path: Path) -> Topology:
    """Read and check a topology file; relative paths become absolute from its folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        topology = Topology.model_validate(raw)
    except OSError as exc:
        raise InvalidRequestError(f"cannot read the topology {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRequestError(f"the topology {path} is not TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidRequestError(f"the topology {path}: {problems}") from exc
    codes = [n.authority for n in topology.node]
    if len(set(codes)) != len(codes):
        raise InvalidRequestError(f"the topology {path} names an authority twice: {codes}")
    base = path.resolve().parent
    broker = topology.broker
    return topology.model_copy(
        update={
            "corridor": topology.corridor.model_copy(
                update={
                    "trust_list": _resolve(topology.corridor.trust_list, base),
                    "operator_dir": _resolve(topology.corridor.operator_dir, base),
                }
            ),
            "broker": broker.model_copy(
                update={
                    "config": _resolve(broker.config, base),
                    "credentials": _resolve(broker.credentials, base),
                    "store_dir": _resolve(broker.store_dir, base),
                    "tls_cert": _resolve(broker.tls_cert, base) if broker.tls_cert else None,
                    "tls_key": _resolve(broker.tls_key, base) if broker.tls_key else None,
                }
            ),
            "node": [
                n.model_copy(update={"data_dir": _resolve(n.data_dir, base)}) for n in topology.node
            ],
        }
    )

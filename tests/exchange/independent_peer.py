"""An e-Permit authority written from the shared standards README alone, to test Kervan against:
its own serialiser, its own ES256 proofs (the `cryptography` package, not Kervan's signing
code), its own receiver rules and error bodies, served over a real socket by the standard
library's HTTP server. Nothing here imports Kervan.

The README's wire rules: an event is its own fields in declaration order, then event_producer,
event_consumer, event_timestamp, event_type, event_id, previous_event_id; null fields left out;
no spaces; integers without decimals; `<`, `>`, `&`, `=`, `'` written as \\u003c, \\u003e,
\\u0026, \\u003d, \\u0027; U+2028 and U+2029 as \\u2028 and \\u2029; other non-ASCII as UTF-8.
The proof is the JWS compact form minus its payload ("header.signature"), header
{"kid": ..., "alg": "ES256"}, payload the base64url of the serialised event.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

OWN_FIELDS: dict[str, list[str]] = {
    "QUOTA_CREATED": ["permit_issuer", "permit_issued_for", "permit_year", "permit_type",
                      "quantity"],
    "PERMIT_CREATED": ["permit_id", "permit_type", "permit_issuer", "permit_issued_for",
                       "permit_year", "issued_at", "expires_at", "plate_number", "plate_number2",
                       "company_name", "company_id", "departure_country", "arrival_country",
                       "qr_code", "other_claims"],
    "PERMIT_USED": ["permit_id", "activity_type", "activity_timestamp", "activity_details"],
    "PERMIT_REVOKED": ["permit_id", "revoked_at"],
    "KEY_CREATED": ["authority", "kid", "jwk"],
    "KEY_REVOKED": ["authority", "key_id", "revoked_at"],
}  # fmt: skip
REQUIRED: dict[str, list[str]] = {
    "QUOTA_CREATED": OWN_FIELDS["QUOTA_CREATED"],
    "PERMIT_CREATED": ["permit_id", "permit_type", "permit_issuer", "permit_issued_for",
                       "permit_year", "issued_at", "expires_at", "plate_number", "company_name",
                       "company_id"],
    "PERMIT_USED": ["permit_id", "activity_type", "activity_timestamp"],
    "PERMIT_REVOKED": ["permit_id", "revoked_at"],
    "KEY_CREATED": ["authority", "kid", "jwk"],
    "KEY_REVOKED": ["authority", "key_id", "revoked_at"],
}  # fmt: skip
COMMON = ["event_producer", "event_consumer", "event_timestamp", "event_type", "event_id",
          "previous_event_id"]  # fmt: skip
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f", "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "=": "\\u003d",
            "'": "\\u0027", "\u2028": "\\u2028", "\u2029": "\\u2029"}  # fmt: skip


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def write_json(value: Any) -> str:
    """JSON text as the README says the reference writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_string(k)}:{write_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(write_json(v) for v in value) + "]"
    raise TypeError(f"no JSON for {value!r}")


def serialise(event: Mapping[str, Any]) -> bytes:
    """The exact bytes of an event: own fields in order, then the common ones, nulls left out."""
    names = OWN_FIELDS[event["event_type"]] + COMMON
    parts = [f"{_string(n)}:{write_json(event[n])}" for n in names if event.get(n) is not None]
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Key:
    """An ES256 key pair with its kid."""

    kid: str
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def public_jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": b64(numbers.x.to_bytes(32, "big")),
                "y": b64(numbers.y.to_bytes(32, "big")), "kid": self.kid}  # fmt: skip

    def sign(self, signing_input: bytes) -> str:
        r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def verify_es256(jwk: Mapping[str, str], signing_input: bytes, signature: str) -> bool:
    x = int.from_bytes(unb64(jwk["x"]), "big")
    y = int.from_bytes(unb64(jwk["y"]), "big")
    public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    raw = unb64(signature)
    if len(raw) != 64:
        return False
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


class Refused(Exception):  # noqa: N818
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class IndependentPeer:
    """Authority `code` with its key, the partners it knows (code -> (url, JWKs)), the events
    it received and the chains it keeps."""

    code: str
    key: Key = field(default_factory=lambda: Key(f"az-{uuid.uuid4().hex[:8]}"))
    partners: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    received: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    sent_heads: dict[str, str] = field(default_factory=dict)
    quotas: dict[tuple[str, str, int, int], int] = field(default_factory=dict)
    permits: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    refuse_next: str | None = None  # an error code to answer the next event with
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- publishing ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {"code": self.code, "name": "Azerbaijan e-Permit (independent)",
                "version": "1.0.0", "keys": [self.key.public_jwk()]}  # fmt: skip

    def learn(self, code: str, url: str) -> None:
        """Learn a partner's keys from its GET /."""
        answer = httpx.get(url.rstrip("/") + "/", timeout=10).json()
        assert answer["code"] == code
        self.partners[code] = (url.rstrip("/"), list(answer["keys"]))

    # -- sending ----------------------------------------------------------------------------

    def event(self, consumer: str, event_type: str, own: Mapping[str, Any]) -> dict[str, Any]:
        """A new event for `consumer`, chained after the last one sent (not yet sent)."""
        return {
            **own,
            "event_producer": self.code,
            "event_consumer": consumer,
            "event_timestamp": int(time.time()),
            "event_type": event_type,
            "event_id": str(uuid.uuid4()),
            "previous_event_id": self.sent_heads.get(consumer, "0"),
        }

    def proof(self, body: bytes, key: Key | None = None) -> str:
        key = key or self.key
        header = b64(write_json({"kid": key.kid, "alg": "ES256"}).encode())
        return f"{header}.{key.sign(f'{header}.{b64(body)}'.encode('ascii'))}"

    def post(
        self, event: Mapping[str, Any], *, body: bytes | None = None,
        authorization: str | None = None,
    ) -> httpx.Response:  # fmt: skip
        """POST `event` (or raw `body`) to its consumer; an accepted event moves the chain."""
        data = serialise(event) if body is None else body
        url = self.partners[event["event_consumer"]][0]
        path = event["event_type"].lower().replace("_", "-")
        auth = authorization if authorization is not None else f"Bearer {self.proof(data)}"
        response = httpx.post(f"{url}/events/{path}", content=data, timeout=10,
                              headers={"Authorization": auth,
                                       "Content-Type": "application/json"})  # fmt: skip
        if response.status_code == 200:
            self.sent_heads[event["event_consumer"]] = event["event_id"]
            with self.lock:
                if event["event_type"] == "PERMIT_CREATED":  # the issuer keeps its permits
                    self.permits[event["permit_id"]] = dict(event)
                elif event["event_type"] == "QUOTA_CREATED":  # the quota authority its grants
                    self._apply(event)
        return response

    def qr(
        self, permit_id: str, issued: datetime, expires: datetime, plate: str, company: str
    ) -> str:
        claims = {"id": permit_id, "iat": int(issued.timestamp()), "exp": int(expires.timestamp()),
                  "pn": plate, "cn": company}  # fmt: skip
        header = b64(write_json({"kid": self.key.kid, "alg": "ES256"}).encode())
        payload = b64(write_json(claims).encode())
        return f"{header}.{payload}.{self.key.sign(f'{header}.{payload}'.encode('ascii'))}"

    # -- receiving (the README's receiver rules) ----------------------------------------------

    def receive(self, path: str, data: bytes, authorization: str | None) -> dict[str, Any]:
        with self.lock:
            return self._receive(path, data, authorization)

    def _receive(self, path: str, data: bytes, authorization: str | None) -> dict[str, Any]:
        event_type = path.upper().replace("-", "_")
        if event_type not in OWN_FIELDS:
            raise Refused(404, "NOT_FOUND", path)
        try:
            event: dict[str, Any] = json.loads(data)
        except ValueError:
            raise Refused(400, "VALIDATION_ERROR", "not JSON") from None
        missing = [n for n in COMMON + REQUIRED[event_type] if event.get(n) is None]
        if missing or event["event_type"] != event_type:
            raise Refused(400, "VALIDATION_ERROR", f"invalid fields: {missing}")
        if not authorization or not authorization.startswith("Bearer "):
            raise Refused(401, "INVALID_PROOF", "no proof")
        proof = authorization.removeprefix("Bearer ")
        parts = proof.split(".")
        if len(parts) != 2:
            raise Refused(401, "INVALID_PROOF", "malformed proof")
        producer = event["event_producer"]
        if producer not in self.partners:
            raise Refused(422, "AUTHORITY_NOT_FOUND", f"{producer} unknown")
        try:
            kid = json.loads(unb64(parts[0]))["kid"]
        except (ValueError, KeyError):
            raise Refused(401, "INVALID_PROOF", "malformed header") from None
        keys = {k["kid"]: k for k in self.partners[producer][1]}
        if kid not in keys:
            raise Refused(401, "INVALID_PROOF", f"unknown kid {kid}")
        signing_input = f"{parts[0]}.{b64(serialise(event))}".encode("ascii")
        if not verify_es256(keys[kid], signing_input, parts[1]):
            raise Refused(401, "INVALID_PROOF", "the proof does not hold")
        chain = self.received.setdefault((producer, event["event_consumer"]), [])
        if any(e["event_id"] == event["event_id"] for e in chain):
            raise Refused(422, "EVENT_ALREADY_EXISTS", event["event_id"])
        previous = event["previous_event_id"]
        if previous == "0" and chain:
            raise Refused(422, "GENESIS_EVENT_ALREADY_EXISTS", "genesis exists")
        if previous != "0" and not any(e["event_id"] == previous for e in chain):
            raise Refused(422, "PREVIOUS_EVENT_NOTFOUND", previous)
        if self.refuse_next is not None:
            code, self.refuse_next = self.refuse_next, None
            raise Refused(422, code, "refused as told")
        self._apply(event)
        chain.append(event)
        return event

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event["event_type"]
        if kind == "QUOTA_CREATED":
            key = (event["permit_issuer"], event["permit_issued_for"], event["permit_year"],
                   event["permit_type"])  # fmt: skip
            self.quotas[key] = self.quotas.get(key, 0) + event["quantity"]
        elif kind == "PERMIT_CREATED":
            issuer, issued_for, year, ptype, seq = event["permit_id"].split("-")
            key = (issuer, issued_for, int(year), int(ptype))
            if event["permit_id"] in self.permits:
                raise Refused(422, "PERMITID_ALREADY_EXISTS", event["permit_id"])
            if int(seq) > self.quotas.get(key, 0):
                raise Refused(422, "INSUFFICIENT_PERMIT_QUOTA", event["permit_id"])
            self.permits[event["permit_id"]] = dict(event)
        elif kind in ("PERMIT_USED", "PERMIT_REVOKED"):
            if event["permit_id"] not in self.permits:
                raise Refused(422, "PERMIT_NOTFOUND", event["permit_id"])
            if kind == "PERMIT_REVOKED":
                if event["permit_id"] in self.revoked:
                    raise Refused(422, "PERMIT_ALREADY_REVOKED", event["permit_id"])
                self.revoked.add(event["permit_id"])
            else:
                self.permits[event["permit_id"]].setdefault("uses", []).append(dict(event))
        elif kind == "KEY_CREATED":
            _url, keys = self.partners[event["event_producer"]]
            if any(k["kid"] == event["kid"] for k in keys):
                raise Refused(422, "KEYID_ALREADY_EXISTS", event["kid"])
            keys.append({**json.loads(event["jwk"]), "kid": event["kid"]})
        elif kind == "KEY_REVOKED":
            _url, keys = self.partners[event["event_producer"]]
            keys[:] = [k for k in keys if k["kid"] != event["key_id"]]

    def of_type(self, producer: str, event_type: str) -> list[dict[str, Any]]:
        with self.lock:
            events = self.received.get((producer, self.code), [])
            return [e for e in events if e["event_type"] == event_type]


class PeerServer:
    """`peer` served on 127.0.0.1:`port` (0: any free port) by a thread; stop() takes it down
    (the port stays the same when started again)."""

    def __init__(self, peer: IndependentPeer, port: int = 0) -> None:
        self.peer = peer
        handler = _handler(peer)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=30)


def _handler(peer: IndependentPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: Mapping[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/":
                self._answer(200, peer.describe())
            else:
                self._answer(404, {"status": 404})

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not self.path.startswith("/events/"):
                self._answer(404, {"status": 404})
                return
            try:
                event = peer.receive(
                    self.path.removeprefix("/events/"), data, self.headers.get("Authorization")
                )
            except Refused as exc:
                self._answer(exc.status, {
                    "status": exc.status, "timestamp": datetime.now(UTC).isoformat(),
                    "error_id": str(uuid.uuid4()), "error_message": exc.message,
                    "details": {"errorCode": exc.code},
                })  # fmt: skip
                return
            self._answer(200, {"event_id": event["event_id"]})

    return Handler

"""The signed envelope every cross-border event travels in between national nodes.

A `CrossBorderMessage` names its sender and receiver authority, its type, its place in the
sender->receiver channel (`seq`, 1, 2, 3, ...), when it was made and its JSON payload. The
sender signs the RFC 8785 canonical JSON of every member but `signature` with a detached JWS
("header..signature", header {alg, kid}); `created_at` is the signing time the trust list judges
the key by. The id is "<sender>:<receiver>:<seq>": globally unique, the outbox row's key and the
JetStream message id, and checked on receipt so a signed message cannot be relabelled.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final

from kervan.errors import CanonicalJsonError, MessageRejectedError, SignatureError
from kervan.signatures.canonical import JsonValue, canonical_json, parse_json
from kervan.signatures.encoding import parse_rfc3339, rfc3339
from kervan.signatures.jws import VerifiedToken, sign_detached, verify_detached
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList

AUTHORITY_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,63}")
_MEMBERS: Final = frozenset(
    {"id", "sender", "receiver", "type", "seq", "created_at", "payload", "signature"}
)
NOT_AN_ENVELOPE: Final = "not_an_envelope"
"""The reason for bytes that are not even a JSON object: nothing to attribute or judge."""
_FORGED: Final = frozenset({"bad_signature", "party_mismatch", "payload_changed"})


class MessageType(StrEnum):
    """What a cross-border message carries."""

    PRE_ARRIVAL = "pre_arrival"
    CONTROL_RESULT = "control_result"
    BORDER_CROSSING = "border_crossing"
    EPERMIT_EVENT = "epermit_event"


def check_authority(code: str) -> str:
    """Return `code` if it can name an authority on the wire (letters, digits, '_' or '-',
    2-64 characters, e.g. "KZ-customs"); raise ValueError otherwise."""
    if not isinstance(code, str) or AUTHORITY_PATTERN.fullmatch(code) is None:
        raise ValueError(
            f"authority code {code!r} must be 2-64 letters, digits, '_' or '-' (e.g. KZ-customs)"
        )
    return code


def message_id(sender: str, receiver: str, seq: int) -> str:
    """The id of message `seq` from `sender` to `receiver`, e.g. "KZ-customs:AZ-customs:7"."""
    return f"{check_authority(sender)}:{check_authority(receiver)}:{seq}"


@dataclasses.dataclass(frozen=True, slots=True)
class CrossBorderMessage:
    """One signed event from one authority's node to another's (see the module docstring)."""

    id: str
    sender: str
    receiver: str
    type: MessageType
    seq: int
    created_at: datetime
    payload: Mapping[str, JsonValue]
    signature: str | None = None

    def unsigned(self) -> dict[str, JsonValue]:
        """The envelope without its signature, as JSON values."""
        return {
            "id": self.id,
            "sender": self.sender,
            "receiver": self.receiver,
            "type": self.type.value,
            "seq": self.seq,
            "created_at": rfc3339(self.created_at),
            "payload": dict(self.payload),
        }

    def signing_bytes(self) -> bytes:
        """The RFC 8785 bytes the signature covers."""
        return canonical_json(self.unsigned())

    def sign(self, signer: Signer) -> CrossBorderMessage:
        """Return this message signed by `signer`, which must belong to the sender."""
        if signer.party != self.sender:
            raise ValueError(f"{self.sender}'s message cannot be signed with {signer.party}'s key")
        proof = sign_detached(self.signing_bytes(), signer)
        return dataclasses.replace(self, signature=proof)

    def to_bytes(self) -> bytes:
        """The message as it travels: canonical JSON of the envelope with its signature."""
        if self.signature is None:
            raise ValueError(f"message {self.id} is not signed")
        return canonical_json({**self.unsigned(), "signature": self.signature})

    def verify(self, trust: TrustList, *, received_at: datetime | None = None) -> VerifiedToken:
        """Check the signature against `trust`: the key must be the sender's and valid at
        `created_at`. Returns the signer; raises MessageRejectedError (unsigned, unknown_sender,
        forged, key_revoked, untrusted_key).

        With `received_at`, a key whose revocation is in force then is refused whatever
        `created_at` the sender claims: a sender with a compromised key could backdate it.
        """
        if self.signature is None:
            raise MessageRejectedError("unsigned", "the message carries no signature", **self._at)
        if self.sender not in trust.parties():
            raise MessageRejectedError(
                "unknown_sender", f"{self.sender} has no key in the trust list", **self._at
            )
        try:
            token = verify_detached(
                self.signature, self.signing_bytes(), trust, signed_at=self.created_at
            )
        except SignatureError as exc:
            reason = (
                "forged"
                if exc.reason in _FORGED
                else "key_revoked"
                if exc.reason == "key_revoked"
                else "untrusted_key"
            )
            raise MessageRejectedError(reason, exc.message, **self._at) from exc
        revoked_at = trust.get(token.kid).revoked_at
        if received_at is not None and revoked_at is not None and revoked_at <= received_at:
            raise MessageRejectedError(
                "key_revoked",
                f"key {token.kid} is revoked since {rfc3339(revoked_at)}; the receiver "
                "refuses it whatever signing time the message claims",
                **self._at,
            )
        if token.party != self.sender:
            raise MessageRejectedError(
                "forged",
                f"signed with a key of {token.party}, not of the sender {self.sender}",
                **self._at,
            )
        return token

    @property
    def _at(self) -> dict[str, str]:
        return {"message_id": self.id}

    @classmethod
    def from_bytes(cls, data: bytes) -> CrossBorderMessage:
        """Parse a message as `to_bytes` wrote it (signature not yet checked).

        Raises MessageRejectedError(malformed) for anything that is not such an envelope, and
        (unsigned) for an envelope without a signature.
        """
        try:
            value = parse_json(data)
        except CanonicalJsonError as exc:
            raise MessageRejectedError(NOT_AN_ENVELOPE, exc.message) from exc
        if not isinstance(value, dict):
            raise MessageRejectedError(NOT_AN_ENVELOPE, "a message is a JSON object")
        ident = value.get("id")
        at = {"message_id": ident} if isinstance(ident, str) else {}
        if not set(value) <= _MEMBERS or not (_MEMBERS - {"signature"}) <= set(value):
            raise MessageRejectedError(
                "malformed", f"members must be {sorted(_MEMBERS)}, got {sorted(value)}", **at
            )
        signature = value.get("signature")
        if signature is None:
            raise MessageRejectedError("unsigned", "the message carries no signature", **at)
        try:
            message = cls(
                id=_text(value, "id"),
                sender=check_authority(_text(value, "sender")),
                receiver=check_authority(_text(value, "receiver")),
                type=MessageType(_text(value, "type")),
                seq=_positive(value.get("seq")),
                created_at=parse_rfc3339(_text(value, "created_at")),
                payload=_object(value.get("payload")),
                signature=_text(value, "signature"),
            )
        except ValueError as exc:
            raise MessageRejectedError("malformed", str(exc), **at) from exc
        if message.id != message_id(message.sender, message.receiver, message.seq):
            raise MessageRejectedError(
                "malformed", "the id is not <sender>:<receiver>:<seq> of the envelope", **at
            )
        return message


def _text(value: Mapping[str, JsonValue], name: str) -> str:
    member = value.get(name)
    if not isinstance(member, str) or not member:
        raise ValueError(f"{name!r} must be a non-empty string")
    return member


def _positive(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("'seq' must be a whole number >= 1")
    return value


def _object(value: object) -> dict[str, JsonValue]:
    if not isinstance(value, dict):
        raise ValueError("'payload' must be a JSON object")
    return value

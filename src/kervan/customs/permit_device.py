"""A border device checking e-Permit QR codes offline, with a revocation list of known age.

The control authority signs a border bundle (compact ES256 JWS): the time it was made (`iat`),
the public keys of the issuing authorities it trusts (its partners' and its own) and every
permit revoked as far as it knows (id, issuer, when, why when known). The device keeps the
bundle and the authority's own public keys. Offline it checks the bundle's signature, then the
QR's signature against the bundle's keys, the permit's dates and the revocation list; the
verdict says how old the list is, and a list older than `STALE_AFTER` is flagged: a permit
revoked since it was made would still look valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from kervan.errors import SignatureError, TrustListError
from kervan.signatures.encoding import from_unix_seconds
from kervan.signatures.jws import verify_compact
from kervan.signatures.trustlist import TrustList

#: A revocation list older than this is shown as stale (the device should sync).
STALE_AFTER: Final = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Revocation:
    """A revoked permit as the border bundle lists it."""

    permit_id: str
    issuer: str
    revoked_at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True)
class BorderBundle:
    """A verified border bundle: who made it, when, the issuers' keys and the revocations."""

    authority: str
    made_at: datetime
    trust: TrustList
    revocations: Mapping[str, Revocation]


@dataclass(frozen=True, slots=True)
class OfflineVerdict:
    """What the device says of a scanned QR: the permit's claims, its status, the revocation
    (when revoked) and how fresh the revocation list is."""

    status: str  # valid, revoked, expired, not yet valid
    permit_id: str
    issuer: str
    plate_number: str
    company_name: str
    valid_from: datetime
    valid_until: datetime
    list_made_at: datetime
    list_age: timedelta
    list_stale: bool
    revocation: Revocation | None


def open_bundle(token: str, authority_keys: TrustList) -> BorderBundle:
    """Check a border bundle's signature against the control authority's keys and read it.
    Raises SignatureError when it is not the authority's or is malformed."""
    verified = verify_compact(token, authority_keys)
    claims: Mapping[str, Any] = verified.claims
    try:
        made_at = from_unix_seconds(int(claims["iat"]))
        trust = TrustList()
        for jwk in claims["keys"]:
            party = str(jwk["party"])
            public = {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "kid", "alg")}
            trust.add(public, party=party, not_before=from_unix_seconds(int(jwk["not_before"])))
        revocations = {
            str(item["id"]): Revocation(
                str(item["id"]),
                str(item["issuer"]),
                from_unix_seconds(int(item["revoked_at"])),
                None if item.get("reason") is None else str(item["reason"]),
            )
            for item in claims["revoked"]
        }
    except (KeyError, TypeError, ValueError, TrustListError) as exc:
        raise SignatureError("claims", f"not a border bundle: {exc!r}") from exc
    return BorderBundle(verified.party, made_at, trust, revocations)


def check_offline(qr: str, bundle: BorderBundle, at: datetime) -> OfflineVerdict:
    """The verdict on a scanned permit QR at `at`, from the bundle alone (no network).
    Raises SignatureError when the QR is not signed by an issuer the bundle trusts."""
    token = verify_compact(qr.strip(), bundle.trust)
    claims: Mapping[str, Any] = token.claims
    try:
        permit_id = str(claims["id"])
        valid_from = from_unix_seconds(int(claims["iat"]))
        valid_until = from_unix_seconds(int(claims["exp"]))
        plate, company = str(claims["pn"]), str(claims["cn"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureError("claims", f"the QR lacks a permit claim: {exc!r}") from exc
    revocation = bundle.revocations.get(permit_id)
    if revocation is not None and revocation.issuer == token.party:
        status = "revoked"
    elif at.date() > valid_until.date():
        status = "expired"
    elif at.date() < valid_from.date():
        status = "not yet valid"
    else:
        status, revocation = "valid", None
    age = max(at - bundle.made_at, timedelta(0))
    return OfflineVerdict(
        status=status,
        permit_id=permit_id,
        issuer=token.party,
        plate_number=plate,
        company_name=company,
        valid_from=valid_from,
        valid_until=valid_until,
        list_made_at=bundle.made_at,
        list_age=age,
        list_stale=age > STALE_AFTER,
        revocation=revocation if status == "revoked" else None,
    )

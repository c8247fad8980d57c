"""Documents benchmark: e-CMR versions signed, logged and verified per second, end to end.

Writes bench/results/documents.json. In one run, round after round, it measures:
1. raw: Ed25519 sign + verify of one ~2 KB canonical e-CMR payload with the cryptography
   library directly (the physical limit of one signature);
2. end to end, per document: canonicalise an e-CMR version (model -> JSON -> RFC 8785 bytes),
   sign it as consignor and as carrier (multi-party JWS), append it to the ledger, then, after
   the round's signed tree head, produce its inclusion proof and verify both signatures and the
   inclusion against the tree head (whose own signature is verified once per round).
Reported: medians over the rounds, and the ratio of end to end to the physical limit. A document
carries two signatures, so its physical limit is half the raw sign+verify rate; the target is at
least half of that limit. One extra round runs under cProfile to say where the time goes.

    .venv/bin/python bench/documents.py [--rounds 7] [--documents 300] [--raw 2000]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kervan.documents.canonical import CanonicalJson, canonical_json
from kervan.documents.ecmr import Charge, ChargeKind, EcmrContent, EcmrVersion, Payer, Place
from kervan.documents.goods import (
    Container,
    DangerousGoods,
    GoodsItem,
    Seal,
    SealingParty,
    VehiclePlate,
)
from kervan.documents.jws import GeneralJws, add_signature, sign_document, verify
from kervan.documents.keys import Ed25519Signer
from kervan.documents.parties import Address, Party
from kervan.documents.trustlist import TrustList
from kervan.ledger import InMemoryLedgerStore, Ledger, verify_inclusion, verify_tree_head

RESULTS = Path(__file__).parent / "results" / "documents.json"
TARGET_RATIO = 0.5
SIGNATURES_PER_DOCUMENT = 2
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)

CONSIGNOR = Party(
    id="CN91610131MA6U2T0X1Q",
    name="Xi'an Longhai Electronics Export Co., Ltd.",
    country="CN",
    address=Address(
        street="Gangwu Avenue 99, Chanba International Port", city="Xi'an", postcode="710026"
    ),
)
CONSIGNEE = Party(
    id="TR4810451234",
    name="Bosphorus Enerji Depolama A.S.",
    country="TR",
    address=Address(
        street="Tuzla Organize Sanayi Bolgesi 3. Cad. 12", city="Istanbul", postcode="34957"
    ),
)
CARRIER = Party(
    id="AZ1403004821",
    name="ADY Container",
    country="AZ",
    address=Address(street="Dilara Aliyeva 251", city="Baku", postcode="AZ1010"),
)
SUCCESSIVE = (
    Party(
        id="GE405123456",
        name="Poti Trans Logistics LLC",
        country="GE",
        address=Address(street="David Agmashenebeli 48", city="Poti", postcode="4400"),
    ),
    Party(
        id="TR6210034567",
        name="Kars Anadolu Tasimacilik A.S.",
        country="TR",
        address=Address(street="Faikbey Cad. 14", city="Kars", postcode="36100"),
    ),
)


def ecmr_version(n: int) -> EcmrVersion:
    """Version 1 of the n-th e-CMR Xi'an -> Istanbul (batteries, one sealed 45' container)."""
    content = EcmrContent(
        consignor=CONSIGNOR,
        consignee=CONSIGNEE,
        carrier=CARRIER,
        successive_carriers=SUCCESSIVE,
        place_of_issue=Place(name="Xi'an", country="CN", unlocode="CNXIY"),
        place_of_taking_over=Place(
            name="Xi'an International Inland Port", country="CN", unlocode="CNXIY"
        ),
        date_of_taking_over=date(2025, 3, 3) + timedelta(days=n % 200),
        place_of_delivery=Place(name="Tuzla, Istanbul", country="TR", unlocode="TRTUZ"),
        goods=(
            GoodsItem(
                description="Lithium-ion battery modules for energy storage",
                packages=20,
                package_kind="PX",
                marks=f"LHE-IST {n}/1-20",
                gross_weight_kg=Decimal("18400.000"),
                hs_code="850760",
                dangerous_goods=DangerousGoods(
                    un_number="UN3480", hazard_class="9", packing_group="II"
                ),
                value=Decimal("412000.00"),
                currency="USD",
            ),
        ),
        containers=(
            Container(
                number="CSQU3054383",
                size_type="45G1",
                seals=(
                    Seal(
                        number=f"CN2025{n:06d}",
                        identifier="CN-XIAN-CUSTOMS",
                        affixed_by=SealingParty.CUSTOMS,
                    ),
                ),
            ),
        ),
        vehicle_plates=(
            VehiclePlate(number="10 AB 123", country="AZ"),
            VehiclePlate(number="10 TT 456", country="AZ"),
        ),
        consignor_instructions="Export declaration filed at Xi'an customs; transit under TIR.",
        charges=(
            Charge(
                kind=ChargeKind.CARRIAGE,
                amount=Decimal("9800.00"),
                currency="USD",
                payer=Payer.CONSIGNOR,
            ),
        ),
    )
    return EcmrVersion(number=1, content=content, created_at=T0, reason="issued")


@dataclass
class Parties:
    consignor: Ed25519Signer
    carrier: Ed25519Signer
    log: Ed25519Signer
    trust: TrustList


def parties() -> Parties:
    consignor = Ed25519Signer.generate("cn-xian-longhai-2025", party=CONSIGNOR.id)
    carrier = Ed25519Signer.generate("az-ady-container-2025", party=CARRIER.id)
    log = Ed25519Signer.generate("ledger-az-node-1", party="ledger:az-node")
    trust = TrustList()
    for signer in (consignor, carrier, log):
        trust.add_signer(signer, not_before=T0 - timedelta(days=30))
    return Parties(consignor, carrier, log, trust)


def raw_rate(payload: bytes, pairs: int) -> float:
    """Ed25519 sign + verify pairs per second over `payload`, the cryptography library alone."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    start = time.perf_counter()
    for _ in range(pairs):
        public.verify(key.sign(payload), payload)
    return pairs / (time.perf_counter() - start)


def end_to_end(versions: list[EcmrVersion], who: Parties, ledger: Ledger, round_no: int) -> float:
    """Documents per second: canonicalise, sign twice, append, prove, verify, for `versions`."""
    at = T0 + timedelta(days=round_no)
    start = time.perf_counter()
    signed: list[tuple[GeneralJws, int]] = []
    for n, ecmr in enumerate(versions):
        document_id = f"ecmr:AZ-2025-{round_no:02d}{n:05d}"
        # Canonicalised once (model -> JSON -> RFC 8785 bytes); signing and the ledger take
        # those bytes.
        document = CanonicalJson({"id": document_id, "version": ecmr.model_dump(mode="json")})
        jws = sign_document(document, who.consignor, "consignor", at)
        jws = add_signature(jws, who.carrier, "carrier", at)
        entry = ledger.append(document_id, "signed", document, at)
        signed.append((jws, entry.log_index))
    head = ledger.signed_tree_head(at)
    verify_tree_head(head, who.trust)
    for jws, index in signed:
        verify(jws, who.trust)
        proof = ledger.inclusion_proof(index, head.tree_size)
        leaf = ledger.entry(index).leaf_hash()
        verify_inclusion(index, proof.tree_size, leaf, proof.hashes, head.root_hash)
    return len(versions) / (time.perf_counter() - start)


def _stdlib_canonical(value: object) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@contextmanager
def stdlib_canonicaliser(samples: list[object]) -> Iterator[None]:
    """What-if only: let the core's canonical_json run on the stdlib json encoder.

    For objects of only ASCII keys, strings and small integers (what these e-CMRs, headers and
    ledger entries are) sorted-key compact json.dumps gives the RFC 8785 bytes; refuses to run
    unless it does on every sample. Restores rfc8785.dumps on exit.
    """
    original = rfc8785.dumps
    for sample in samples:
        if _stdlib_canonical(sample) != original(cast(Any, sample)):
            raise SystemExit("the what-if canonicaliser differs from RFC 8785 on a sample")
    rfc8785.dumps = cast(Any, _stdlib_canonical)
    try:
        yield
    finally:
        rfc8785.dumps = original


def profile_round(versions: list[EcmrVersion], who: Parties, ledger: Ledger) -> dict[str, Any]:
    """Profile one end-to-end round; return where its time goes (shares of the round)."""
    profiler = cProfile.Profile()
    profiler.enable()
    end_to_end(versions, who, ledger, 99)
    profiler.disable()
    stats: dict[tuple[str, int, str], Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    canonical = {k: v for k, v in stats.items() if k[2] == "canonical_json"}
    crypto = sum(
        v[2]
        for k, v in stats.items()
        if "Ed25519" in k[2] and ("'sign'" in k[2] or "'verify'" in k[2])
    )
    callers: dict[str, float] = {}
    for value in canonical.values():
        for (_, _, caller), data in value[4].items():
            callers[caller] = callers.get(caller, 0.0) + data[3]
    return {
        "round_seconds_profiled": round(total, 3),
        "share_rfc8785_canonical_json": round(sum(v[3] for v in canonical.values()) / total, 3),
        "share_ed25519_sign_and_verify": round(crypto / total, 3),
        "canonical_json_seconds_by_caller": {
            name: round(sec, 3) for name, sec in sorted(callers.items(), key=lambda i: -i[1])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--documents", type=int, default=300, help="documents per round")
    parser.add_argument("--raw", type=int, default=2000, help="raw sign+verify pairs per round")
    args = parser.parse_args()

    who = parties()
    ledger = Ledger(InMemoryLedgerStore(), who.log)
    versions = [ecmr_version(n) for n in range(args.documents)]
    sample = canonical_json(
        {"id": "ecmr:AZ-2025-0000000", "version": versions[0].model_dump(mode="json")}
    )
    end_to_end(versions[:20], who, ledger, 0)  # warm up imports and caches
    raw_rate(sample, 200)

    samples: list[object] = [json.loads(sample), ledger.entry(0).to_json()]
    raw, e2e, what_if = [], [], []
    for round_no in range(1, args.rounds + 1):
        raw.append(raw_rate(sample, args.raw))
        e2e.append(end_to_end(versions, who, ledger, round_no))
        with stdlib_canonicaliser(samples):
            what_if.append(end_to_end(versions, who, ledger, 50 + round_no))
        print(
            f"round {round_no}: raw {raw[-1]:,.0f} pairs/s, end to end {e2e[-1]:,.0f} docs/s, "
            f"what-if stdlib canonicaliser {what_if[-1]:,.0f} docs/s"
        )

    raw_median, e2e_median = statistics.median(raw), statistics.median(e2e)
    limit = raw_median / SIGNATURES_PER_DOCUMENT
    # Paired per round (same minute, same machine load), then the median: robust to noise.
    paired = [d * SIGNATURES_PER_DOCUMENT / r for d, r in zip(e2e, raw, strict=True)]
    ratio = statistics.median(paired)
    profile = profile_round(versions, who, ledger)
    result = {
        "benchmark": "documents",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "cryptography": version("cryptography"),
            "rfc8785": version("rfc8785"),
        },
        "payload_bytes": len(sample),
        "rounds": args.rounds,
        "documents_per_round": args.documents,
        "raw_pairs_per_round": args.raw,
        "raw_ed25519_sign_verify_per_s": {
            "median": round(raw_median),
            "rounds": [round(r) for r in raw],
        },
        "end_to_end_documents_per_s": {
            "median": round(e2e_median, 1),
            "rounds": [round(r, 1) for r in e2e],
        },
        "signatures_per_document": SIGNATURES_PER_DOCUMENT,
        "physical_limit_documents_per_s": round(limit),
        "ratio_end_to_end_to_physical_limit": round(ratio, 3),
        "ratio_per_round": [round(r, 3) for r in paired],
        "ratio_of_medians": round(e2e_median / limit, 3),
        "ratio_documents_to_raw_pairs": round(e2e_median / raw_median, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
        "what_if_stdlib_canonicaliser": {
            "end_to_end_documents_per_s_median": round(statistics.median(what_if), 1),
            "ratio_to_physical_limit": round(statistics.median(what_if) / limit, 3),
            "rounds": [round(r, 1) for r in what_if],
            "how": "the same end-to-end rounds with rfc8785.dumps swapped for sorted-key "
            "compact json.dumps, checked byte-identical on this e-CMR and a ledger entry; "
            "an estimate of what a faster canonicaliser would buy, not Kervan's real path",
        },
        "profile_of_one_round": profile,
        "notes": NOTES,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"raw {raw_median:,.0f} sign+verify/s; limit {limit:,.0f} docs/s (2 signatures each); "
        f"end to end {e2e_median:,.0f} docs/s; ratio {ratio:.2f} (target >= {TARGET_RATIO})"
    )


NOTES = [
    "ratio_end_to_end_to_physical_limit is the median over rounds of (end-to-end documents/s x "
    "2 signatures) / raw Ed25519 sign+verify per s, measured in the same round. "
    "ratio_documents_to_raw_pairs is the literal documents/s over raw pairs/s, for reference; a "
    "two-party document cannot exceed 0.5 on that scale.",
    "Below target. cProfile (profile_of_one_round): about three quarters of an end-to-end round "
    "is RFC 8785 canonicalisation in rfc8785._impl.dump (pure Python, ~0.4 ms per 2 KB e-CMR "
    "here, ~6x json.dumps on the same object), and under a tenth is Ed25519 itself.",
    "The same ~2 KB document is canonicalised four times per document by the core: "
    "kervan.documents.jws.sign_document (needed once); kervan.documents.jws.add_signature -> "
    "_decode_payload -> _json_object -> kervan.documents.canonical.parse_canonical_json "
    "(re-canonicalises the payload it just made to check it is canonical); "
    "kervan.ledger.log.Ledger.append -> kervan.ledger.chain.next_entry -> "
    "canonical_digest_hex (canonicalises the document again for its digest); and, on the "
    "verify side, kervan.documents.jws.check_signatures -> _decode_payload -> "
    "parse_canonical_json (the verifier's canonical-form check, needed once).",
    "The benchmark's own work is the model_dump of each version, the document dict and "
    "recomputing each entry's leaf hash on the verify side: a few percent of a round. It calls "
    "the core's public functions only, so what is left to gain is in the core: pass the "
    "canonical bytes (or digest) from signing to add_signature and Ledger.append instead of "
    "re-canonicalising, and a faster RFC 8785 encoder (what_if_stdlib_canonicaliser shows "
    "about 1.6-2x end to end from the encoder alone).",
    "The machine is a shared 2-CPU box with other jobs running; rounds vary by up to 2x, so "
    "compare paired per-round ratios, not single numbers.",
]


if __name__ == "__main__":
    main()

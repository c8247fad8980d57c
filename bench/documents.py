"""Documents benchmark: e-CMR versions signed, logged and verified per second, end to end.

Writes bench/results/documents.json. In one run, round after round, it measures:
1. raw: Ed25519 sign + verify of one ~2 KB canonical e-CMR payload with the cryptography
   library directly (the physical limit of one signature);
2. end to end, per document: canonicalise an e-CMR version once (model -> JSON -> RFC 8785
   bytes, `CanonicalJson`), sign those bytes as consignor and as carrier (multi-party JWS),
   append them to the ledger (the digest of the same bytes), then, after the round's signed
   tree head, verify both signatures as a receiving party would (the payload read back and
   checked canonical, each signature against the trust list at its signing time), produce its
   inclusion proof, recompute its entry's leaf hash and verify the inclusion against the tree
   head (whose own signature is verified once per round).
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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kervan.documents.ecmr import Charge, ChargeKind, EcmrContent, EcmrVersion, Payer, Place
from kervan.documents.goods import (
    Container,
    DangerousGoods,
    GoodsItem,
    Seal,
    SealingParty,
    VehiclePlate,
)
from kervan.documents.parties import Address, Party
from kervan.ledger import (
    InMemoryLedgerStore,
    Ledger,
    sign_tree_head,
    verify_inclusion,
    verify_tree_head,
)
from kervan.signatures.canonical import CanonicalJson, canonical_json
from kervan.signatures.jws import GeneralJws, add_signature, sign_document, verify
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList

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
    head = sign_tree_head(ledger.size, ledger.root(), at, who.log)
    verify_tree_head(head, who.trust)
    for jws, index in signed:
        verify(jws, who.trust)
        proof = ledger.inclusion_proof(index, head.tree_size)
        leaf = ledger.entry(index).leaf_hash()
        verify_inclusion(index, proof.tree_size, leaf, proof.hashes, head.root_hash)
    return len(versions) / (time.perf_counter() - start)


#: Where a round's time goes, by the core (or library) function that does it: name -> (file
#: suffix, function) as cProfile names them. Shares are of the profiled round's own total, each
#: function's time including what it calls (so nested entries overlap their parent).
PROFILED: dict[str, tuple[str, str]] = {
    "pydantic_model_dump": ("pydantic/main.py", "model_dump"),
    "canonicalise_once": ("kervan/signatures/canonical.py", "__init__"),
    "sign_document": ("kervan/signatures/jws.py", "sign_document"),
    "add_signature": ("kervan/signatures/jws.py", "add_signature"),
    "ledger_append": ("kervan/ledger/log.py", "append"),
    "verify_signatures": ("kervan/signatures/jws.py", "verify"),
    "verify_canonical_read_back": ("kervan/signatures/canonical.py", "parse_canonical_json"),
    "inclusion_proof": ("kervan/ledger/log.py", "inclusion_proof"),
    "entry_leaf_hash": ("kervan/ledger/chain.py", "leaf_hash"),
    "verify_inclusion": ("kervan/ledger/merkle.py", "verify_inclusion"),
}


def profile_round(versions: list[EcmrVersion], who: Parties, ledger: Ledger) -> dict[str, Any]:
    """Profile one end-to-end round; return where its time goes (shares of the round)."""
    profiler = cProfile.Profile()
    profiler.enable()
    end_to_end(versions, who, ledger, 99)
    profiler.disable()
    stats: dict[tuple[str, int, str], Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    crypto = sum(
        v[2]
        for k, v in stats.items()
        if "Ed25519" in k[2] and ("'sign'" in k[2] or "'verify'" in k[2])
    )
    shares = {}
    for name, (path, function) in PROFILED.items():
        seconds = sum(v[3] for k, v in stats.items() if k[0].endswith(path) and k[2] == function)
        shares[name] = round(seconds / total, 3)
    return {
        "round_seconds_profiled": round(total, 3),
        "share_ed25519_sign_and_verify": round(crypto / total, 3),
        "share_by_step_including_callees": shares,
        "note": "cProfile adds a fixed cost per Python call, so pure-Python steps look larger "
        "here than they are unprofiled; the shares say where, not how much",
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

    raw: list[float] = []
    e2e: list[float] = []
    for round_no in range(1, args.rounds + 1):
        raw.append(raw_rate(sample, args.raw))
        e2e.append(end_to_end(versions, who, ledger, round_no))
        print(
            f"round {round_no}: raw {raw[-1]:,.0f} pairs/s, end to end {e2e[-1]:,.0f} docs/s, "
            f"ratio {e2e[-1] * SIGNATURES_PER_DOCUMENT / raw[-1]:.3f}"
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
            "pydantic-core": version("pydantic-core"),
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
    "Meets the target; the margin depends on how busy the shared 2-CPU machine is. Runs of "
    "this version on 2026-11-24 (default settings): 02:31, load average 5-7 (the API "
    "engineer's full test suite and PostgreSQL benchmark running): 0.562, 0.592, 0.621, 0.527; "
    "02:34, load average ~3: 0.640, 0.648 (every round 0.59-0.67), then 0.546, 0.547 as load "
    "came back; this file's run is in ratio_end_to_end_to_physical_limit and ratio_per_round. "
    "The version before (commit 3ce844c) gave 0.63, 0.69, 0.63 at load ~1 and 0.59, 0.58, "
    "0.60, 0.59, 0.59 when run alternately with this one at load ~2.7 (this one: 0.64, 0.58, "
    "0.56, 0.62, 0.52): the benchmark cannot tell the two apart through the noise. Busy rounds "
    "lower the ratio (end to end, mostly Python, slows more than the tight raw loop), which is "
    "how 0.492 was recorded on 2026-11-24 00:05 with documents code that gives ~0.63 quiet.",
    "What changed in this round (issue 3), measured with the signatures stubbed out (best of 7, "
    "same minutes, old and new alternately): Python per document ~123 -> ~111 us as the sum of "
    "the steps, ~138 -> ~132 us in the end-to-end loop, against ~300 us of Ed25519. (1) "
    "base64url of payload-sized segments (>= 256 characters) goes through pydantic-core's Rust "
    "codec: decoding the 2.8 KB payload ~12 -> ~5 us, encoding ~5 -> ~3.5 us; the decoder "
    "accepts a text only if re-encoding the decoded bytes gives that very text back (else the "
    "strict binascii path refuses it with its own message), and the encoder is used only after "
    "an import-time check that it spells base64url exactly as binascii does. (2) The verifier's "
    "canonical read-back reads keys with pydantic-core's string cache and tests the common "
    "member type first (~1-2 us). (3) Verifying a protected header: members compared as key "
    "views, alg and iat checked inline, the careful functions still raising as before. "
    "(4) Merkle proof hashes are size-checked without a generator.",
    "Tried and dropped, measured: the stdlib C encoder (json.dumps sort_keys) is ~18 us for "
    "this document against ~21 us for the Python key-sorting walk plus pydantic-core's writer, "
    "and still needs a float/big-integer guard (another walk or a C re-read, ~11 us), so it is "
    "slower in total; the same holds for the verifier (C read + C sorted write ~29 us against "
    "~25 us now). Bulk type checks (set(map(type, ...))), dict(sorted(items)) copies and a "
    "key-order cache were each slower or saved under 1.5 us; the cache was also dropped because "
    "it would let str-subclass keys past the exact-type check.",
    "Earlier rounds (issue 3): the document is canonicalised once (CanonicalJson), whose bytes "
    "sign_document/sign_version sign and Ledger.append digests as they are; the RFC 8785 "
    "encoder builds a key-sorted copy of plain values and writes it with pydantic-core; the "
    "verifier reads the payload with pydantic-core, checks members sorted and values plain, "
    "and insists the compact re-encoding equals the received bytes (else the careful stdlib "
    "path decides and names the fault); protected headers come from a per-signer cached "
    "prefix and suffix around iat; the Merkle tree keeps the ragged subtrees it built.",
    "Nothing is skipped: per document the verifier still base64-decodes and reads back the "
    "payload and refuses any non-canonical spelling, checks both signatures over the exact "
    "bytes with cryptography's Ed25519 and the trust list at each signature's iat, recomputes "
    "the entry's leaf hash and verifies the inclusion proof against the signed root. Tests "
    "(tests/documents/test_fast_paths.py, tests/documents/test_base64url_long.py, "
    "tests/ledger/test_passthrough.py) check the fast paths byte for byte against rfc8785, the "
    "stdlib and the strict decoders, and that tampered or non-canonical payloads are refused.",
    "Where the rest goes (Python, per document, quiet): model_dump ~10 us (the benchmark's "
    "input), canonicalise ~22 (key-sorting walk ~15, Rust writer ~6), verifier's read-back "
    "~24 (Rust read ~8, sorted/plain walk ~11, Rust write ~6), ~8 per signature verified, ~3-6 "
    "per signature made, ledger append ~8, leaf hash ~3, inclusion proof ~3 and its check ~5. "
    "The two walks are at what CPython 3.11 does per member (~100 ns); going clearly further "
    "needs them in native code, which no installed library offers (pydantic-core writes keys "
    "in insertion order only).",
    "The machine is a shared 2-CPU box; the runs were made in the shared checkout on top of "
    "the API engineer's ledger group commit (df3fe89: about 1 us more per append). Rounds "
    "vary by up to 1.5x, so compare paired per-round ratios, not single numbers.",
]

if __name__ == "__main__":
    main()

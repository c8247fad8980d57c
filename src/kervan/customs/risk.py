"""Risk assessment: explainable rules from a country's rule set give a score, a lane and reasons.

Each reason names its rule id (e.g. "seal_broken", "sensitive_hs:850760"), what was found and
the weight it added. The lane follows from the score (the rule set's thresholds), raised to any
rule's `lane_at_least`. Nothing here reads a clock or a database: the day, the seals seen at the
border, the route so far and the parties' past infringements come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from kervan.customs.declaration import DeclarationContent
from kervan.customs.rules import Lane, Lanes, RuleSet, WeightedRule
from kervan.documents.goods import Seal, SealCondition


class Infringement(BaseModel):
    """A customs infringement recorded against a party (from the authority's own records)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party_id: str
    on: date
    what: str


class RiskReason(BaseModel):
    """One rule that fired: its id, what it found, the weight it added."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    finding: str
    weight: float
    lane_at_least: Lane | None = None


class RiskAssessment(BaseModel):
    """The outcome of the rules for one country: score, lane and the reasons behind them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str
    authority_files: tuple[str, ...]
    score: float
    lane: Lane
    reasons: tuple[RiskReason, ...]


def lane_for(reasons: Iterable[RiskReason], lanes: Lanes) -> tuple[float, Lane]:
    """The score (sum of weights) and lane (by thresholds, raised to any rule's floor)."""
    listed = list(reasons)
    score = sum(r.weight for r in listed)
    lane = Lane.GREEN
    if score >= lanes.red_from:
        lane = Lane.RED
    elif score >= lanes.yellow_from:
        lane = Lane.YELLOW
    for r in listed:
        if r.lane_at_least is not None and r.lane_at_least.rank > lane.rank:
            lane = r.lane_at_least
    return score, lane


def _reason(rule_id: str, rule: WeightedRule, finding: str) -> RiskReason:
    return RiskReason(
        rule=rule_id, finding=finding, weight=rule.weight, lane_at_least=rule.lane_at_least
    )


def _aeo(content: DeclarationContent, rules: RuleSet, on: date) -> list[RiskReason]:
    rule = rules.rules.aeo
    parties = content.party_ids()
    for cert in content.aeo:
        if (
            cert.party_id in parties
            and cert.issuing_country in rule.recognised_issuers
            and cert.valid_until >= on
        ):
            finding = (
                f"{cert.party_id} is an authorised economic operator ({cert.issuing_country} "
                f"certificate {cert.number}, valid until {cert.valid_until})"
            )
            return [_reason("aeo", rule, finding)]
    return []


def _goods(content: DeclarationContent, rules: RuleSet) -> list[RiskReason]:
    out: list[RiskReason] = []
    r = rules.rules
    for i, item in enumerate(content.goods, start=1):
        label = f"item {i} (HS {item.hs_code[:6]})"
        for s in rules.sensitivities(item.hs_code)[:1]:
            out.append(
                RiskReason(
                    rule=f"sensitive_hs:{s.prefix}",
                    finding=f"{label}: {s.reason} [source: {s.source}]",
                    weight=s.weight,
                    lane_at_least=s.lane_at_least,
                )
            )
        if item.dangerous_goods is not None:
            dg = item.dangerous_goods
            finding = f"{label}: dangerous goods {dg.un_number}, class {dg.hazard_class}"
            out.append(_reason("dangerous_goods", r.dangerous_goods, finding))
        out.extend(
            _value(label, item.value, item.currency, item.gross_weight_kg, item.hs_code, rules)
        )
    return out


def _value(
    label: str,
    value: Decimal | None,
    currency: str | None,
    weight_kg: Decimal,
    hs_code: str,
    rules: RuleSet,
) -> list[RiskReason]:
    r = rules.rules
    if value is None or currency is None:
        return [_reason("value_missing", r.value_missing, f"{label}: no value declared")]
    reference = rules.value_reference_for(hs_code)
    rate = rules.usd_per(currency)
    if reference is None or rate is None:
        return []  # nothing to compare with: no reason, the officer sees the value as declared
    per_kg = float(value) * rate / float(weight_kg)
    band = (
        f"reference {reference.usd_per_kg_min:g}-{reference.usd_per_kg_max:g} US$/kg for HS "
        f"{reference.prefix} [source: {reference.source}]"
    )
    if per_kg < reference.usd_per_kg_min:
        finding = f"{label}: declared {per_kg:.2f} US$/kg, below the {band}"
        return [_reason("value_below_reference", r.value_below_reference, finding)]
    if per_kg > reference.usd_per_kg_max:
        finding = f"{label}: declared {per_kg:.2f} US$/kg, above the {band}"
        return [_reason("value_above_reference", r.value_above_reference, finding)]
    return []


def _seals(
    content: DeclarationContent, rules: RuleSet, observed: tuple[Seal, ...] | None
) -> list[RiskReason]:
    r = rules.rules
    declared = content.transport.all_seals()
    out: list[RiskReason] = []
    if content.transport.containers and not declared:
        numbers = ", ".join(c.number for c in content.transport.containers)
        out.append(
            _reason("seal_missing", r.seal_missing, f"container {numbers} declared without a seal")
        )
    seen = declared if observed is None else observed
    for seal in seen:
        if seal.condition is SealCondition.BROKEN:
            out.append(_reason("seal_broken", r.seal_broken, f"seal {seal.number} is broken"))
    if observed is not None:
        want = {s.number for s in declared}
        got = {s.number for s in observed}
        if want - got:
            finding = f"declared seal(s) {', '.join(sorted(want - got))} not found on arrival"
            out.append(_reason("seal_missing", r.seal_missing, finding))
        if got - want:
            finding = f"seal(s) {', '.join(sorted(got - want))} found on arrival were not declared"
            out.append(_reason("seal_mismatch", r.seal_mismatch, finding))
    return out


def _route(
    content: DeclarationContent,
    country: str,
    rules: RuleSet,
    arrival_office: str | None,
    countries_passed: tuple[str, ...],
) -> list[RiskReason]:
    r = rules.rules
    out: list[RiskReason] = []
    undeclared = [c for c in dict.fromkeys(countries_passed) if c not in content.itinerary]
    if undeclared:
        finding = (
            f"the cargo passed {', '.join(undeclared)}, not on the declared itinerary "
            f"{' -> '.join(content.itinerary)}"
        )
        out.append(_reason("undeclared_country", r.undeclared_country, finding))
    passage = next((p for p in content.route.passages if p.country == country), None)
    if passage is None:
        finding = f"{country} is not on the declared route {' -> '.join(content.itinerary)}"
        out.append(_reason("undeclared_country", r.undeclared_country, finding))
    elif arrival_office is not None and arrival_office != passage.entry_office:
        finding = (
            f"arrived at {arrival_office}, the planned corridor enters {country} at "
            f"{passage.entry_office}"
        )
        out.append(_reason("route_deviation", r.route_deviation, finding))
    return out


def _history(
    content: DeclarationContent, rules: RuleSet, on: date, infringements: Iterable[Infringement]
) -> list[RiskReason]:
    rule = rules.rules.infringements
    since = on - timedelta(days=rule.lookback_days)
    parties = content.party_ids()
    hits = sorted(
        (i for i in infringements if i.party_id in parties and since <= i.on <= on),
        key=lambda i: i.on,
    )
    if not hits:
        return []
    listed = "; ".join(f"{i.party_id} on {i.on}: {i.what}" for i in hits)
    weight = min(rule.weight * len(hits), rule.cap)
    return [
        RiskReason(
            rule="infringements",
            finding=f"{len(hits)} infringement(s) since {since}: {listed}",
            weight=weight,
            lane_at_least=rule.lane_at_least,
        )
    ]


def assess(
    content: DeclarationContent,
    country: str,
    rules: RuleSet,
    *,
    on: date,
    seals_observed: tuple[Seal, ...] | None = None,
    arrival_office: str | None = None,
    countries_passed: tuple[str, ...] = (),
    infringements: Iterable[Infringement] = (),
) -> RiskAssessment:
    """Apply `rules` (country's) to a declaration's content on day `on`.

    Before arrival leave `seals_observed` and `arrival_office` out (the declared seals are
    judged); at the border pass the seals the officer found and the office the cargo came to.
    `countries_passed` are the countries the cargo has been recorded in so far.
    """
    reasons = [
        *_aeo(content, rules, on),
        *_goods(content, rules),
        *_seals(content, rules, seals_observed),
        *_route(content, country, rules, arrival_office, countries_passed),
        *_history(content, rules, on, infringements),
    ]
    score, lane = lane_for(reasons, rules.lanes)
    return RiskAssessment(
        country=country,
        authority_files=rules.files,
        score=score,
        lane=lane,
        reasons=tuple(reasons),
    )

"""`kervan epermit ...`: a permit authority on the e-Permit network, from the command line.

    kervan epermit serve uz-permits --port 8701          # the protocol face + delivery loop
    kervan epermit partner add uz-permits TR https://epermit.tr.example  # keys from its GET /
    kervan epermit partner add uz-permits AZ https://... --keys-file az-keys.json
    kervan epermit partner add uz-permits KZ kervan://kz-permits  # a node of the same corridor
    kervan epermit partner import uz-permits partners.json  # [{"code", "url", "name", "keys"}]
    kervan epermit partner list uz-permits
    kervan epermit partner remove uz-permits AZ
    kervan epermit quota grant tr-permits UZ 2026 1 500  # TR grants UZ 500 bilateral permits
    kervan epermit use tr-permits --qr ... --plate 01A123BC --activity ENTRANCE
    kervan epermit deliver uz-permits                    # one delivery round now
    kervan epermit dead-letters uz-permits
    kervan epermit border sync https://epermit.tr.example --out device.json
    kervan epermit border check device.json QR

Operator commands on the node's own database and key files, acting for the permit authority
named (the organisation id on this node).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console

from kervan.cli.errors import report
from kervan.errors import InvalidRequestError, KervanError
from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.access import Caller, node_operator
from kervan.services.epermit_border import (
    BorderUse,
    DeviceScan,
    Grant,
    GrantRequest,
    UseAtBorder,
    check_on_device,
    grant_quota,
    open_device,
    record_border_use,
)
from kervan.services.epermit_network import (
    AuthorityRef,
    DeadLetterRef,
    Delivery,
    NewPartner,
    PartnerRef,
    PartnerSpec,
    add_partner,
    deliver_events,
    jwk_list,
    list_partners,
    remove_partner,
    resend_dead_letter,
    rotate_authority_key,
)
from kervan.services.epermit_sync import dead_letters
from kervan.services.node import NodeContext
from kervan.settings import get_settings
from kervan.store.db import make_session_factory
from kervan.store.node_files import node_keys
from kervan.store.schema import connect_migrated

out = Console()
epermit_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
partner_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
quota_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
border_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
epermit_app.add_typer(partner_app, name="partner", help="Partner authorities.")
epermit_app.add_typer(quota_app, name="quota", help="Quotas this authority grants.")
epermit_app.add_typer(border_app, name="border", help="Border devices (offline checks).")
key_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True)
epermit_app.add_typer(key_app, name="key", help="The authority's signing key.")

OrgArg = Annotated[str, typer.Argument(help="The permit authority's organisation id here")]


def _node() -> tuple[NodeContext, Caller]:
    settings = get_settings()
    engine = connect_migrated(settings.resolved_database_url)
    network = load_network()
    ctx = NodeContext(
        settings,
        make_session_factory(engine),
        network,
        Planner(network),
        node_keys(settings),
    )
    return ctx, node_operator(settings.node_id, settings.node_country)


def _http_json(url: str) -> dict[str, object]:
    try:
        response = httpx.get(url, timeout=10.0)
        response.raise_for_status()
        value = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise InvalidRequestError(f"GET {url}: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidRequestError(f"GET {url}: not a JSON object")
    return value


@epermit_app.command("serve")
def serve(
    org_id: OrgArg,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8700,
    deliver_every: Annotated[
        float, typer.Option(help="Seconds between delivery rounds (0: none)")
    ] = 2.0,
) -> None:
    """Serve the e-Permit protocol of a permit authority and deliver its events."""
    import uvicorn  # noqa: PLC0415

    from kervan.api.app import configure_logging  # noqa: PLC0415
    from kervan.api.epermit_app import create_epermit_app  # noqa: PLC0415

    try:
        configure_logging()
        app = create_epermit_app(org_id, deliver_every=deliver_every)
    except KervanError as exc:
        raise report(exc) from None
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


@partner_app.command("add")
def partner_add(
    org_id: OrgArg,
    code: Annotated[str, typer.Argument(help="The partner's authority code, e.g. TR")],
    url: Annotated[
        str,
        typer.Argument(
            help="Base URL of its e-Permit API, or kervan://<its organisation id> for a permit "
            "authority's node on the same corridor (events over the broker)"
        ),
    ],
    keys_file: Annotated[
        Path | None,
        typer.Option(help="Its public keys (JWKS or GET / answer); default: fetch its GET /"),
    ] = None,
    name: Annotated[str, typer.Option(help="Its name")] = "",
) -> None:
    """Configure a partner authority (code, URL, keys)."""
    try:
        if keys_file is not None:
            try:
                text = keys_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise InvalidRequestError(f"cannot read {keys_file}: {exc}") from exc
            keys = jwk_list(text)
        elif url.startswith("kervan://"):
            keys = []  # the directory's public keys of that organisation
        else:
            answer = _http_json(url.rstrip("/") + "/")
            if answer.get("code") != code.upper():
                raise InvalidRequestError(f"{url} is authority {answer.get('code')}, not {code}")
            keys = jwk_list(json.dumps(answer))
            name = name or str(answer.get("name", ""))
        ctx, operator = _node()
        spec = PartnerSpec(code=code.upper(), url=url, name=name, keys=keys)
        view = add_partner(ctx.unit_of_work(), operator, NewPartner(org_id, spec))
    except KervanError as exc:
        raise report(exc) from None
    out.print(f"[green]partner[/] {view.code} {view.url} keys {', '.join(view.kids)}")


@partner_app.command("import")
def partner_import(
    org_id: OrgArg,
    file: Annotated[
        Path, typer.Argument(help='JSON: [{"code", "url", "name", "keys": [JWK, ...]}, ...]')
    ],
) -> None:
    """Configure the partners listed in a file (each with its code, URL, name and keys)."""
    try:
        try:
            entries = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidRequestError(f"cannot read {file}: {exc}") from exc
        if not isinstance(entries, list):
            raise InvalidRequestError(f"{file}: a JSON list of partners")
        specs = []
        for entry in entries:
            try:
                specs.append(PartnerSpec.model_validate(entry))
            except ValidationError as exc:
                raise InvalidRequestError(f"{file}: {exc}") from exc
        ctx, operator = _node()
        for spec in specs:
            view = add_partner(ctx.unit_of_work(), operator, NewPartner(org_id, spec))
            out.print(f"[green]partner[/] {view.code} {view.url}", highlight=False)
    except KervanError as exc:
        raise report(exc) from None


@partner_app.command("list")
def partner_list(org_id: OrgArg) -> None:
    """List the authority's partners."""
    try:
        ctx, operator = _node()
        partners = list_partners(ctx.unit_of_work(), operator, AuthorityRef(org_id))
    except KervanError as exc:
        raise report(exc) from None
    for p in partners:
        out.print(f"{p.code}\t{p.url}\t{p.name}\tkeys {', '.join(p.kids)}", highlight=False)


@partner_app.command("remove")
def partner_remove(
    org_id: OrgArg, code: Annotated[str, typer.Argument(help="The partner's code")]
) -> None:
    """Stop exchanging with a partner."""
    try:
        ctx, operator = _node()
        remove_partner(ctx.unit_of_work(), operator, PartnerRef(org_id, code.upper()))
    except KervanError as exc:
        raise report(exc) from None
    out.print(f"[green]removed[/] partner {code.upper()}")


@quota_app.command("grant")
def quota_grant(
    org_id: OrgArg,
    issuer: Annotated[str, typer.Argument(help="The partner authority granted, e.g. UZ")],
    year: Annotated[int, typer.Argument(help="Permit year")],
    permit_type: Annotated[int, typer.Argument(help="1 bilateral, 2 transit, 3 third-country")],
    quantity: Annotated[int, typer.Argument(help="How many permits")],
) -> None:
    """Grant a partner a quota of permits for entering this authority's country."""
    try:
        ctx, operator = _node()
        request = GrantRequest(
            issuer=issuer.upper(), year=year, permit_type=permit_type, quantity=quantity
        )
        granted = grant_quota(ctx.unit_of_work(), operator, Grant(org_id, request))
    except KervanError as exc:
        raise report(exc) from None
    told = "QUOTA_CREATED queued" if granted.announced else "partner not on the network"
    out.print(
        f"[green]granted[/] {granted.permit_issuer}->{granted.permit_issued_for} "
        f"{granted.permit_year} type {granted.permit_type}: {granted.quantity} ({told})"
    )


@key_app.command("rotate")
def key_rotate(org_id: OrgArg) -> None:
    """Rotate the authority's ES256 key; partners are told (KEY_CREATED, KEY_REVOKED)."""
    try:
        ctx, operator = _node()
        rotation = rotate_authority_key(ctx.unit_of_work(), operator, AuthorityRef(org_id))
    except KervanError as exc:
        raise report(exc) from None
    out.print(
        f"[green]rotated[/] {rotation.previous_kid} -> {rotation.kid}; told "
        f"{', '.join(rotation.partners_told) or 'no partner'}",
        highlight=False,
    )


@epermit_app.command("use")
def use(
    org_id: OrgArg,
    qr: Annotated[str, typer.Option(help="The permit's QR token")],
    plate: Annotated[str, typer.Option(help="The vehicle's plate")],
    activity: Annotated[str, typer.Option(help="ENTRANCE or EXIT")],
    details: Annotated[str | None, typer.Option(help="Border post, lane ...")] = None,
) -> None:
    """Record a permit's ENTRANCE or EXIT at this authority's border (checked first)."""
    try:
        if activity not in ("ENTRANCE", "EXIT"):
            raise InvalidRequestError("--activity is ENTRANCE or EXIT")
        kind: Literal["ENTRANCE", "EXIT"] = "ENTRANCE" if activity == "ENTRANCE" else "EXIT"
        ctx, operator = _node()
        body = BorderUse(qr=qr, plate=plate, activity=kind, details=details)
        used = record_border_use(ctx.unit_of_work(), operator, UseAtBorder(org_id, body))
    except KervanError as exc:
        raise report(exc) from None
    out.print(
        f"[green]{used.activity}[/] {used.permit_id} ({used.trip_kind} trip, use {used.uses})"
    )


@epermit_app.command("deliver")
def deliver(org_id: OrgArg) -> None:
    """Run one delivery round now: print what was delivered, what waits, dead letters."""
    try:
        ctx, _ = _node()
        with httpx.Client(timeout=10.0) as http:
            result = deliver_events(ctx.unit_of_work(), Delivery(org_id, http))
    except KervanError as exc:
        raise report(exc) from None
    out.print(f"delivered {len(result.delivered)}")
    for partner, why in result.failed.items():
        out.print(f"waiting for {partner}: {why}", highlight=False)
    for letter in result.dead:
        out.print(
            f"[red]dead letter[/] {letter.event_type} {letter.event_id} to {letter.consumer}: "
            f"{letter.error_code} {letter.message}",
            highlight=False,
        )


@epermit_app.command("dead-letters")
def list_dead_letters(org_id: OrgArg) -> None:
    """Events partners refused, newest first, with their error codes."""
    try:
        ctx, operator = _node()
        letters = dead_letters(ctx.unit_of_work(), operator, AuthorityRef(org_id))
    except KervanError as exc:
        raise report(exc) from None
    for letter in letters:
        out.print(
            f"{letter.dead_at:%Y-%m-%d %H:%M}\t{letter.partner}\t{letter.event_type}\t"
            f"{letter.event_id}\t{letter.error_code}\t{letter.message}",
            highlight=False,
        )


@epermit_app.command("resend")
def resend(
    org_id: OrgArg,
    partner: Annotated[str, typer.Argument(help="The partner that refused the event")],
    event_id: Annotated[str, typer.Argument(help="The dead letter's event id")],
) -> None:
    """Send a dead letter's content again as a new event (after fixing its cause)."""
    try:
        ctx, operator = _node()
        ref = DeadLetterRef(org_id, partner.upper(), event_id)
        new_id = resend_dead_letter(ctx.unit_of_work(), operator, ref)
    except KervanError as exc:
        raise report(exc) from None
    out.print(f"[green]queued[/] as event {new_id}", highlight=False)


@border_app.command("sync")
def border_sync(
    url: Annotated[str, typer.Argument(help="The control authority's e-Permit base URL")],
    output: Annotated[Path, typer.Option("--out", help="The device file to write")],
) -> None:
    """Fetch the authority's keys and signed border bundle into a device file."""
    try:
        base = url.rstrip("/")
        authority = _http_json(base + "/")
        bundle = _http_json(base + "/border-bundle")
        device = json.dumps({"authority": authority, "bundle": bundle.get("bundle")})
        # Checked before it is kept: a device never holds a bundle it cannot open.
        opened = open_device(device)
    except KervanError as exc:
        raise report(exc) from None
    output.write_text(device, encoding="utf-8")
    out.print(
        f"[green]synced[/] {opened.authority}: {len(opened.revocations)} revoked permits, "
        f"list of {opened.made_at:%Y-%m-%d %H:%M:%S} UTC",
        highlight=False,
    )


@border_app.command("check")
def border_check(
    device: Annotated[Path, typer.Argument(help="The device file `border sync` wrote")],
    qr: Annotated[str, typer.Argument(help="The scanned QR token")],
) -> None:
    """Check a permit QR offline: status, revocation (when, why), the list's freshness."""
    try:
        try:
            text = device.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidRequestError(f"cannot read {device}: {exc}") from exc
        verdict = check_on_device(DeviceScan(text, qr, datetime.now(UTC)))
    except KervanError as exc:
        raise report(exc) from None
    colour = "green" if verdict.status == "valid" else "red"
    out.print(
        f"[{colour}]{verdict.status}[/] {verdict.permit_id} issued by {verdict.issuer} for "
        f"{verdict.plate_number} ({verdict.company_name}), "
        f"{verdict.valid_from:%d/%m/%Y}-{verdict.valid_until:%d/%m/%Y}",
        highlight=False,
    )
    if verdict.revocation is not None:
        why = verdict.revocation.reason or "no reason given by the issuer"
        out.print(f"revoked at {verdict.revocation.revoked_at:%Y-%m-%d %H:%M} UTC: {why}")
    minutes = int(verdict.list_age.total_seconds() // 60)
    stale = " - STALE, sync the device" if verdict.list_stale else ""
    out.print(
        f"revocation list of {verdict.list_made_at:%Y-%m-%d %H:%M} UTC, {minutes} min old{stale}"
    )

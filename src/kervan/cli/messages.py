"""`kervan messages ...`: an authority's operator looks after its node's messages.

    kervan messages list --authority TR-customs            # held gaps, refusals, dead letters
    kervan messages skip --authority TR-customs --sender GE-customs
    kervan messages replay --authority TR-customs DEAD_LETTER_ID --trust-list trust.json
    kervan messages rerequest --authority TR-customs --broker nats://... --trust-list trust.json

They act on the node's own database (KERVAN_DATABASE_URL) as its operator. `rerequest` reads
the sender's channel again from the broker's stream (every sender in the trust list without
--sender) and runs what it finds through the inbox: missing messages fill their gaps, the rest
count as duplicates - also how a node restored from a backup catches up by sequence.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors

if TYPE_CHECKING:
    from kervan.services.access import Caller
    from kervan.signatures.trustlist import TrustList
    from kervan.store.uow import UnitOfWork

messages_app = typer.Typer(rich_markup_mode=None)

_AUTHORITY = typer.Option("--authority", help="The authority whose node this is.")
_TRUST = typer.Option("--trust-list", help="The trust list in force (JWKS).", dir_okay=False)


def _operator(authority: str) -> tuple[UnitOfWork, Caller]:
    """The node operator's unit of work; for a permit authority the node's own (what it
    receives again may be its partners' e-Permit events, applied with the node's keys)."""
    from kervan.cli.exchange import permit_context  # noqa: PLC0415
    from kervan.services.access import node_operator  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415
    from kervan.store.node_files import node_keys  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415
    from kervan.store.uow import UnitOfWork  # noqa: PLC0415

    settings = get_settings()
    engine = connect_migrated(settings.resolved_database_url)
    operator = node_operator(settings.node_id, settings.node_country)
    context = permit_context(settings, engine, node_keys(settings), [authority])
    if context is not None:
        return context.unit_of_work(), operator
    return UnitOfWork(make_session_factory(engine)), operator


def _trust(path: Path) -> TrustList:
    from kervan.errors import InvalidRequestError, TrustListError  # noqa: PLC0415
    from kervan.exchange.trustfile import TrustListFile  # noqa: PLC0415

    try:
        return TrustListFile(path).current()
    except TrustListError as exc:
        raise InvalidRequestError(exc.message) from exc


@messages_app.command("list")
@user_errors
def list_messages(authority: Annotated[str, _AUTHORITY]) -> None:
    """Held gaps and messages, refusals by reason, dead letters."""
    from rich.console import Console  # noqa: PLC0415

    from kervan.services.exchange_messages import (  # noqa: PLC0415
        AuthorityMessages,
        messages_report,
    )

    uow, caller = _operator(authority)
    report = messages_report(uow, caller, AuthorityMessages(authority))
    out = Console(highlight=False)
    out.print(f"[bold]{authority}[/]")
    out.print(f"held gaps: {len(report.gaps)}")
    for gap in report.gaps:
        out.print(
            f"  {gap.sender}: applied up to {gap.head}, missing {gap.missing.start}.."
            f"{gap.missing.stop - 1}, {gap.held} held since {gap.since.isoformat()}"
        )
    for row in report.held:
        out.print(f"  held {row.message_id} ({row.message_type})")
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.refusals_by_reason.items()))
    out.print(f"refused: {len(report.refused)}" + (f" ({reasons})" if reasons else ""))
    for refused in report.refused:
        out.print(f"  {refused.message_id or '-'} {refused.reason}: {refused.detail}")
    out.print(f"dead letters: {len(report.dead_letters)}")
    for dead in report.dead_letters:
        state = dead.resolved or "waiting"
        out.print(
            f"  {dead.dead_letter_id} {dead.message_id or '-'} {dead.reason} ({state}, "
            f"{dead.deliveries} deliveries): {dead.detail}"
        )


@messages_app.command("skip")
@user_errors
def skip(
    authority: Annotated[str, _AUTHORITY],
    sender: Annotated[str, typer.Option("--sender", help="The sender whose gap to skip.")],
) -> None:
    """Give up on the messages missing before the sender's held ones and apply those."""
    from kervan.services.exchange_messages import SkipGap, skip_gap  # noqa: PLC0415

    uow, caller = _operator(authority)
    applied = skip_gap(uow, caller, SkipGap(authority, sender))
    typer.echo(f"skipped the gap from {sender}; applied {len(applied)}: {' '.join(applied)}")


@messages_app.command("replay")
@user_errors
def replay(
    authority: Annotated[str, _AUTHORITY],
    dead_letter_id: Annotated[str, typer.Argument(help="The dead letter's id (see list).")],
    trust_list: Annotated[Path, _TRUST],
) -> None:
    """Receive a dead letter again, once the fault that stopped it is mended."""
    from kervan.services.exchange_messages import (  # noqa: PLC0415
        ReplayDeadLetter,
        replay_dead_letter,
    )

    uow, caller = _operator(authority)
    receipt = replay_dead_letter(
        uow, caller, ReplayDeadLetter(authority, dead_letter_id, _trust(trust_list))
    )
    typer.echo(f"{receipt.message_id or dead_letter_id}: {receipt.outcome}")


@messages_app.command("rerequest")
@user_errors
def rerequest(
    authority: Annotated[str, _AUTHORITY],
    trust_list: Annotated[Path, _TRUST],
    broker: Annotated[str, typer.Option("--broker", envvar="KERVAN_BROKER", help="NATS URL.")],
    corridor: Annotated[str, typer.Option("--corridor", help="The corridor's stream.")] = "middle",
    sender: Annotated[
        str | None, typer.Option("--sender", help="Only this sender's channel.")
    ] = None,
) -> None:
    """Read channels again from the stream and receive what they hold."""
    import asyncio  # noqa: PLC0415
    import collections  # noqa: PLC0415

    from kervan.exchange.bus import NatsJetStreamBroker  # noqa: PLC0415
    from kervan.services.exchange_messages import ReceiveAgain, receive_again  # noqa: PLC0415

    trust = _trust(trust_list)
    senders = [sender] if sender else sorted(trust.parties() - {authority})

    async def read() -> dict[str, list[bytes]]:
        nats = NatsJetStreamBroker(broker, corridor=corridor, inbox_prefix=f"_INBOX.{authority}")
        await nats.connect()
        try:
            return {code: await nats.read_channel(authority, code) for code in senders}
        finally:
            await nats.close()

    found = asyncio.run(read())
    uow, caller = _operator(authority)
    messages = [data for code in senders for data in found[code]]
    receipts = receive_again(uow, caller, ReceiveAgain(authority, messages, trust))
    outcomes = collections.Counter(r.outcome for r in receipts)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) or "nothing"
    typer.echo(f"read {len(messages)} message(s) from {len(senders)} sender(s): {summary}")

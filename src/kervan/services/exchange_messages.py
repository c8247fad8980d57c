"""What an authority's operators do with its node's messages: list the held, refused and
dead-lettered ones; skip a gap that will never be filled; replay a dead letter once its fault
is mended; receive again messages asked for from the sender's channel in the stream.

Each is a use case `(uow, caller, command)` the command line (`kervan messages`) and the
authority's page (/exchange/<authority>/messages) both call. The caller administers the node,
or works for that very authority (a customs or permit authority's own people); anyone else is
told the authority's messages do not exist (404). Receiving goes through the authority's inbox
with the corridor's handlers, as the running node does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kervan.errors import NotFoundError
from kervan.exchange.inbox import Inbox, Receipt
from kervan.exchange.status import (
    HeldGap,
    dead_letters,
    gap_asks,
    held_gaps,
    held_messages,
    note_operator_ask,
    refusals_by_reason,
    rejections,
)
from kervan.services.access import Scope, Who, identify
from kervan.services.customs.handlers import message_handler
from kervan.services.node import NodeUnitOfWork
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.tables.exchange import DeadLetterRow, GapAskRow, InboxRow, RejectedMessageRow
from kervan.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class AuthorityMessages:
    """Which authority's messages the operator asks about."""

    authority: str


@dataclass(frozen=True, slots=True)
class MessagesReport:
    """An authority's messages that need an operator's eye."""

    gaps: list[HeldGap]
    held: list[InboxRow]
    refused: list[RejectedMessageRow]
    refusals_by_reason: dict[str, int]
    dead_letters: list[DeadLetterRow]
    asks: dict[str, GapAskRow]
    """How the stream was asked again for each open gap, by sender."""


@dataclass(frozen=True, slots=True)
class SkipGap:
    """Give up on the messages missing before `sender`'s held ones at `authority`."""

    authority: str
    sender: str


@dataclass(frozen=True, slots=True)
class AskGapAgain:
    """Have `authority`'s node ask the sender's channel in the stream again, at its next check,
    for the messages missing before `sender`'s held ones (the node holds the broker's
    credentials; the page that asks does not)."""

    authority: str
    sender: str


@dataclass(frozen=True, slots=True)
class ReplayDeadLetter:
    """Receive dead letter `dead_letter_id` of `authority` again, judged by `trust` (None: the
    public keys and revocations the node's store holds)."""

    authority: str
    dead_letter_id: str
    trust: TrustList | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ReceiveAgain:
    """Messages for `authority` read again from the stream, judged by `trust`."""

    authority: str
    messages: list[bytes]
    trust: TrustList = field(compare=False)


_AUTHORITIES = (OrganisationKind.CUSTOMS_AUTHORITY, OrganisationKind.PERMIT_AUTHORITY)


def _operating(uow: UnitOfWork, caller: Who, authority: str) -> None:
    """The caller may look after `authority`'s messages (NotFoundError otherwise)."""
    who = identify(uow, caller)
    if Scope.ADMIN in who.scopes:
        return
    if who.org_id != authority or who.kind not in _AUTHORITIES:
        raise NotFoundError("messages of authority", authority)


def _inbox(uow: UnitOfWork, authority: str, trust: TrustList) -> Inbox:
    node = uow.node if isinstance(uow, NodeUnitOfWork) else None
    return Inbox(authority, trust, message_handler(uow.clock, node), clock=uow.clock)


def messages_report(uow: UnitOfWork, caller: Who, command: AuthorityMessages) -> MessagesReport:
    """The authority's held gaps and messages, refusals and dead letters."""
    with uow.for_reading():
        _operating(uow, caller, command.authority)
        session = uow.session
        report = MessagesReport(
            gaps=held_gaps(session, command.authority),
            held=held_messages(session, command.authority),
            refused=rejections(session, command.authority),
            refusals_by_reason=refusals_by_reason(session, command.authority),
            dead_letters=dead_letters(session, command.authority),
            asks=gap_asks(session, command.authority),
        )
        session.expunge_all()
        return report


def skip_gap(uow: UnitOfWork, caller: Who, command: SkipGap) -> list[str]:
    """Skip the gap before `sender`'s held messages; return the ids applied because of it."""
    with uow:
        _operating(uow, caller, command.authority)
        # Skipping judges nothing new: the held messages were verified when they came.
        inbox = _inbox(uow, command.authority, TrustList())
        return inbox.skip_gap(uow.session, command.sender)


def ask_gap_again(uow: UnitOfWork, caller: Who, command: AskGapAgain) -> HeldGap:
    """Record the operator's ask for the gap before `sender`'s held messages; return the gap.
    NotFoundError when no gap of that sender is open."""
    with uow:
        _operating(uow, caller, command.authority)
        who = identify(uow, caller)
        gap = note_operator_ask(
            uow.session, command.authority, command.sender, who.subject, uow.clock()
        )
        if gap is None:
            raise NotFoundError("held gap of sender", command.sender)
        return gap


def replay_dead_letter(uow: UnitOfWork, caller: Who, command: ReplayDeadLetter) -> Receipt:
    """Receive a dead letter again; return what became of it."""
    with uow:
        _operating(uow, caller, command.authority)
        trust = command.trust or uow.signing_keys.trust_list()
        inbox = _inbox(uow, command.authority, trust)
        return inbox.replay(uow.session, command.dead_letter_id)


def receive_again(uow: UnitOfWork, caller: Who, command: ReceiveAgain) -> list[Receipt]:
    """Run messages read again from the stream through the inbox (those already received are
    duplicates, missing ones fill their gaps); return the receipts."""
    with uow:
        _operating(uow, caller, command.authority)
        inbox = _inbox(uow, command.authority, command.trust)
        return [inbox.receive(uow.session, data) for data in command.messages]

"""Delivering this authority's e-Permit events to its partners over HTTP (httpx).

Events are sent in the order they were produced, per partner: the body exactly as produced and
signed, "Authorization: Bearer <proof>". A 2xx answer, or EVENT_ALREADY_EXISTS (the partner has
it), marks the event delivered. A partner that cannot be reached (connection refused, time-out,
HTTP 5xx or 429) keeps the event: that partner's queue waits, with a growing delay, so no event
overtakes its previous one. A partner that refuses the event (HTTP 4xx: its error code) makes it
a dead letter: it is set aside with the code and reported (`on_dead_letter`), and the partner's
later events flow on, each chained anew onto the last event the partner accepted (the partner
never saw the refused one, so pointing at it would be PREVIOUS_EVENT_NOTFOUND).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker

from kervan.errors import EpermitPeerError
from kervan.exchange.epermit_peer.peer import GENESIS, EpermitPeer
from kervan.exchange.epermit_peer.wire import EventType
from kervan.store.db import unit_of_work
from kervan.store.repositories.epermit_network import EpermitNetworkRepository, OutgoingRow

log = logging.getLogger(__name__)


class HttpResponse(Protocol):
    """What the client reads from an HTTP answer (httpx.Response fits)."""

    @property
    def status_code(self) -> int: ...

    @property
    def is_success(self) -> bool: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class HttpClient(Protocol):
    """What the client needs to talk HTTP (httpx.Client fits, and so does a test client)."""

    def get(self, url: str) -> HttpResponse: ...

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> HttpResponse: ...


#: HTTP answers that say "not now" rather than "never": the event is tried again later.
_TRY_AGAIN: Final = frozenset({408, 425, 429})
#: The first retry waits this long; each further one twice as long, up to MAX_DELAY.
FIRST_DELAY: Final = timedelta(seconds=2)
MAX_DELAY: Final = timedelta(minutes=5)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts (2 s, 4 s, 8 s ... at most 5 min)."""
    delay: timedelta = FIRST_DELAY * (2 ** min(max(attempts - 1, 0), 20))
    return min(delay, MAX_DELAY)


class PartnerUnreachable(Exception):  # noqa: N818 (a condition, not a programming error)
    """The partner could not be reached or answered "not now"; try again later."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event a partner refused, with its error code."""

    consumer: str
    event_id: str
    event_type: str
    error_code: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Event ids delivered, the partners whose queue waits (with the reason), dead letters."""

    delivered: tuple[str, ...]
    failed: Mapping[str, str]
    dead: tuple[DeadLetter, ...] = ()
    delivered_to: Mapping[str, int] = dataclasses.field(default_factory=dict)


class EpermitPeerClient:
    """Sends `peer`'s stored outgoing events to the partners at `partner_urls` (code -> base
    URL) through `http`; `on_dead_letter` hears of each event a partner refused."""

    def __init__(
        self,
        peer: EpermitPeer,
        sessions: sessionmaker[Session],
        http: HttpClient,
        partner_urls: Mapping[str, str],
        *,
        on_dead_letter: Callable[[DeadLetter], None] | None = None,
    ) -> None:
        self._peer = peer
        self._sessions = sessions
        self._http = http
        self._urls = {code: url.rstrip("/") for code, url in partner_urls.items()}
        self._on_dead = on_dead_letter

    def authority(self, code: str) -> dict[str, Any]:
        """GET / of partner `code`: its code, name, version and keys."""
        response = self._http.get(f"{self._urls[code]}/")
        if not response.is_success:
            raise EpermitPeerError(
                "AUTHORITY_NOT_FOUND", f"GET / of {code}: HTTP {response.status_code}", status=502
            )
        body: dict[str, Any] = response.json()
        return body

    def deliver_pending(self) -> DeliveryReport:
        """POST every undelivered event that is due, oldest first per partner; return what
        happened."""
        org, code = self._peer.org_id, self._peer.code
        with unit_of_work(self._sessions) as session:
            rows = EpermitNetworkRepository(session).undelivered(org, code)
        delivered: list[str] = []
        delivered_to: dict[str, int] = {}
        failed: dict[str, str] = {}
        dead: list[DeadLetter] = []
        for row in rows:
            if row.consumer in failed:
                continue
            now = self._peer.now()
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                failed[row.consumer] = f"waiting until {row.next_attempt_at.isoformat()}"
                continue
            if row.consumer not in self._urls:
                failed[row.consumer] = f"{row.consumer} is not a configured partner"
                continue
            body, proof = self._chained(row)
            try:
                self.post(row.consumer, EventType(row.event_type), body, proof)
            except PartnerUnreachable as exc:
                failed[row.consumer] = exc.message
                self._try_later(row, exc, now)
                continue
            except EpermitPeerError as exc:
                letter = DeadLetter(
                    row.consumer, row.event_id, row.event_type, exc.error_code, exc.message
                )
                self._dead_letter(row, letter, now)
                dead.append(letter)
                continue
            delivered.append(row.event_id)
            delivered_to[row.consumer] = delivered_to.get(row.consumer, 0) + 1
            with unit_of_work(self._sessions) as session:
                EpermitNetworkRepository(session).delivered(
                    org, code, row.consumer, row.event_id, now
                )
        return DeliveryReport(tuple(delivered), failed, tuple(dead), delivered_to)

    def _chained(self, row: OutgoingRow) -> tuple[bytes, str]:
        """The event's bytes and proof, chained anew if its previous event is a dead letter."""
        org, code = self._peer.org_id, self._peer.code
        with unit_of_work(self._sessions) as session:
            repository = EpermitNetworkRepository(session)
            previous = row.previous_event_id
            if (
                previous == GENESIS
                or repository.outgoing(org, code, row.consumer, previous).dead_at is None
            ):
                return row.body.encode("utf-8"), row.proof
            accepted = repository.accepted_head(org, code, row.consumer) or GENESIS
            body, proof = self._peer.rechain(EventType(row.event_type), row.body, accepted)
            repository.rechain(
                org,
                code,
                row.consumer,
                row.event_id,
                previous_event_id=accepted,
                body=body.decode("utf-8"),
                proof=proof,
            )
        log.info("event %s to %s chained anew onto %s", row.event_id, row.consumer, accepted)
        return body, proof

    def _try_later(self, row: OutgoingRow, exc: PartnerUnreachable, now: datetime) -> None:
        with unit_of_work(self._sessions) as session:
            repository = EpermitNetworkRepository(session)
            wait = retry_delay(row.attempts + 1)
            repository.try_later(
                self._peer.org_id,
                self._peer.code,
                row.consumer,
                row.event_id,
                at=now + wait,
                code=exc.code,
                message=exc.message,
            )
        log.warning(
            "e-Permit event %s to %s not delivered (%s); trying again in %s",
            row.event_id,
            row.consumer,
            exc.message,
            wait,
        )

    def _dead_letter(self, row: OutgoingRow, letter: DeadLetter, now: datetime) -> None:
        with unit_of_work(self._sessions) as session:
            EpermitNetworkRepository(session).dead_letter(
                self._peer.org_id,
                self._peer.code,
                row.consumer,
                row.event_id,
                at=now,
                code=letter.error_code,
                message=letter.message,
            )
        log.error(
            "e-Permit partner %s refused %s %s: %s (%s); it is a dead letter, later events go on",
            letter.consumer,
            letter.event_type,
            letter.event_id,
            letter.error_code,
            letter.message,
        )
        if self._on_dead is not None:
            self._on_dead(letter)

    def post(self, consumer: str, kind: EventType, body: bytes, proof: str) -> None:
        """POST one event; return when the partner accepted it or already had it. Raise
        PartnerUnreachable when it could not say, EpermitPeerError with the partner's error code
        and status when it refused."""
        try:
            response = self._http.post(
                f"{self._urls[consumer]}/events/{kind.path}",
                content=body,
                headers={"Authorization": f"Bearer {proof}", "Content-Type": "application/json"},
            )
        except (httpx.HTTPError, OSError) as exc:
            raise PartnerUnreachable("UNREACHABLE", f"{consumer}: {exc!r}") from exc
        if response.is_success:
            return
        code, message = "HTTP_ERROR", response.text[:500]
        try:
            answer = response.json()
            code = str(answer.get("details", {}).get("errorCode", code))
            message = str(answer.get("error_message", message))
        except (ValueError, AttributeError):
            pass
        if code == "EVENT_ALREADY_EXISTS":
            return
        status = response.status_code
        if status >= 500 or status in _TRY_AGAIN:
            raise PartnerUnreachable(f"HTTP_{status}", f"{consumer}: HTTP {status} {message}")
        raise EpermitPeerError(code, message, status=status)

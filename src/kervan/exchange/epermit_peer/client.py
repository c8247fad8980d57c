"""Delivering this authority's e-Permit events to its partners over HTTP (httpx).

Events are sent in the order they were produced, per partner: the body exactly as produced and
signed, "Authorization: Bearer <proof>". A 2xx answer, or EVENT_ALREADY_EXISTS (the partner has
it), marks the event delivered; any other answer stops that partner's queue so no event overtakes
its previous one, and the next `deliver_pending` tries again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kervan.errors import EpermitPeerError
from kervan.exchange.epermit_peer.peer import EpermitPeer
from kervan.exchange.epermit_peer.wire import EventType
from kervan.store.db import unit_of_work
from kervan.store.tables.exchange import EpermitPeerEventRow

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


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Event ids delivered, and the partners whose queue stopped with the reason."""

    delivered: tuple[str, ...]
    failed: Mapping[str, str]


class EpermitPeerClient:
    """Sends `peer`'s stored outgoing events to the partners at `partner_urls` (code -> base
    URL) through `http`."""

    def __init__(
        self,
        peer: EpermitPeer,
        sessions: sessionmaker[Session],
        http: HttpClient,
        partner_urls: Mapping[str, str],
    ) -> None:
        self._peer = peer
        self._sessions = sessions
        self._http = http
        self._urls = {code: url.rstrip("/") for code, url in partner_urls.items()}

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
        """POST every undelivered event, oldest first per partner; return what happened."""
        with unit_of_work(self._sessions) as session:
            rows = session.execute(
                select(
                    EpermitPeerEventRow.event_consumer,
                    EpermitPeerEventRow.event_id,
                    EpermitPeerEventRow.event_type,
                    EpermitPeerEventRow.body,
                    EpermitPeerEventRow.proof,
                )
                .where(
                    EpermitPeerEventRow.org_id == self._peer.org_id,
                    EpermitPeerEventRow.direction == "out",
                    EpermitPeerEventRow.sent_at.is_(None),
                )
                .order_by(EpermitPeerEventRow.recorded_at)
            ).all()
        delivered: list[str] = []
        failed: dict[str, str] = {}
        for consumer, event_id, event_type, body, proof in rows:
            if consumer in failed:
                continue
            try:
                self.post(consumer, EventType(event_type), body.encode("utf-8"), proof)
            except (EpermitPeerError, httpx.HTTPError, OSError) as exc:
                failed[consumer] = str(exc)
                log.warning("event %s to %s not delivered: %s", event_id, consumer, exc)
                continue
            delivered.append(event_id)
            with unit_of_work(self._sessions) as session:
                session.execute(
                    update(EpermitPeerEventRow)
                    .where(
                        EpermitPeerEventRow.org_id == self._peer.org_id,
                        EpermitPeerEventRow.event_producer == self._peer.code,
                        EpermitPeerEventRow.event_consumer == consumer,
                        EpermitPeerEventRow.event_id == event_id,
                    )
                    .values(sent_at=self._peer.now())
                )
        return DeliveryReport(tuple(delivered), failed)

    def post(self, consumer: str, kind: EventType, body: bytes, proof: str) -> None:
        """POST one event; return when the partner accepted it or already had it, else raise
        EpermitPeerError with the partner's error code and status."""
        response = self._http.post(
            f"{self._urls[consumer]}/events/{kind.path}",
            content=body,
            headers={"Authorization": f"Bearer {proof}", "Content-Type": "application/json"},
        )
        if response.is_success:
            return
        code, message = "HTTP_ERROR", response.text[:500]
        try:
            answer = response.json()
            code = str(answer.get("details", {}).get("errorCode", code))
            message = str(answer.get("error_message", message))
        except ValueError:
            pass
        if code == "EVENT_ALREADY_EXISTS":
            return
        raise EpermitPeerError(code, message, status=response.status_code)

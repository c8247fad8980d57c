"""e-Permits over HTTP: quotas, issuing and revoking (permit authorities), and verifying a
scanned QR."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kervan.api.deps import idempotent, node_of, transaction
from kervan.services.permits import (
    IssueRequest,
    PermitCheck,
    PermitRevocation,
    QuotaRequest,
    QuotaView,
    RevokeRequest,
    add_quota,
    check_qr,
    issue_for_shipment,
    revoke_permit,
)
from kervan.store.db import unit_of_work

router = APIRouter(prefix="/v1", tags=["permits"])


class QrScan(BaseModel):
    qr: str = Field(min_length=10, max_length=4096, description="The scanned QR text (a JWS)")


@router.post("/permits/quotas", status_code=201, response_model=QuotaView)
def create_quota(body: QuotaRequest, request: Request) -> Response:
    """A permit authority records the quota a partner country granted its hauliers."""
    with transaction(request) as (session, caller):
        return idempotent(request, session, caller, body, lambda: add_quota(session, caller, body))


@router.post(
    "/permits",
    status_code=201,
    responses={404: {"description": "No such e-Permit request for the caller's country"}},
)
def issue_permit(body: IssueRequest, request: Request) -> Response:
    """Issue the permit a shipment's e-Permit request asks of the caller's country."""
    ctx = node_of(request)
    with transaction(request) as (session, caller):

        def create() -> dict[str, Any]:
            return issue_for_shipment(ctx, session, caller, body)

        return idempotent(request, session, caller, body, create)


@router.post(
    "/permits/{permit_id}/revocation",
    status_code=201,
    response_model=PermitRevocation,
    responses={
        404: {"description": "No such permit issued by the caller's authority"},
        409: {"description": "The permit is used or already revoked"},
    },
)
def revoke(permit_id: str, body: RevokeRequest, request: Request) -> Response:
    """Revoke an unused permit your authority issued: its QR code then checks as revoked."""
    ctx = node_of(request)
    with transaction(request) as (session, caller):
        return idempotent(
            request,
            session,
            caller,
            body,
            lambda: revoke_permit(ctx, session, caller, permit_id, body),
        )


@router.post("/verify/permit", response_model=PermitCheck, tags=["verification"])
def verify_permit(body: QrScan, request: Request) -> PermitCheck:
    """Anyone may check a scanned permit QR: who issued it, for which truck, is it valid."""
    ctx = node_of(request)
    with unit_of_work(ctx.sessions) as session:
        return check_qr(session, body.qr, ctx.clock())

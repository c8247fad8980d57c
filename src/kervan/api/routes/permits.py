"""e-Permits over HTTP: quotas, issuing and revoking (permit authorities), and verifying a
scanned QR."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kervan.api.deps import created, credentials, uow_of
from kervan.api.params import ObjectId
from kervan.documents.epermit import PermitRecord
from kervan.services import permits
from kervan.services.epermit_border import (
    BorderUse,
    Grant,
    GrantedQuota,
    GrantRequest,
    RecordedUse,
    UseAtBorder,
    grant_quota,
    record_border_use,
)
from kervan.services.epermit_network import AuthorityRef
from kervan.services.epermit_sync import NetworkView, network_view
from kervan.services.permits import (
    IssueRequest,
    PermitCheck,
    PermitRef,
    PermitRevocation,
    QuotaRequest,
    QuotaView,
    RevokePermit,
    RevokeRequest,
    add_quota,
    check_qr,
    issued_permit,
    revoke_permit,
)

router = APIRouter(prefix="/v1", tags=["permits"])


class QrScan(BaseModel):
    qr: str = Field(
        min_length=10,
        max_length=4096,
        pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description="The scanned QR text (a compact JWS: three base64url parts)",
    )


@router.post("/permits/quotas", status_code=201, response_model=QuotaView)
def create_quota(body: QuotaRequest, request: Request) -> Response:
    """A permit authority records the quota a partner country granted its hauliers."""
    uow = uow_of(request, body)
    return created(uow, add_quota(uow, credentials(request), body))


@router.post(
    "/permits",
    status_code=201,
    responses={404: {"description": "No such e-Permit request for the caller's country"}},
)
def issue_permit(body: IssueRequest, request: Request) -> Response:
    """Issue the permit a shipment's e-Permit request asks of the caller's country."""
    uow = uow_of(request, body)
    return created(uow, permits.issue_for_shipment(uow, credentials(request), body))


@router.post(
    "/permits/{permit_id}/revocation",
    status_code=201,
    response_model=PermitRevocation,
    responses={
        404: {"description": "No such permit issued by the caller's authority"},
        409: {"description": "The permit is used or already revoked"},
    },
)
def revoke(permit_id: ObjectId, body: RevokeRequest, request: Request) -> Response:
    """Revoke an unused permit your authority issued: its QR code then checks as revoked."""
    uow = uow_of(request, body)
    return created(uow, revoke_permit(uow, credentials(request), RevokePermit(permit_id, body)))


@router.post("/permits/quota-grants", status_code=201, response_model=GrantedQuota)
def grant(body: GrantRequest, request: Request) -> Response:
    """As the quota authority, grant a partner's issuing authority permits for entering your
    country; a partner on the e-Permit network is told (QUOTA_CREATED)."""
    uow = uow_of(request, body)
    return created(uow, grant_quota(uow, credentials(request), Grant(None, body)))


@router.post(
    "/permits/border-uses",
    status_code=201,
    response_model=RecordedUse,
    responses={422: {"description": "The permit is refused at this border (reason named)"}},
)
def border_use(body: BorderUse, request: Request) -> Response:
    """As the control authority, check a presented permit and record its ENTRANCE or EXIT;
    the issuing authority is told (PERMIT_USED)."""
    uow = uow_of(request, body)
    return created(uow, record_border_use(uow, credentials(request), UseAtBorder(None, body)))


@router.get("/permits/network", response_model=NetworkView)
def network(request: Request) -> NetworkView:
    """Your authority's e-Permit partners (last event each way, waiting events, dead letters)
    and its quota reconciliation (granted vs issued vs used, drift)."""
    return network_view(uow_of(request), credentials(request), AuthorityRef(""))


@router.get(
    "/permits/{permit_id}",
    response_model=PermitRecord,
    responses={404: {"description": "No such permit at the caller's authority"}},
)
def permit(permit_id: ObjectId, request: Request) -> PermitRecord:
    """A permit your authority issued or was told of, with its usages and revocation."""
    return issued_permit(uow_of(request), credentials(request), PermitRef(permit_id))


@router.post("/verify/permit", response_model=PermitCheck, tags=["verification"])
def verify_permit(body: QrScan, request: Request) -> PermitCheck:
    """Anyone may check a scanned permit QR: who issued it, for which truck, is it valid."""
    return check_qr(uow_of(request), permits.QrScan(body.qr))

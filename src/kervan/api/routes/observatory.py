"""The corridor observatory over HTTP: KPIs from this node's records, as JSON or CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from kervan.api.deps import credentials, uow_of
from kervan.services.observatory import KpiRequest, kpis_report

router = APIRouter(prefix="/v1/observatory", tags=["observatory"])


@router.get(
    "/kpis",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def get_kpis(
    request: Request,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> JSONResponse | PlainTextResponse:
    """Transit and border times, time lost by cause, volumes, on-time and digital shares, beside
    the published baselines (CAREC CPMM, the route's volumes) and the 2030 targets."""
    report = kpis_report(
        uow_of(request), credentials(request), KpiRequest("csv" if format == "csv" else "json")
    )
    if isinstance(report, str):
        return PlainTextResponse(report, media_type="text/csv")
    return JSONResponse(report)

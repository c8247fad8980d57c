"""The web pages: the route planner with its corridor map, booking and following shipments,
signing documents, the border console, permits, the observatory and public verification, in
English, Turkish and Russian.

Server-rendered (Jinja2), enhanced with vendored HTMX; every script, style and map outline is
served from this package, so the pages work on a closed network. Every page acts through the
services with the Caller of the person logged in, as the API does.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kervan.web import (
    auth_pages,
    console_pages,
    error_pages,
    exchange_pages,
    observatory_pages,
    pages,
    permit_network_pages,
    permit_pages,
    shipment_pages,
    standard_pages,
    verify_pages,
)
from kervan.web.common import CsrfRefusedError, LoginRequiredError

STATIC_PATH = "/web/static"


def install(app: FastAPI) -> None:
    """Add the pages and their static files to `app` (which holds `state.planner`)."""
    static = Path(str(resources.files("kervan.web").joinpath("static")))
    for module in (
        pages,
        auth_pages,
        shipment_pages,
        standard_pages,
        verify_pages,
        console_pages,
        exchange_pages,
        permit_network_pages,
        permit_pages,
        observatory_pages,
    ):
        app.include_router(module.router)
    app.add_exception_handler(LoginRequiredError, auth_pages.login_required)
    app.add_exception_handler(CsrfRefusedError, auth_pages.csrf_refused)
    error_pages.install(app)
    app.mount(STATIC_PATH, StaticFiles(directory=static), name="web-static")


__all__ = ["STATIC_PATH", "install"]

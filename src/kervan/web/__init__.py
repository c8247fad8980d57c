"""The web pages: the route planner with its corridor map, in English, Turkish and Russian.

Server-rendered (Jinja2), enhanced with vendored HTMX; every script, style and map outline is
served from this package, so the pages work on a closed network.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kervan.web.pages import router

STATIC_PATH = "/web/static"


def install(app: FastAPI) -> None:
    """Add the pages and their static files to `app` (which holds `state.planner`)."""
    static = Path(str(resources.files("kervan.web").joinpath("static")))
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=static), name="web-static")


__all__ = ["STATIC_PATH", "install"]

"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), from scripts
vendored in the package (web/static/vendor): they work on a closed network and load nothing,
fonts included, from anywhere else; their Content-Security-Policy says so to the browser."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from kervan.web import STATIC_PATH

#: The documentation pages' policy: scripts and styles from this server only (the viewers set
#: inline styles, and ReDoc searches in a worker it starts from a blob).
DOCS_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_VENDOR: Final = f"{STATIC_PATH}/vendor"

_SWAGGER_UI: Final = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kervan API</title>
<link rel="icon" href="{STATIC_PATH}/img/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{_VENDOR}/swagger-ui/swagger-ui.css">
<link rel="stylesheet" href="{STATIC_PATH}/css/api-docs.css">
</head>
<body>
<div id="swagger-ui" data-spec-url="/openapi.json"></div>
<script src="{_VENDOR}/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{STATIC_PATH}/js/api-docs.js"></script>
</body>
</html>
"""

_REDOC: Final = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kervan API</title>
<link rel="icon" href="{STATIC_PATH}/img/favicon.svg" type="image/svg+xml">
</head>
<body>
<redoc spec-url="/openapi.json" hide-download-button></redoc>
<script src="{_VENDOR}/redoc/redoc.standalone.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve `/docs` and `/redoc` (the app is made with FastAPI's own docs pages off)."""

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(_SWAGGER_UI, headers={"Content-Security-Policy": DOCS_POLICY})

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(_REDOC, headers={"Content-Security-Policy": DOCS_POLICY})

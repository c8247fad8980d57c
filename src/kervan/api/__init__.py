"""Kervan's HTTP API (FastAPI): versioned /v1 paths, problem+json errors, OpenAPI 3.1."""

"""`kervan serve`: the API and the web interface (uvicorn) on the configured node.

uvicorn loads `kervan.api.asgi:app` in the serving process (or in each worker with --workers);
that entry point, not this command, tunes the process for serving (kervan.api.asgi).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors

if TYPE_CHECKING:
    from kervan.settings import Settings


@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Run the API and web interface (uvicorn) on the configured database."""
    import logging  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415 (only the server needs it)

    from kervan.api.app import configure_logging  # noqa: PLC0415
    from kervan.settings import get_settings  # noqa: PLC0415

    settings = get_settings()  # refuses an unsafe configuration before anything starts
    configure_logging()
    # Worker processes find the secret this process may have just made: say so once, here.
    logging.getLogger("kervan.cli").info(
        "serving",
        extra={
            "environment": settings.environment.value,
            "token_secret": settings.secret_origin,
            "workers": workers,
        },
    )
    _audit_before_serving(settings)
    uvicorn.run(
        "kervan.api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


def _audit_before_serving(settings: Settings) -> None:
    """Re-verify the store here, so a store that does not verify stops the command with its
    error and exit code (15) rather than a server that fails to load; every worker's app runs
    the same audit again when it starts (kervan.api.app)."""
    from kervan.services.audit import startup_audit  # noqa: PLC0415
    from kervan.store.db import make_session_factory  # noqa: PLC0415
    from kervan.store.schema import connect_migrated  # noqa: PLC0415
    from kervan.store.uow import UnitOfWork  # noqa: PLC0415

    engine = connect_migrated(settings.resolved_database_url)
    try:
        startup_audit(
            UnitOfWork(make_session_factory(engine)),
            log_id=settings.node_id,
            serve_unverified=settings.serve_unverified_ledger,
        )
    finally:
        engine.dispose()

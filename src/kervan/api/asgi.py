"""The ASGI entry point uvicorn loads (`kervan serve`): the app on the configured node."""

from kervan.api.app import create_app

app = create_app()

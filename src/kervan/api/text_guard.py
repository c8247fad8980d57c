"""Control characters never reach a use case: one guard over every text a request carries.

A NUL byte or another control character in a text is never meant (PostgreSQL refuses NUL in
text outright, and a 500 is no answer); a lone UTF-16 surrogate cannot be stored as UTF-8 at
all. The guard reads what the request carries before any route runs (path parameters, the
query string, the headers the node stores or looks up, a JSON or form body, object keys
included) and answers 422 problem+json naming the first field holding one, so no query ever
sees it. Tab, line feed and carriage return pass in bodies: free-text fields (a reason, the
marks on packages) may hold lines, and the field types of single-line values refuse them
(`kervan.documents.text`); in a path, a query or a header nothing may hold them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kervan.api.problems import leaf_routes, problem_response
from kervan.documents.control_characters import first_control

#: Headers whose values the node stores (credentials are only ever hashed or verified: one
#: holding a control character matches nothing and answers 401).
CHECKED_HEADERS: Final = ("idempotency-key",)


def _walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(field, text) for every string in a JSON value, object keys included."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}"
            yield inner, key
            yield from _walk(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}.{index}")


class ControlCharacterGuard:
    """Answers 422 `control_character` for a request carrying a control character in any text.

    Sits inside the body size limit (the body it reads is bounded) and replays the body it read
    to the app unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self._in_head(scope)
        replay = receive
        if found is None and scope["method"] in ("POST", "PUT", "PATCH"):
            body = await _read_body(receive)
            found = await _in_body(scope, body)
            replay = _replaying(body, receive)
        if found is None:
            await self.app(scope, replay, send)
            return
        where, character = found
        answer = problem_response(
            Request(scope),
            422,
            "control_character",
            f"{where} holds the control character {character}; text may not hold control "
            "characters (tab and line breaks only in free-text fields of a body)",
            errors=[{"field": where, "message": f"control character {character} not allowed"}],
        )
        await answer(scope, receive, send)

    def _in_head(self, scope: Scope) -> tuple[str, str] | None:
        for name, value in self._path_params(scope):
            if (character := first_control(value, lines=False)) is not None:
                return f"path.{name}", character
        query = scope.get("query_string", b"").decode("utf-8", "surrogateescape")
        for name, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
            for text in (name, value):
                if (character := first_control(text, lines=False)) is not None:
                    return f"query.{name}", character
        headers = dict(scope["headers"])
        for header in CHECKED_HEADERS:
            raw = headers.get(header.encode())
            if raw is not None and (character := first_control(raw.decode("latin-1"), lines=False)):
                return f"header.{header}", character
        return None

    def _path_params(self, scope: Scope) -> list[tuple[str, str]]:
        """The path's parameters by name as the route that will answer reads them (the
        whole path when no route matches: it still may not hold control characters)."""
        router = getattr(scope.get("app"), "router", None)
        for route in leaf_routes(getattr(router, "routes", ())):
            match, child = route.matches(scope)
            if match is not Match.NONE:
                params = child.get("path_params", {})
                return [(str(k), str(v)) for k, v in params.items()]
        return [("", str(scope.get("path", "")))]


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _in_body(scope: Scope, body: bytes) -> tuple[str, str] | None:
    if not body:
        return None
    content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").lower()
    media = content_type.split(";")[0].strip()
    texts: list[tuple[str, str]]
    if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        texts = await _form_texts(scope, body)
    elif not media or media == "application/json" or media.endswith("+json"):
        try:
            texts = list(_walk(json.loads(body), "body"))
        except ValueError:
            return None  # not JSON (or not UTF-8): FastAPI answers it as a malformed body
    else:
        return None
    for where, text in texts:
        if (character := first_control(text, lines=True)) is not None:
            return where, character
    return None


async def _form_texts(scope: Scope, body: bytes) -> list[tuple[str, str]]:
    """(field, text) for the form's field names and values (file contents are not text)."""

    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    if b"multipart/form-data" not in dict(scope["headers"]).get(b"content-type", b""):
        decoded = body.decode("utf-8", "surrogateescape")
        pairs = parse_qsl(decoded, keep_blank_values=True, errors="surrogateescape")
        return [(f"body.{k}", t) for k, v in pairs for t in (k, v)]
    try:
        form: FormData = await Request(scope, once).form()
    except Exception:
        return []  # a malformed multipart body: the route's own parsing answers it
    texts: list[tuple[str, str]] = []
    for name, value in form.multi_items():
        texts.append((f"body.{name}", name))
        if isinstance(value, UploadFile):
            texts.append((f"body.{name}", value.filename or ""))
        else:
            texts.append((f"body.{name}", value))
    await form.close()
    return texts


__all__ = ["CHECKED_HEADERS", "ControlCharacterGuard"]

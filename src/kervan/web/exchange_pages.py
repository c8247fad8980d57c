"""An authority's messages page: what its node holds back for an operator's eye - sequence gaps
with the messages held behind them, refused messages by reason, dead letters - and the actions
on them: have the node ask the sender's stream again for a gap now, skip a gap that will never
be filled, replay a dead letter once its fault is mended.

The same use cases as `kervan messages` (services.exchange_messages); only the authority's own
people (a customs or permit authority) or the node's operator see it, anyone else a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from kervan.errors import KervanError, NotFoundError
from kervan.services.exchange_messages import (
    AskGapAgain,
    AuthorityMessages,
    ReplayDeadLetter,
    SkipGap,
    ask_gap_again,
    messages_report,
    replay_dead_letter,
    skip_gap,
)
from kervan.web.common import CSRF_FIELD, Flash, check_csrf, person, redirect_with, render, uow_of

router = APIRouter(include_in_schema=False)
_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,63}$"


def page_of(authority: str) -> str:
    return f"/exchange/{authority}/messages"


@router.get("/exchange/messages")
def own_messages(request: Request) -> Response:
    """The signed-in person's own authority's page."""
    return RedirectResponse(page_of(person(request).caller.org_id), status_code=303)


@router.get("/exchange/{authority}/messages", response_class=HTMLResponse)
def messages_page(request: Request, authority: Annotated[str, Path(pattern=_CODE)]) -> Response:
    """Held gaps and messages, refusals by reason, dead letters of `authority`."""
    caller = person(request).caller
    try:
        report = messages_report(uow_of(request), caller, AuthorityMessages(authority))
    except NotFoundError:
        return render(request, "error.html", {"message_key": "error.not_found"}, status_code=404)
    context = {"authority": authority, "report": report}
    return render(request, "exchange_messages.html", context)


@router.post("/exchange/{authority}/messages/skip")
def skip(
    request: Request,
    authority: Annotated[str, Path(pattern=_CODE)],
    sender: Annotated[str, Form(pattern=_CODE)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Give up on the messages missing before `sender`'s held ones and apply those."""
    check_csrf(request, csrf)
    caller = person(request).caller
    try:
        applied = skip_gap(uow_of(request), caller, SkipGap(authority, sender))
    except KervanError as exc:
        return _refused(request, authority, exc)
    detail = f"{sender}: {len(applied)}"
    return redirect_with(request, page_of(authority), Flash(True, "messages.skipped", detail))


@router.post("/exchange/{authority}/messages/ask-again")
def ask_again(
    request: Request,
    authority: Annotated[str, Path(pattern=_CODE)],
    sender: Annotated[str, Form(pattern=_CODE)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Have the node ask `sender`'s channel in the stream again at its next check."""
    check_csrf(request, csrf)
    caller = person(request).caller
    try:
        gap = ask_gap_again(uow_of(request), caller, AskGapAgain(authority, sender))
    except KervanError as exc:
        return _refused(request, authority, exc)
    detail = f"{sender} {gap.missing.start}–{gap.missing.stop - 1}"
    return redirect_with(request, page_of(authority), Flash(True, "messages.asked_again", detail))


@router.post("/exchange/{authority}/messages/replay")
def replay(
    request: Request,
    authority: Annotated[str, Path(pattern=_CODE)],
    dead_letter_id: Annotated[str, Form(min_length=1, max_length=64)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Receive a dead letter again (judged by the trust list the node's store holds)."""
    check_csrf(request, csrf)
    caller = person(request).caller
    try:
        receipt = replay_dead_letter(
            uow_of(request), caller, ReplayDeadLetter(authority, dead_letter_id)
        )
    except KervanError as exc:
        return _refused(request, authority, exc)
    detail = f"{receipt.message_id or dead_letter_id}: {receipt.outcome}"
    return redirect_with(request, page_of(authority), Flash(True, "messages.replayed", detail))


def _refused(request: Request, authority: str, exc: KervanError) -> Response:
    """Another authority's page is not found; anything else refused shows on the page."""
    if isinstance(exc, NotFoundError) and exc.what == "messages of authority":
        return render(request, "error.html", {"message_key": "error.not_found"}, status_code=404)
    return redirect_with(request, page_of(authority), Flash(False, "action.refused", exc.message))


__all__ = ["router"]

"""The witnessed corridor log: this node's checkpoints and consistency proofs, its verifier
keys, and its witness endpoint for the other national nodes' logs (C2SP tlog-witness)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request, Response

from kervan.api.deps import uow_of
from kervan.errors import CheckpointConflictError, InvalidRequestError
from kervan.services.witness import (
    AddCheckpoint,
    ConsistencyAnswer,
    ConsistencyRequest,
    add_checkpoint,
    consistency_proof,
    latest_checkpoint,
    log_key,
    witness_key,
)

router = APIRouter(prefix="/v1", tags=["log"])
TEXT: Final = "text/plain; charset=utf-8"
MAX_REQUEST_BYTES: Final = 16 * 1024
_TEXT_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {}}}}


@router.get("/log/checkpoint", response_class=Response, responses=_TEXT_ANSWER)
def checkpoint(request: Request) -> Response:
    """The log's checkpoint at its committed size as a signed note (origin, size, base64 root
    hash, the node's signature and the witnesses' co-signatures gathered for it)."""
    return Response(latest_checkpoint(uow_of(request)), media_type=TEXT)


@router.get("/log/consistency", response_model=ConsistencyAnswer)
def consistency(
    request: Request,
    old: Annotated[int, Query(ge=0, description="The older checkpoint's size")],
    new: Annotated[int, Query(ge=0, description="The newer checkpoint's size")],
) -> ConsistencyAnswer:
    """The RFC 9162 consistency proof from size `old` to size `new` of this node's log."""
    return consistency_proof(uow_of(request), ConsistencyRequest(old, new))


@router.get("/log/key", response_class=Response, responses=_TEXT_ANSWER)
def key(request: Request) -> Response:
    """The log's verifier key (name+keyid+key) that checks its checkpoints' signatures."""
    return Response(log_key(uow_of(request)) + "\n", media_type=TEXT)


@router.get("/witness/key", response_class=Response, responses=_TEXT_ANSWER)
def witness_verifier_key(request: Request) -> Response:
    """This node's verifier key as a witness (cosignature/v1)."""
    return Response(witness_key(uow_of(request)) + "\n", media_type=TEXT)


@router.post(
    "/witness/add-checkpoint",
    response_class=Response,
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
    responses={
        **_TEXT_ANSWER,
        404: {"description": "This node does not witness that log"},
        409: {"description": "Not the size last co-signed: the body is that size"},
        422: {"description": "Bad signature, or not consistent with what was co-signed (a fork)"},
    },
)
async def witness_add_checkpoint(request: Request) -> Response:
    """A log asks this node to co-sign its checkpoint: "old <size>", the consistency proof
    from that size (base64 lines), a blank line, the signed note. The answer is the
    co-signature line."""
    body = await request.body()
    if len(body) > MAX_REQUEST_BYTES:
        raise InvalidRequestError(f"an add-checkpoint request is at most {MAX_REQUEST_BYTES} bytes")
    try:
        line = add_checkpoint(uow_of(request), AddCheckpoint(body))
    except CheckpointConflictError as conflict:
        # The witness protocol answers a size conflict with the size last co-signed.
        return Response(f"{conflict.known_size}\n", status_code=409, media_type=TEXT)
    return Response(line, media_type=TEXT)

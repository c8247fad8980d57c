"""Answering a retried request once: the first answer to an Idempotency-Key, replayed.

An adapter that received an Idempotency-Key puts it on the unit of work (`store.uow.AnswerOnce`);
the use case, once it knows its caller, calls `answer_once` inside its own transaction: a key
answered before gives the remembered answer back (and nothing else happens), a new key's answer
is remembered in the same transaction as the use case's writes, so both commit or neither does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic_core import to_jsonable_python

from kervan.services.access import Caller

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork

T = TypeVar("T")


def answer_once(
    uow: UnitOfWork, caller: Caller, work: Callable[[], T], replay: Callable[[Any], T]
) -> T:
    """`work()`'s answer, or (for a key answered before) `replay` of the remembered one.

    In: the open unit of work (its `once`, when the request carried a key), the caller (keys
    belong to its organisation), the use case's work and how to read a remembered answer back.
    A key reused for another request raises IdempotencyConflictError (409).
    """
    once = uow.once
    if once is None:
        return work()
    owner = [caller.org_id]
    stored = uow.idempotency.lookup(caller.org_id, once.key, once.request_digest, org_ids=owner)
    if stored is not None:
        once.replayed = stored
        return replay(stored.response)
    answer = work()
    uow.idempotency.remember(
        caller.org_id,
        once.key,
        once.request_digest,
        status_code=once.status_code,
        response=to_jsonable_python(answer),
        at=uow.clock(),
        org_ids=owner,
    )
    return answer

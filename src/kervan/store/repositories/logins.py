"""The node's memory of logins: access tokens ended early and wrong attempts, in the database so
every worker process of a node refuses and throttles the same ones."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kervan.store.tables import LoginFailureRow, RevokedTokenRow


@dataclasses.dataclass(frozen=True, slots=True)
class Failures:
    """The wrong logins of one key since the window opened: how many, and the first of them."""

    key: str
    count: int
    first_at: datetime | None


class LoginRepository:
    """Tokens revoked before their expiry and wrong logins by account and by address."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def revoke_token(self, jti: str, expires_at: datetime, now: datetime) -> None:
        """Refuse the token `jti` until `expires_at` (when it would stop working anyway); tokens
        already past their expiry are forgotten."""
        self._session.execute(delete(RevokedTokenRow).where(RevokedTokenRow.expires_at < now))
        if self._session.get(RevokedTokenRow, jti) is None:
            self._session.add(RevokedTokenRow(jti=jti, expires_at=expires_at))
        self._session.flush()

    def token_revoked(self, jti: str) -> bool:
        return self._session.get(RevokedTokenRow, jti) is not None

    def failures(self, keys: Iterable[str], since: datetime) -> list[Failures]:
        """For each key, its wrong logins at or after `since`."""
        wanted = list(keys)
        rows = self._session.execute(
            select(LoginFailureRow.key, func.count(), func.min(LoginFailureRow.failed_at))
            .where(LoginFailureRow.key.in_(wanted), LoginFailureRow.failed_at >= since)
            .group_by(LoginFailureRow.key)
        ).all()
        found = {row[0]: Failures(row[0], int(row[1]), row[2]) for row in rows}
        return [found.get(key, Failures(key, 0, None)) for key in wanted]

    def record_failure(self, keys: Iterable[str], at: datetime, forget_before: datetime) -> None:
        """A wrong login at `at` for each key; failures before `forget_before` no longer count
        and are deleted, whatever their key (the table holds one window's failures)."""
        self._session.execute(
            delete(LoginFailureRow).where(LoginFailureRow.failed_at < forget_before)
        )
        self._session.add_all(LoginFailureRow(key=key, failed_at=at) for key in keys)
        self._session.flush()

    def forget_failures(self, key: str) -> None:
        """A right login clears the account's wrong ones (an address's stay counted)."""
        self._session.execute(delete(LoginFailureRow).where(LoginFailureRow.key == key))
        self._session.flush()

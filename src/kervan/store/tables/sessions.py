"""What the node remembers about logins: tokens ended early (logout) and wrong attempts.

Both are short-lived facts: a revoked token matters only until it would have expired, a failed
login only within the throttling window; rows past either are deleted as new ones arrive.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kervan.store.tables.base import Base, UtcDateTime


class RevokedTokenRow(Base):
    """An access token ended before its expiry (its `jti`), e.g. by its person logging out."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LoginFailureRow(Base):
    """A wrong login: for one account (`key` = "account:<name>") and one source address
    (`key` = "address:<ip>"), two rows per attempt, so each is throttled on its own."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_failed_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    key: Mapped[str] = mapped_column(String(200))
    failed_at: Mapped[datetime] = mapped_column(UtcDateTime())

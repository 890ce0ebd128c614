"""Who is asking: sign-in with its rate limits, browser sessions, API tokens.

Everything lives in PostgreSQL, so it holds across restarts and across several review
processes, and so that disabling a user (``ewatch users disable``) shuts every door at
once: a session or a token is honoured only while its user is enabled, checked on every
request. Session ids and tokens are kept as sha256 digests only.

Sign-in attempts are counted in the database too: an in-memory counter would be reset by
a restart and split between processes, which is exactly what a guesser would use.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.store.models import ApiToken, LoginAttempt, ReviewSession, User
from services.store.users import Account, token_digest, unknown_user_hash, verify_password

#: Attempts older than this are dropped; far longer than any rate-limit window.
KEEP_ATTEMPTS = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Limits:
    window: timedelta
    per_account: int
    per_address: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    account: Account
    #: The session id for the cookie: shown here once, kept as a digest.
    session_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Refused:
    """Wrong name or password, or a disabled user: one answer for all, by design."""


@dataclass(frozen=True, slots=True)
class Limited:
    retry_after_s: int


SignInOutcome = SignedIn | Refused | Limited


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _failures(session: AsyncSession, column: object, value: str, since: datetime) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                column == value,  # type: ignore[arg-type]
                LoginAttempt.at > since,
                LoginAttempt.succeeded.is_(False),
            )
        )
        or 0
    )


async def sign_in(
    session: AsyncSession,
    name: str,
    password: str,
    address: str,
    limits: Limits,
    lifetime: timedelta,
) -> SignInOutcome:
    """Check ``password`` for ``name`` from ``address`` and open a session; the caller
    commits. Refused without checking once either has failed too often in the window."""
    name, address = name[:64], address[:64]
    # One attempt per account at a time, so parallel guesses cannot all slip under the limit.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('ewatch-login:' || :name))"), {"name": name}
    )
    now = datetime.now(UTC)
    since = now - limits.window
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_ATTEMPTS))
    await session.execute(delete(ReviewSession).where(ReviewSession.expires_at < now))
    if (
        await _failures(session, LoginAttempt.account, name, since) >= limits.per_account
        or await _failures(session, LoginAttempt.address, address, since) >= limits.per_address
    ):
        session.add(LoginAttempt(account=name, address=address, succeeded=False))
        return Limited(int(limits.window.total_seconds()))
    user = await session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None else unknown_user_hash()
    matches = await asyncio.to_thread(verify_password, stored, password)
    ok = matches and user is not None and user.disabled_at is None
    session.add(LoginAttempt(account=name, address=address, succeeded=ok))
    if not ok or user is None:
        return Refused()
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + lifetime
    session.add(
        ReviewSession(
            id_sha256=_digest(session_id), user_id=user.id, expires_at=expires_at, csrf_token=csrf
        )
    )
    return SignedIn(Account.of(user), session_id, csrf, expires_at)


async def session_account(session: AsyncSession, session_id: str) -> tuple[Account, str] | None:
    """The enabled user of a live session and its CSRF token; None otherwise."""
    row = (
        await session.execute(
            select(User, ReviewSession.csrf_token)
            .join(ReviewSession, ReviewSession.user_id == User.id)
            .where(
                ReviewSession.id_sha256 == _digest(session_id),
                ReviewSession.expires_at > func.now(),
                User.disabled_at.is_(None),
            )
        )
    ).first()
    return (Account.of(row[0]), row[1]) if row else None


async def end_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(
        delete(ReviewSession).where(ReviewSession.id_sha256 == _digest(session_id))
    )
    await session.execute(delete(ReviewSession).where(ReviewSession.expires_at < func.now()))


async def token_account(session: AsyncSession, token: str) -> Account | None:
    """The enabled user of a live API token (noting that it was used); None otherwise."""
    row = (
        await session.execute(
            select(User, ApiToken.id)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_sha256 == token_digest(token),
                ApiToken.revoked_at.is_(None),
                User.disabled_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    # At most once a minute: a script's every request need not write a row.
    await session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == row[1],
            func.coalesce(ApiToken.last_used_at, datetime.min.replace(tzinfo=UTC))
            < func.now() - timedelta(minutes=1),
        )
        .values(last_used_at=func.now())
    )
    return Account.of(row[0])

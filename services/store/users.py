"""The workspace's users and their API tokens: managed by ``ewatch users``, each act audited.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended setting); tokens as their sha256, the token itself shown once. Disabling a
user ends their sessions in the same transaction, and every request checks that its
user is still enabled, so neither a session nor a token outlives it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services.core.review import Role, sees_all_regimes
from services.store import audit
from services.store.audit import Action, Actor
from services.store.models import ApiToken, ReviewSession, User

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD_CHARS = 12
#: What starts a personal API token: tells a leaked one apart in logs and secret scanners.
TOKEN_PREFIX = "ewt_"  # noqa: S105 (a prefix, not a secret)

_hasher = PasswordHasher()


class UserError(ValueError):
    """A user-management request that cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    role: Role
    regimes: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None

    @property
    def sees_all(self) -> bool:
        return sees_all_regimes(self.role)

    @classmethod
    def of(cls, row: User) -> Account:
        return cls(
            row.id,
            row.name,
            row.role,
            tuple(row.regimes),
            row.created_at,
            row.disabled_at,
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one hashed; CPU-bound for tens of milliseconds."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def unknown_user_hash() -> str:
    """A hash to verify against when the account does not exist, so that answering takes
    as long as for a wrong password and tells no one which names exist."""
    return hash_password(secrets.token_urlsafe(16))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"a password has at least {MIN_PASSWORD_CHARS} characters")


def _check_regimes(role: Role, regimes: Sequence[str], known: Iterable[str]) -> list[str]:
    wanted = sorted({r.strip().upper() for r in regimes})
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise UserError(f"no such regime: {', '.join(unknown)} (see `ewatch rules list`)")
    if not wanted and not sees_all_regimes(role):
        raise UserError(f"a {role.value} needs at least one --regime")
    return wanted


def add_user(
    session: Session,
    name: str,
    role: Role,
    regimes: Sequence[str],
    password: str,
    actor: Actor,
    *,
    known_regimes: Iterable[str],
) -> Account:
    if not NAME.fullmatch(name):
        raise UserError(
            "a user name is 2 to 64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    check_password(password)
    kept = _check_regimes(role, regimes, known_regimes)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserError(f"a user {name!r} exists already")
    user = User(name=name, password_hash=hash_password(password), role=role, regimes=kept)
    session.add(user)
    session.flush()
    session.execute(
        audit.entry(
            actor,
            Action.USER_ADD,
            subject_user_id=user.id,
            after={"name": name, "role": role.value, "regimes": kept},
        )
    )
    session.refresh(user)
    return Account.of(user)


def list_users(session: Session) -> list[tuple[Account, int]]:
    """Every user with the number of their live API tokens, by name."""
    live = (
        select(func.count())
        .where(ApiToken.user_id == User.id, ApiToken.revoked_at.is_(None))
        .scalar_subquery()
    )
    rows = session.execute(select(User, live).order_by(User.name)).all()
    return [(Account.of(u), n) for u, n in rows]


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name).with_for_update())
    if user is None:
        raise UserError(f"no user {name!r}")
    return user


def disable_user(session: Session, name: str, actor: Actor) -> Account:
    """Disable ``name`` and end their sessions; their tokens stop working with them."""
    user = _user(session, name)
    if user.disabled_at is not None:
        raise UserError(f"{name!r} is disabled already")
    user.disabled_at = func.now()
    session.execute(delete(ReviewSession).where(ReviewSession.user_id == user.id))
    session.flush()
    session.execute(
        audit.entry(
            actor,
            Action.USER_DISABLE,
            subject_user_id=user.id,
            before={"disabled": False},
            after={"disabled": True},
        )
    )
    session.refresh(user)
    return Account.of(user)


def reset_password(session: Session, name: str, password: str, actor: Actor) -> None:
    """Set a new password and end the user's sessions (whoever knew the old one is out)."""
    check_password(password)
    user = _user(session, name)
    user.password_hash = hash_password(password)
    session.execute(delete(ReviewSession).where(ReviewSession.user_id == user.id))
    session.execute(audit.entry(actor, Action.USER_PASSWORD, subject_user_id=user.id))


def issue_token(session: Session, name: str, label: str, actor: Actor) -> tuple[int, str]:
    """A new API token for ``name``: its id and the token, which is not kept anywhere."""
    user = _user(session, name)
    if user.disabled_at is not None:
        raise UserError(f"{name!r} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_sha256=token_digest(token), label=label)
    session.add(row)
    session.flush()
    session.execute(
        audit.entry(
            actor,
            Action.TOKEN_ISSUE,
            subject_user_id=user.id,
            after={"token_id": row.id, "label": label},
        )
    )
    return row.id, token


def revoke_token(session: Session, token_id: int, actor: Actor) -> str:
    """Revoke a token; returns the name of its user."""
    row = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiToken.user_id, ApiToken.label)
    ).first()
    if row is None:
        raise UserError(f"no live token {token_id}")
    session.execute(
        audit.entry(
            actor,
            Action.TOKEN_REVOKE,
            subject_user_id=row.user_id,
            before={"token_id": token_id, "label": row.label, "revoked": False},
            after={"token_id": token_id, "label": row.label, "revoked": True},
        )
    )
    return session.scalar(select(User.name).where(User.id == row.user_id)) or ""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def tokens(session: Session, name: str) -> list[TokenInfo]:
    user = _user(session, name)
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    )
    return [TokenInfo(t.id, t.label, t.created_at, t.last_used_at, t.revoked_at) for t in rows]

"""Numbered, immutable versions of the rules table in PostgreSQL.

A version is never changed after it is stored; ``activate`` only moves the
single ``active`` flag (a partial unique index guarantees there is one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.core import rules
from services.store import audit
from services.store.audit import Action, Actor
from services.store.models import RulesetVersion


class RulesetNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Loaded:
    version: int
    created: bool
    active: bool


def load(session: Session, directory: Path, *, activate: bool | None = None) -> Loaded:
    """Validate the YAML files in ``directory`` and store them as a new version.

    Identical content to an existing version is not stored twice; the existing
    version is returned. ``activate=None`` activates only if nothing is active.
    Raises :class:`services.core.rules.RulesError` when a file is invalid.
    """
    documents = rules.read_documents(directory)
    rules.validate_documents(documents)
    digest = rules.digest_documents(documents)
    existing = session.scalar(select(RulesetVersion).where(RulesetVersion.digest == digest))
    created = existing is None
    if existing is None:
        number = (session.scalar(select(func.max(RulesetVersion.version))) or 0) + 1
        existing = RulesetVersion(
            version=number, digest=digest, documents=documents, source=str(directory.resolve())
        )
        session.add(existing)
        session.flush()
    if activate or (activate is None and active_version(session) is None):
        activate_version(session, existing.version)
    return Loaded(existing.version, created, existing.active)


def active_version(session: Session) -> int | None:
    return session.scalar(select(RulesetVersion.version).where(RulesetVersion.active))


def activate_version(session: Session, version: int, actor: Actor | None = None) -> None:
    """Make ``version`` the active one; an ``actor``'s act is written to the audit log
    (loading the first version, which activates it, is the system's)."""
    if session.get(RulesetVersion, version) is None:
        raise RulesetNotFound(f"there is no ruleset version {version}")
    before = active_version(session)
    if actor is not None:
        session.execute(
            audit.entry(
                actor,
                Action.RULESET_ACTIVATE,
                before={"active_version": before},
                after={"active_version": version},
            )
        )
    session.execute(update(RulesetVersion).where(RulesetVersion.active).values(active=False))
    session.flush()
    session.execute(
        update(RulesetVersion)
        .where(RulesetVersion.version == version)
        .values(active=True, activated_at=func.now())
    )


def regime_ids(session: Session) -> frozenset[str]:
    """The regime ids of the active ruleset; of the shipped rules before any is loaded."""
    try:
        return frozenset(ruleset(session).regimes)
    except RulesetNotFound:
        return frozenset(rules.load_directory().regimes)


def versions(session: Session) -> list[RulesetVersion]:
    return list(session.scalars(select(RulesetVersion).order_by(RulesetVersion.version)))


def documents_of(session: Session, version: int) -> dict[str, Any]:
    row = session.get(RulesetVersion, version)
    if row is None:
        raise RulesetNotFound(f"there is no ruleset version {version}")
    return row.documents


def ruleset(session: Session, version: int | None = None) -> rules.Ruleset:
    """The typed ruleset of ``version`` (default: the active one)."""
    number = version if version is not None else active_version(session)
    if number is None:
        raise RulesetNotFound("no ruleset is loaded; run `ewatch rules load`")
    return rules.ruleset_from_documents(documents_of(session, number), version=number)

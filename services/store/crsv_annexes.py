"""Importing annexes of the report on conflict-related sexual violence into PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.sexual_violence_annex import Annex, parse_annex
from services.store.models import CrsvAnnexVersion


@dataclass(frozen=True, slots=True)
class Imported:
    annex: Annex
    created: bool  # False: these exact bytes were imported before
    #: The annex screened with after the import (a newer report's stays so).
    active: str
    previous: str | None  # the annex screened with before the import


_IN_FORCE = (CrsvAnnexVersion.report_date.desc(), CrsvAnnexVersion.id.desc())


def active(session: Session) -> CrsvAnnexVersion | None:
    """The annex screened with: the latest report date, then the latest import."""
    return session.scalar(select(CrsvAnnexVersion).order_by(*_IN_FORCE).limit(1))


def active_version(session: Session) -> str | None:
    """The name of :func:`active`, without loading the annex."""
    return session.scalar(select(CrsvAnnexVersion.version).order_by(*_IN_FORCE).limit(1))


def import_annex(session: Session, data: bytes, source: str) -> Imported:
    """Parse ``data`` and store it as a new annex version; the caller commits.

    Raises :class:`services.core.sexual_violence_annex.AnnexError` before touching the
    database when ``data`` is not a valid annex. Idempotent: the same bytes twice are
    stored once.
    """
    annex = parse_annex(data)
    before = active(session)
    previous = before.version if before else None
    existing = session.scalar(
        select(CrsvAnnexVersion).where(CrsvAnnexVersion.sha256 == annex.sha256)
    )
    if existing is None:
        session.add(
            CrsvAnnexVersion(
                version=annex.version,
                symbol=annex.symbol,
                report_date=annex.date,
                complete=annex.complete,
                parties=len(annex.parties),
                sha256=annex.sha256,
                source=source,
                content=data,
            )
        )
        session.flush()
    now = active(session)
    assert now is not None
    return Imported(annex, existing is None, now.version, previous)


def load_active(session: Session) -> Annex | None:
    row = active(session)
    return parse_annex(row.content) if row else None

"""Importing UN Consolidated List versions into PostgreSQL, all or nothing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.core.rules import Ruleset
from services.core.sanctions_list import ListedParty, SanctionsList
from services.core.un_xml import ImportReport, ListDiff, diff_lists, lost_fields, parse_list
from services.store.models import ListedPartyRow, SanctionsListVersion


@dataclass(frozen=True, slots=True)
class Imported:
    version: str
    created: bool  # False: these exact bytes were imported before
    report: ImportReport
    diff: ListDiff | None
    previous: str | None


def _plain(value: Any) -> Any:
    """Dataclasses (with dates and enums) as JSON-ready values."""
    return orjson.loads(orjson.dumps(value))


def _row(version_id: int, party: ListedParty, ruleset: Ruleset | None) -> dict[str, Any]:
    regime = ruleset.by_list_type.get(party.list_type) if ruleset else None
    fields = {f.name: getattr(party, f.name) for f in dataclasses.fields(party)}
    return {
        **{k: _plain(v) if isinstance(v, tuple) else v for k, v in fields.items()},
        "kind": party.kind.value,
        "list_version_id": version_id,
        "regime": regime.id if regime else None,
        "fingerprint": party.fingerprint,
    }


def _report_dict(report: ImportReport) -> dict[str, Any]:
    doc: dict[str, Any] = _plain(dataclasses.asdict(report))
    doc["summary"] = report.summary()
    doc["repairs_by_field"] = dict(report.repairs_by_field())
    return doc


_NEWEST = SanctionsListVersion.id.desc()


def current(session: Session) -> SanctionsListVersion | None:
    """The most recently imported list version."""
    return session.scalar(select(SanctionsListVersion).order_by(_NEWEST).limit(1))


def current_version(session: Session) -> str | None:
    """The name of :func:`current`, without loading the list."""
    return session.scalar(select(SanctionsListVersion.version).order_by(_NEWEST).limit(1))


def import_list(
    session: Session, data: bytes, source: str, ruleset: Ruleset | None = None
) -> Imported:
    """Parse ``data`` and store it as a new list version; the caller commits.

    Raises :class:`services.core.un_xml.NotAUnListError` before touching the
    database when ``data`` is not a (complete) UN list.
    """
    parsed, report = parse_list(data)
    existing = session.scalar(
        select(SanctionsListVersion).where(SanctionsListVersion.sha256 == parsed.sha256)
    )
    if existing is not None:
        return Imported(existing.version, False, report, None, None)
    previous_row = current(session)
    previous = parse_list(previous_row.content)[0] if previous_row else None
    unread = lost_fields(report)
    diff = diff_lists(previous, parsed, unread)
    row = SanctionsListVersion(
        version=parsed.version,
        date_generated=parsed.date_generated,
        sha256=parsed.sha256,
        source=source,
        individuals=report.individuals,
        entities=report.entities,
        report=_report_dict(report),
        changes=_plain(dataclasses.asdict(diff))
        | {
            "summary": diff.summary(),
            "previous": previous_row.version if previous_row else None,
            "not_compared": sorted(unread),
        },
        content=data,
    )
    session.add(row)
    session.flush()
    session.execute(insert(ListedPartyRow), [_row(row.id, p, ruleset) for p in parsed.parties])
    return Imported(
        parsed.version, True, report, diff, previous_row.version if previous_row else None
    )


def load_current(session: Session) -> SanctionsList | None:
    row = current(session)
    return parse_list(row.content)[0] if row else None


class ListVersionNotFound(LookupError):
    pass


def find_version(session: Session, version: str) -> SanctionsListVersion:
    """The imported list version named ``version``, or the only one it begins (a date,
    ``2025-08-16``, names the import of that day's file when there is one).

    Raises :class:`ListVersionNotFound` when none or several match.
    """
    exact = session.scalar(
        select(SanctionsListVersion).where(SanctionsListVersion.version == version)
    )
    if exact is not None:
        return exact
    rows = list(
        session.scalars(
            select(SanctionsListVersion)
            .where(SanctionsListVersion.version.startswith(version, autoescape=True))
            .order_by(SanctionsListVersion.id)
        )
    )
    if len(rows) == 1:
        return rows[0]
    if rows:
        names = ", ".join(r.version for r in rows)
        raise ListVersionNotFound(f"list version {version!r} is ambiguous: {names}")
    raise ListVersionNotFound(
        f"there is no list version {version!r} (ewatch sanctions versions lists them)"
    )


def load_version(session: Session, version: str) -> SanctionsList:
    """The list of an imported version (see :func:`find_version`), as the matcher reads it."""
    return parse_list(find_version(session, version).content)[0]

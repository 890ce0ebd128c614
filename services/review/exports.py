"""Exports of the queue's current filter, in CSV and JSON: what a panel pastes into an
annex of its report to the Committee — each finding's summary, citations, list reference,
decision and rationale, with where it came from.

Streamed a keyset page at a time, every page of the filter (not only the one on screen),
at most :data:`MAX_ROWS`. A CSV cell that a spreadsheet would read as a formula (a party
name beginning with ``=``) is written with a leading apostrophe, as OWASP advises.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import StreamingResponse

from services.core.review import MAX_LIMIT, FilterError, QueueFilter, Status
from services.review.auth import Principal
from services.store import db
from services.store import review as queue_store
from services.store.review import Decision, QueueRow, Scope

MAX_ROWS = 50_000
COLUMNS = (
    "finding_id",
    "url",
    "status",
    "decision_rationale",
    "decided_by",
    "decided_at",
    "kind",
    "severity",
    "regime",
    "rule_id",
    "phase",
    "summary",
    "citations",
    "list_reference",
    "listed_name",
    "match_score",
    "party_role",
    "party_name",
    "integrator",
    "record_id",
    "transfer_date",
    "origin",
    "destination",
    "assignee",
    "ruleset_version",
    "list_version",
    "superseded_at",
    "superseded_reason",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def export_row(row: QueueRow, decision: Decision | None, base_url: str) -> dict[str, Any]:
    designated = row.designated or {}
    party = row.party or {}
    decided = decision is not None and Status(row.status).decided
    return {
        "finding_id": row.id,
        "url": f"{base_url}findings/{row.id}",
        "status": row.status.label,
        "decision_rationale": decision.rationale if decided and decision else None,
        "decided_by": decision.by if decided and decision else None,
        "decided_at": decision.at.isoformat() if decided and decision else None,
        "kind": row.kind,
        "severity": row.severity,
        "regime": row.regime,
        "rule_id": row.rule_id,
        "phase": row.phase,
        "summary": row.summary,
        "citations": row.citations,
        "list_reference": designated.get("reference_number"),
        "listed_name": designated.get("name"),
        "match_score": designated.get("score"),
        "party_role": party.get("role"),
        "party_name": party.get("name"),
        "integrator": row.integrator,
        "record_id": row.record_id,
        "transfer_date": row.transfer_date.isoformat(),
        "origin": row.origin,
        "destination": row.destination,
        "assignee": row.assignee,
        "ruleset_version": row.ruleset_version,
        "list_version": row.list_version,
        "superseded_at": row.superseded_at.isoformat() if row.superseded_at else None,
        "superseded_reason": row.superseded_reason,
    }


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


async def _rows(request: Request, who: Principal, f: QueueFilter) -> AsyncIterator[dict[str, Any]]:
    base = str(request.base_url)
    page_filter = replace(f, limit=MAX_LIMIT, after=None)
    async with db.sessions(request.app.state.deps.engine)() as session:
        scope = Scope.of(who.account)
        while True:
            page = await queue_store.queue(session, scope, page_filter)
            decisions = await queue_store.last_decisions(session, [r.id for r in page.rows])
            for row in page.rows:
                yield export_row(row, decisions.get(row.id), base)
            if page.next_cursor is None:
                return
            page_filter = replace(page_filter, after=page.next_cursor)


async def _check_size(request: Request, who: Principal, f: QueueFilter) -> None:
    async with db.sessions(request.app.state.deps.engine)() as session:
        counts = await queue_store.status_counts(session, Scope.of(who.account), f, exact=True)
    n = counts.total(f.statuses) or 0
    if n > MAX_ROWS:
        raise FilterError(f"{n} findings match; an export holds at most {MAX_ROWS}: narrow it")


def _filename(f: QueueFilter, suffix: str) -> str:
    regimes = "-".join(f.regimes) or "all"
    return f"embargo-watch-findings-{regimes}-{datetime.now(UTC):%Y-%m-%d}.{suffix}"


async def response(request: Request, who: Principal, f: QueueFilter, fmt: str) -> StreamingResponse:
    """The export of ``f`` in ``fmt`` (csv or json) as a download."""
    if fmt not in ("csv", "json"):
        raise FilterError("format: csv or json")
    await _check_size(request, who, f)
    headers = {"Content-Disposition": f'attachment; filename="{_filename(f, fmt)}"'}
    if fmt == "csv":
        return StreamingResponse(_csv(request, who, f), media_type="text/csv", headers=headers)
    return StreamingResponse(_json(request, who, f), media_type="application/json", headers=headers)


async def _csv(request: Request, who: Principal, f: QueueFilter) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that spreadsheets read the file as UTF-8
    writer.writerow(COLUMNS)
    async for row in _rows(request, who, f):
        writer.writerow([csv_cell(row[c]) for c in COLUMNS])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def _json(request: Request, who: Principal, f: QueueFilter) -> AsyncIterator[bytes]:
    query = "&".join(f"{k}={v}" for k, v in f.query())
    head = {
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": who.account.name,
        "filter": query,
    }
    yield orjson.dumps(head)[:-1] + b', "findings": ['
    first = True
    async for row in _rows(request, who, f):
        yield (b"" if first else b",") + orjson.dumps(row)
        first = False
    yield b"]}"

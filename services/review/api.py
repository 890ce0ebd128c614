"""The JSON API: what the pages do, for scripts. ``/api/v1/openapi.json`` describes it.

Authenticate with ``Authorization: Bearer <token>`` (``ewatch users token NAME``), or with
the browser's session cookie plus the ``X-CSRF-Token`` header on every POST.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from services.core.review import parse_filter
from services.review.auth import Who
from services.review.pages import load_dossier, with_me
from services.review.views import params
from services.store import db
from services.store import review as queue_store
from services.store.review import Scope

DESCRIPTION = (
    "Findings of Embargo Watch to review, scoped to the caller's regimes: a finding of "
    "another regime answers 404, as one that does not exist. Authenticate with "
    "`Authorization: Bearer <token>` (`ewatch users token NAME`), or with the browser's "
    "session cookie plus an `X-CSRF-Token` header on every POST. Query parameters of "
    "`GET /api/v1/findings` are the queue page's: `regime`, `kind`, `severity`, `status` "
    "(each repeatable), `assignee` (a user name, `me` or `none`), `from`, `to` (transfer "
    "dates, YYYY-MM-DD), `category` (an item category or its parent, e.g. `small_arms`), "
    "`party` (a substring of any party's name, case and accents ignored), `superseded` "
    "(hide | include | only), `sort` (-created | created | -transfer_date | transfer_date "
    "| severity), `limit` (1-500) and `after` (the `next` cursor of the previous page). "
    "An unknown parameter or value is a 400."
)

router = APIRouter(
    prefix="/api/v1",
    tags=["findings"],
    responses={
        401: {"description": "Not signed in: no session cookie or bearer token, or a bad one"},
        403: {"description": "A cookie-authenticated POST without its X-CSRF-Token header"},
    },
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such finding in the caller's regimes"}
}


@router.get("/me", summary="Who the caller is")
async def me(who: Who) -> dict[str, Any]:
    a = who.account
    return {
        "name": a.name,
        "role": a.role.value,
        "regimes": "all" if a.sees_all else list(a.regimes),
        "via": who.via,
    }


@router.get("/findings", summary="The queue: filtered, sorted, one page, with counts by status")
async def findings(request: Request, who: Who) -> dict[str, Any]:
    f = with_me(parse_filter(params(request)), who)
    scope = Scope.of(who.account)
    async with db.sessions(request.app.state.deps.engine)() as session:
        page = await queue_store.queue(session, scope, f)
        counts = await queue_store.status_counts(session, scope, f)
    return {
        "findings": [r.to_dict() for r in page.rows],
        "next": page.next_cursor,
        "counts": {s.value: n for s, n in counts.items()},
        "total": sum(counts.values()),
    }


@router.get(
    "/findings/{finding_id}",
    summary="One finding: its transfer, every finding on it, list entries, history, related",
    responses={404: {"description": "No such finding in the caller's regimes"}},
)
async def finding(request: Request, who: Who, finding_id: int) -> dict[str, Any]:
    d = await load_dossier(request, who, finding_id)
    return {
        "finding": d.finding.to_dict(),
        "transfer": d.transfer.to_dict(),
        "findings": [f.to_dict() for f in d.findings],
        "listed": {ref: e.to_dict() for ref, e in d.listed.items()},
        "exemptions": d.exemptions,
        "history": [e.to_dict() for e in d.history],
        "comments": [c.to_dict() for c in d.comments],
        "related": [r.to_dict() for r in d.related],
    }

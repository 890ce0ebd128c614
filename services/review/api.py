"""The JSON API: what the pages do, for scripts. ``/api/v1/openapi.json`` describes it.

Authenticate with ``Authorization: Bearer <token>`` (``ewatch users token NAME``), or with
the browser's session cookie plus the ``X-CSRF-Token`` header on every POST.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.core.review import ReviewRefused, Status, parse_filter
from services.review import acts, exports
from services.review.auth import Acting, Who
from services.review.pages import AUDIT_PAGE, audit_entries, load_dossier, overview_of, with_me
from services.review.views import params
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
    "An unknown parameter or value is a 400. `counts` (by status) and `total` are exact, "
    "except for a broad filter on the transfer (dates, category, party): past 10,000 "
    "findings or 80 ms of counting both are null and `not_counted` says why."
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
REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "The finding is not in `expected_status` any more"},
    422: {"description": "The act is not allowed: the body says why"},
}
Rationale = Field(default="", max_length=10_000)


@router.get("/openapi.json", summary="This API's OpenAPI description", include_in_schema=False)
async def openapi(request: Request, who: Who) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema


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
    page, counts = await queue_store.queue_with_counts(request.app.state.deps.engine, scope, f)
    return {"findings": [r.to_dict() for r in page.rows], "next": page.next_cursor} | (
        counts.to_dict()
    )


@router.get(
    "/findings/export",
    summary="The queue's filter, every page of it, as CSV or JSON (format=csv|json)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export(request: Request, who: Who, format: str = "json") -> StreamingResponse:
    f = with_me(parse_filter(params(request), ignore={"format"}), who)
    return await exports.response(request, who, f, format)


@router.get(
    "/overview",
    summary="A regime's numbers: findings per month by kind, goods, routes, end users, backlog",
    responses=NOT_FOUND,
)
async def overview(request: Request, who: Who, regime: str | None = None) -> dict[str, Any]:
    kept, _ = await overview_of(request, who)
    return kept.numbers.to_dict() | {"as_of": kept.as_of.isoformat()}


@router.get(
    "/audit",
    summary="The audit log (leads, auditors, admins), newest first; filters as /audit",
    responses={403: {"description": "The caller's role does not read the audit log"}},
)
async def audit(
    request: Request,
    who: Who,
    action: str | None = None,
    actor: str | None = None,
    finding: int | None = None,
    before: int | None = None,
) -> dict[str, Any]:
    found, _ = await audit_entries(request, who)
    return {
        "entries": [e.to_dict() for e in found],
        "next_before": found[-1].id if len(found) == AUDIT_PAGE else None,
    }


@router.get(
    "/findings/{finding_id:int}",
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


class StatusChange(BaseModel):
    status: Status
    #: Required for confirmed, dismissed and referred.
    rationale: str = Rationale
    #: The status the caller saw: the change is refused (409) if it moved since.
    expected_status: Status | None = None


class Reopening(BaseModel):
    rationale: str = Field(min_length=1, max_length=10_000)


class Assignment(BaseModel):
    #: A user name, or null for nobody.
    assignee: str | None = Field(default=None, max_length=64)


class NewComment(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


class BulkChange(BaseModel):
    status: Status
    rationale: str = Rationale
    #: The findings to move; or leave it out and give ``filter``.
    ids: list[int] | None = Field(default=None, max_length=1000)
    #: A queue query string (``kind=violation&status=open``): every finding it matches.
    filter: str | None = Field(default=None, max_length=4000)


async def _finding(request: Request, who: Who, finding_id: int) -> dict[str, Any]:
    d = await load_dossier(request, who, finding_id)
    return {"finding": d.finding.to_dict(), "history": [e.to_dict() for e in d.history]}


@router.post(
    "/findings/{finding_id:int}/status",
    summary="Move a finding: under review, confirmed, dismissed, referred (or back to open)",
    responses=REFUSED,
)
async def change_status(
    request: Request, who: Acting, finding_id: int, body: StatusChange
) -> dict[str, Any]:
    await acts.change_status(
        request, who, finding_id, body.status, body.rationale, body.expected_status
    )
    return await _finding(request, who, finding_id)


@router.post(
    "/findings/{finding_id:int}/reopen",
    summary="Reopen a decided finding (a lead's act, with a reason)",
    responses=REFUSED,
)
async def reopen(request: Request, who: Acting, finding_id: int, body: Reopening) -> dict[str, Any]:
    await acts.reopen(request, who, finding_id, body.rationale)
    return await _finding(request, who, finding_id)


@router.post(
    "/findings/{finding_id:int}/assign",
    summary="Assign a finding to a reviewer of its regime (leads), or take / release it",
    responses=REFUSED,
)
async def assign(
    request: Request, who: Acting, finding_id: int, body: Assignment
) -> dict[str, Any]:
    await acts.assign(request, who, finding_id, body.assignee)
    return await _finding(request, who, finding_id)


@router.post(
    "/findings/{finding_id:int}/comments", summary="Comment on a finding", responses=REFUSED
)
async def comment(
    request: Request, who: Acting, finding_id: int, body: NewComment
) -> dict[str, Any]:
    comment_id = await acts.comment(request, who, finding_id, body.body)
    return {"comment_id": comment_id}


@router.post(
    "/findings/bulk",
    summary="Move many findings with one rationale; each is audited on its own",
    responses=REFUSED,
)
async def bulk(request: Request, who: Acting, body: BulkChange) -> dict[str, Any]:
    if (body.ids is None) == (body.filter is None):
        raise ReviewRefused("give either ids or filter")
    f = parse_filter(parse_qs((body.filter or "").removeprefix("?")))
    outcome = await acts.bulk(request, who, body.status, body.rationale, ids=body.ids, f=f)
    return {"changed": list(outcome.changed), "skipped": outcome.skipped}

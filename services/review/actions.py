"""The forms that change a finding: status, assignment, comments, reopening, bulk triage.

Each answers with a redirect back to the finding (post/redirect/get), so a reload never
posts twice; a refusal is a page that says why. The JSON API (services/review/api.py)
does the same through the same functions (:mod:`services.review.acts`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from services.core.review import FilterError, Status, parse_filter
from services.review import acts
from services.review.auth import Acting
from services.review.views import render

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=20_000)]


def _back(finding_id: int) -> Response:
    return RedirectResponse(f"/findings/{finding_id}#review", status_code=303)


def _status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise FilterError(f"status: {value[:40]!r} is not a status") from None


@router.post("/findings/{finding_id:int}/status")
async def change_status(
    request: Request,
    who: Acting,
    finding_id: int,
    status: Annotated[str, Form(max_length=40)],
    rationale: Text = "",
    expected: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    await acts.change_status(
        request,
        who,
        finding_id,
        _status(status),
        rationale,
        _status(expected) if expected else None,
    )
    return _back(finding_id)


@router.post("/findings/{finding_id:int}/reopen")
async def reopen(request: Request, who: Acting, finding_id: int, rationale: Text = "") -> Response:
    await acts.reopen(request, who, finding_id, rationale)
    return _back(finding_id)


@router.post("/findings/{finding_id:int}/assign")
async def assign(
    request: Request,
    who: Acting,
    finding_id: int,
    assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    await acts.assign(request, who, finding_id, assignee or None)
    return _back(finding_id)


@router.post("/findings/{finding_id:int}/comments")
async def comment(request: Request, who: Acting, finding_id: int, body: Text = "") -> Response:
    await acts.comment(request, who, finding_id, body)
    return _back(finding_id)


@router.post("/findings/bulk")
async def bulk(
    request: Request,
    who: Acting,
    status: Annotated[str, Form(max_length=40)],
    rationale: Text = "",
    id: Annotated[list[int] | None, Form()] = None,
    all: Annotated[str, Form(max_length=5)] = "",
    filter: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    f = parse_filter(parse_qs(filter.removeprefix("?"), keep_blank_values=False))
    outcome = await acts.bulk(
        request, who, _status(status), rationale, ids=None if all else (id or []), f=f
    )
    return render(
        request,
        "bulk.html",
        {"who": who, "outcome": outcome, "status": _status(status), "back": filter or "?"},
    )

"""The workspace's pages (GET): the queue, a finding, the overview, the audit log, the API.

Forms that change something post to services/review/actions.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.findings import Kind, Severity
from services.core.items import vocabulary
from services.core.review import (
    Act,
    FilterError,
    QueueFilter,
    Sort,
    Status,
    Superseded,
    may,
    parse_filter,
)
from services.review import exports
from services.review.auth import Principal, Who, secure
from services.review.charts import monthly_bars
from services.review.errors import Forbidden, NotFound
from services.review.overviews import Kept
from services.review.views import params, render
from services.store import db
from services.store import review as queue_store
from services.store.audit import Action, AuditFilter, Entry, entries, in_scope
from services.store.dossier import Dossier, dossier
from services.store.review import Scope

router = APIRouter(include_in_schema=False)


def engine(request: Request) -> Any:
    return request.app.state.deps.engine


def category_options() -> list[tuple[str, str]]:
    """Every item category and every parent of one, with a label, in a stable order."""
    labels = vocabulary().labels
    options: dict[str, str] = {}
    for category in sorted(labels):
        parent = category.split(".")[0]
        if parent != category:
            options.setdefault(parent, parent.replace("_", " ") + " (all)")
        options[category] = labels[category]
    return sorted(options.items())


async def regimes_of(session: AsyncSession, who: Principal) -> list[str]:
    if who.account.sees_all:
        return await queue_store.regime_ids(session)
    return list(who.account.regimes)


async def filter_options(session: AsyncSession, who: Principal) -> dict[str, Any]:
    regimes = await regimes_of(session, who)
    return {
        "regimes": regimes,
        "kinds": list(Kind),
        "severities": list(Severity),
        "assignees": await queue_store.assignable(session, regimes),
        "categories": category_options(),
        "sorts": [
            (Sort.NEWEST, "newest first"),
            (Sort.OLDEST, "oldest first"),
            (Sort.TRANSFER_DATE_DESC, "transfer date, latest first"),
            (Sort.TRANSFER_DATE, "transfer date, earliest first"),
            (Sort.SEVERITY, "severity, then oldest"),
        ],
        "superseded": list(Superseded),
    }


def with_me(f: QueueFilter, who: Principal) -> QueueFilter:
    """``assignee=me`` is the signed-in user."""
    return replace(f, assignee=who.account.name) if f.assignee == "me" else f


@router.get("/")
async def home(who: Who) -> Response:
    return RedirectResponse("/findings", status_code=303)


@router.get("/findings")
async def queue_page(request: Request, who: Who) -> Response:
    f = parse_filter(params(request))
    scope = Scope.of(who.account)
    resolved = with_me(f, who)

    async def options_of() -> dict[str, Any]:
        async with db.sessions(engine(request))() as session:
            return await filter_options(session, who)

    (page, counts), options = await asyncio.gather(
        queue_store.queue_with_counts(engine(request), scope, resolved), options_of()
    )
    response = render(
        request,
        "queue.html",
        {
            "who": who,
            "f": f,
            "page": page,
            "counts": counts.by_status,
            "total": counts.total(),
            "matching": counts.total(f.statuses),
            "not_counted": counts.not_counted,
            "options": options,
            "may_review": may(who.account.role, Act.REVIEW),
        },
    )
    # A finding's "« queue" link goes back to this view, filter and all.
    response.set_cookie(
        QUEUE_COOKIE,
        request.url.query,
        httponly=True,
        samesite="lax",
        secure=secure(request, request.app.state.deps.settings),
        path="/findings",
    )
    return response


#: The queue view a finding's page links back to (its query string).
QUEUE_COOKIE = "ewatch_queue"


def queue_link(request: Request) -> str:
    query = request.cookies.get(QUEUE_COOKIE, "")
    return f"/findings?{query}" if query else "/findings"


#: The largest id PostgreSQL's bigint holds: a larger one is no finding, not an error.
MAX_ID = 2**63 - 1


async def load_dossier(request: Request, who: Principal, finding_id: int) -> Dossier:
    if not 0 < finding_id <= MAX_ID:
        raise NotFound("no such finding")
    async with db.sessions(engine(request))() as session:
        found = await dossier(session, Scope.of(who.account), finding_id)
    if found is None:
        raise NotFound("no such finding")
    return found


@router.get("/findings/export")
async def export(request: Request, who: Who) -> Response:
    """The queue's filter as a CSV or JSON download (``format=csv|json``)."""
    fmt = request.query_params.get("format", "csv")
    f = with_me(parse_filter(params(request), ignore={"format"}), who)
    return await exports.response(request, who, f, fmt)


async def overview_of(request: Request, who: Principal) -> tuple[Kept, list[str]]:
    """The overview of the ``regime`` asked for, one of the user's (their first by default)."""
    async with db.sessions(engine(request))() as session:
        regimes = await regimes_of(session, who)
    wanted = (request.query_params.get("regime") or (regimes[0] if regimes else "")).upper()
    if wanted not in regimes:
        raise NotFound("not one of your regimes")
    return await request.app.state.deps.overviews.get(wanted), regimes


@router.get("/overview")
async def overview_page(request: Request, who: Who) -> Response:
    kept, regimes = await overview_of(request, who)
    numbers = kept.numbers
    return render(
        request,
        "overview.html",
        {
            "who": who,
            "o": numbers,
            "as_of": kept.as_of,
            "regimes": regimes,
            "chart": monthly_bars(numbers.by_month),
            "most": max((n for _, _, n in numbers.routes), default=1),
        },
    )


AUDIT_PAGE = 100


async def audit_entries(request: Request, who: Principal) -> tuple[list[Entry], dict[str, str]]:
    """The audit log for leads, auditors and admins, newest first, filtered by ``action``,
    ``actor``, ``finding``, ``from``, ``to``; ``before`` pages on (an entry id)."""
    if not may(who.account.role, Act.AUDIT):
        raise Forbidden(f"a {who.account.role.value} does not read the audit log")
    q = {k: v for k, v in request.query_params.items() if v}
    unknown = set(q) - {"action", "actor", "finding", "from", "to", "before"}
    if unknown:
        raise FilterError(f"unknown parameter {sorted(unknown)[0][:40]!r}")
    scope = Scope.of(who.account)
    try:
        f = AuditFilter(
            action=q.get("action"),
            actor=q.get("actor"),
            finding_id=int(q["finding"]) if "finding" in q else None,
            since=date.fromisoformat(q["from"]) if "from" in q else None,
            until=date.fromisoformat(q["to"]) if "to" in q else None,
        )
        before = int(q["before"]) if "before" in q else None
    except ValueError:
        raise FilterError("finding and before are numbers; from and to are dates") from None
    where = [in_scope(scope.regimes, scope.visible()), *f.where()]
    async with db.sessions(engine(request))() as session:
        found = await entries(session, where, limit=AUDIT_PAGE, before=before)
    return found, q


@router.get("/audit")
async def audit_page(request: Request, who: Who) -> Response:
    found, q = await audit_entries(request, who)
    return render(
        request,
        "audit.html",
        {
            "who": who,
            "entries": found,
            "q": q,
            "actions": [a.value for a in Action],
            "next": found[-1].id if len(found) == AUDIT_PAGE else None,
        },
    )


@router.get("/findings/{finding_id:int}")
async def finding_page(request: Request, who: Who, finding_id: int) -> Response:
    found = await load_dossier(request, who, finding_id)
    role = who.account.role
    async with db.sessions(engine(request))() as session:
        assignees = (
            await queue_store.assignable(session, found.finding.visible_regimes)
            if may(role, Act.ASSIGN)
            else []
        )
    return render(
        request,
        "finding.html",
        {
            "who": who,
            "d": found,
            "f": found.finding,
            "record": found.transfer.record,
            "may_review": may(role, Act.REVIEW),
            "may_assign": may(role, Act.ASSIGN),
            "may_reopen": may(role, Act.REOPEN),
            "assignees": assignees,
            "decisions": [s for s in Status if s.decided],
            "back": queue_link(request),
        },
    )


@router.get("/api")
async def api_page(request: Request, who: Who) -> Response:
    """The JSON API, described from its OpenAPI document (no CDN, no script)."""
    schema = request.app.openapi()
    operations = [
        (method.upper(), path, op)
        for path, methods in schema["paths"].items()
        for method, op in methods.items()
    ]
    return render(
        request,
        "api.html",
        {"who": who, "schema": schema, "operations": operations, "pretty": _pretty_schema},
    )


def _pretty_schema(schema: dict[str, Any], name: str) -> str:
    return json.dumps(schema.get("components", {}).get("schemas", {}).get(name, {}), indent=2)

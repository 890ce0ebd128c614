"""An admin's pages and API: the workspace's users, and which ruleset version is active.

The same store functions as ``ewatch users`` and ``ewatch rules activate``, so each act
is audited the same way; here the actor is the signed-in admin. Anyone else gets a 403:
that these pages exist is no secret, unlike a finding of another regime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from services.core.review import Act, ReviewRefused, Role, may
from services.core.rules import lapse_warnings
from services.review.auth import Acting, Principal, Who
from services.review.errors import Forbidden, NotFound
from services.review.views import render
from services.store import db, rulesets, users

T = TypeVar("T")

pages = APIRouter(include_in_schema=False)
api = APIRouter(
    prefix="/api/v1",
    tags=["admin"],
    responses={403: {"description": "The caller is not an admin, or no X-CSRF-Token header"}},
)


def _allowed(who: Principal, act: Act) -> None:
    if not may(who.account.role, act):
        raise Forbidden(f"only an admin may do this; you are a {who.account.role.value}")


async def _run(request: Request, act: Callable[[Session], T]) -> T:
    """``act`` in one transaction; a refused user act becomes a 422 with its reason."""
    try:
        async with db.sessions(request.app.state.deps.engine).begin() as session:
            result: T = await session.run_sync(act)
            return result
    except users.UserError as exc:
        raise ReviewRefused(str(exc)) from None
    except rulesets.RulesetNotFound as exc:
        raise NotFound(str(exc)) from None


def _account(account: users.Account, live_tokens: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": account.name,
        "role": account.role.value,
        "regimes": "all" if account.sees_all else list(account.regimes),
        "created_at": account.created_at.isoformat(),
        "disabled_at": account.disabled_at.isoformat() if account.disabled_at else None,
    }
    if live_tokens is not None:
        out["live_tokens"] = live_tokens
    return out


def _versions(session: Session) -> dict[str, Any]:
    """Every stored version, the active one's lapse warnings, and the regimes known."""
    rows = rulesets.versions(session)
    active = rulesets.ruleset(session) if any(r.active for r in rows) else None
    return {
        "versions": [
            {
                "version": r.version,
                "active": r.active,
                "loaded_at": r.loaded_at.isoformat(),
                "activated_at": r.activated_at.isoformat() if r.activated_at else None,
                "digest": r.digest,
                "source": r.source,
                "regimes": sorted(d["id"] for d in r.documents.values()),
            }
            for r in rows
        ],
        "lapse_warnings": lapse_warnings(active, date.today()) if active is not None else [],
    }


# Pages


@pages.get("/admin/users")
async def users_page(request: Request, who: Who) -> Response:
    _allowed(who, Act.MANAGE_USERS)

    def read(session: Session) -> tuple[list[tuple[users.Account, int]], list[str]]:
        return users.list_users(session), sorted(rulesets.regime_ids(session))

    rows, regimes = await _run(request, read)
    return render(
        request,
        "admin_users.html",
        {"who": who, "rows": rows, "roles": list(Role), "regimes": regimes},
    )


@pages.post("/admin/users")
async def add_user_form(
    request: Request,
    who: Acting,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1000)],
    regime: Annotated[list[str] | None, Form()] = None,
) -> Response:
    await add_user(
        request, who, NewUser(name=name, role=_role(role), regimes=regime or [], password=password)
    )
    return RedirectResponse("/admin/users", status_code=303)


@pages.post("/admin/users/{name}/disable")
async def disable_form(request: Request, who: Acting, name: str) -> Response:
    await disable_user(request, who, name)
    return RedirectResponse("/admin/users", status_code=303)


@pages.post("/admin/users/{name}/password")
async def password_form(
    request: Request, who: Acting, name: str, password: Annotated[str, Form(max_length=1000)]
) -> Response:
    await reset_password(request, who, name, PasswordReset(password=password))
    return RedirectResponse("/admin/users", status_code=303)


@pages.get("/admin/rulesets")
async def rulesets_page(request: Request, who: Who) -> Response:
    _allowed(who, Act.ACTIVATE_RULES)
    found = await _run(request, _versions)
    interval = request.app.state.deps.settings.reload_interval_s
    return render(request, "admin_rulesets.html", {"who": who, **found, "interval": interval})


@pages.post("/admin/rulesets/{version:int}/activate")
async def activate_form(request: Request, who: Acting, version: int) -> Response:
    await activate(request, who, version)
    return RedirectResponse("/admin/rulesets", status_code=303)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ReviewRefused(
            f"role: {value[:20]!r} is not one of reviewer, lead, auditor, admin"
        ) from None


# API


class NewUser(BaseModel):
    name: str = Field(max_length=64)
    role: Role
    #: Regime ids (HT, LY, …); none for an admin, who sees them all.
    regimes: list[str] = Field(default_factory=list, max_length=50)
    password: str = Field(max_length=1000)


class PasswordReset(BaseModel):
    password: str = Field(max_length=1000)


@api.get("/users", summary="Every user: role, regimes, live API tokens, disabled or not")
async def list_users(request: Request, who: Who) -> dict[str, Any]:
    _allowed(who, Act.MANAGE_USERS)
    rows = await _run(request, users.list_users)
    return {"users": [_account(a, n) for a, n in rows]}


@api.post(
    "/users",
    summary="Add a user",
    status_code=201,
    responses={422: {"description": "Refused: the body says why"}},
)
async def add_user(request: Request, who: Acting, body: NewUser) -> dict[str, Any]:
    _allowed(who, Act.MANAGE_USERS)

    def act(session: Session) -> users.Account:
        return users.add_user(
            session,
            body.name,
            body.role,
            body.regimes,
            body.password,
            who.actor,
            known_regimes=rulesets.regime_ids(session),
        )

    return _account(await _run(request, act))


@api.post(
    "/users/{name}/disable",
    summary="Disable a user: their sessions end and their tokens stop working at once",
    responses={422: {"description": "Refused: the body says why"}},
)
async def disable_user(request: Request, who: Acting, name: str) -> dict[str, Any]:
    _allowed(who, Act.MANAGE_USERS)
    if name == who.account.name:
        raise ReviewRefused("an admin does not disable themselves here; ask another admin")
    account = await _run(request, lambda s: users.disable_user(s, name, who.actor))
    return _account(account)


@api.post(
    "/users/{name}/password",
    summary="Set a user's password; their sessions end",
    responses={422: {"description": "Refused: the body says why"}},
)
async def reset_password(
    request: Request, who: Acting, name: str, body: PasswordReset
) -> dict[str, str]:
    _allowed(who, Act.MANAGE_USERS)
    await _run(request, lambda s: users.reset_password(s, name, body.password, who.actor))
    return {"name": name, "password": "set"}


@api.get("/rulesets", summary="Every stored ruleset version; the active one's lapse warnings")
async def list_rulesets(request: Request, who: Who) -> dict[str, Any]:
    _allowed(who, Act.ACTIVATE_RULES)
    return await _run(request, _versions)


@api.post(
    "/rulesets/{version:int}/activate",
    summary="Make a version the one the matchers screen with (they switch within seconds)",
    responses={404: {"description": "No such version"}},
)
async def activate(request: Request, who: Acting, version: int) -> dict[str, Any]:
    _allowed(who, Act.ACTIVATE_RULES)
    await _run(request, lambda s: rulesets.activate_version(s, version, who.actor))
    return {"active_version": version}

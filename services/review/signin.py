"""Signing in and out.

The sign-in form is protected by a double-submit token (a random cookie echoed in a hidden
field), since there is no session yet to hold a CSRF token. Attempts are limited per
account and per address (services/store/access.py); a refusal never says whether the
name exists.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from services.review.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Acting,
    client_address,
    secure,
    sign,
    unsign,
)
from services.review.views import render, safe_next
from services.store import access, db

router = APIRouter(include_in_schema=False)


def _form(request: Request, *, message: str = "", name: str = "", status: int = 200) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "login_token": token,
            "message": message,
            "name": name,
            "next": safe_next(request.query_params.get("next")),
        },
        status,
    )
    deps = request.app.state.deps
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=secure(request, deps.settings),
    )
    return response


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _form(request)


@router.post("/login")
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    login_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/findings",
) -> Response:
    deps = request.app.state.deps
    s = deps.settings
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not login_token or not hmac.compare_digest(cookie, login_token):
        return _form(request, message="The form expired; please sign in again.", status=403)
    limits = access.Limits(
        timedelta(seconds=s.review_login_window_s),
        s.review_login_failures_per_account,
        s.review_login_failures_per_address,
    )
    async with db.sessions(deps.engine).begin() as session:
        outcome = await access.sign_in(
            session,
            name.strip().lower(),
            password,
            client_address(request),
            limits,
            timedelta(hours=s.review_session_hours),
        )
    match outcome:
        case access.Limited(retry_after_s=wait):
            deps.metrics.sign_ins.labels("limited").inc()
            response = _form(
                request,
                message="Too many failed attempts; try again in a while.",
                name=name,
                status=429,
            )
            response.headers["Retry-After"] = str(wait)
            return response
        case access.Refused():
            deps.metrics.sign_ins.labels("refused").inc()
            return _form(request, message="Wrong name or password.", name=name, status=401)
        case access.SignedIn() as signed:
            deps.metrics.sign_ins.labels("ok").inc()
            response = RedirectResponse(safe_next(next), status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                sign(deps.key, signed.session_id),
                max_age=int(s.review_session_hours * 3600),
                httponly=True,
                samesite="lax",
                secure=secure(request, s),
            )
            response.delete_cookie(LOGIN_COOKIE)
            return response


@router.post("/logout")
async def logout(request: Request, who: Acting) -> Response:
    deps = request.app.state.deps
    session_id = unsign(deps.key, request.cookies.get(SESSION_COOKIE, ""))
    if session_id:
        async with db.sessions(deps.engine).begin() as session:
            await access.end_session(session, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response

"""Signing in to the review workspace, over HTTP against the running service: anonymous
requests refused everywhere, cookie flags, CSRF, rate limits, and a disabled user's
session and tokens dead at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from services.review.app import create_app
from services.settings import Settings
from services.store import db, users
from services.store.audit import Actor
from tests.integration.review_app import (
    PASSWORD,
    RunningReview,
    add_users,
    review,
    review_database,
    start_review,
)
from tests.integration.stack import stop_process

pytestmark = pytest.mark.integration
__all__ = ["review", "review_database"]  # fixtures

#: Answer anyone: the sign-in form, static files, health and metrics for operators.
OPEN = {"/login", "/healthz", "/readyz", "/metrics"}


def _flat(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every route with its full path, through included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _flat(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix + getattr(route, "path", ""), route


def routes(tmp_path: Path) -> list[tuple[str, str]]:
    app = create_app(Settings(data_dir=tmp_path), "postgresql+psycopg://unused/none")
    out = []
    for path, route in _flat(app.routes):
        for method in sorted(getattr(route, "methods", None) or ()):
            if method == "HEAD" or path in OPEN or path.startswith("/static"):
                continue
            out.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return out


def test_every_page_and_api_route_refuses_an_anonymous_request(
    review: RunningReview, tmp_path: Path
) -> None:
    found = routes(tmp_path)
    assert ("GET", "/findings") in found
    assert ("GET", "/api/v1/findings") in found
    anonymous = review.client()
    for method, path in found:
        response = anonymous.request(method, path)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login"), (method, path)


def test_signing_in_sets_a_signed_http_only_lax_session_cookie(review: RunningReview) -> None:
    client = review.client()
    response = client.sign_in("hana", PASSWORD)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ewatch_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP
    assert client.get("/api/v1/me").json() == {
        "name": "hana",
        "role": "reviewer",
        "regimes": ["HT"],
        "via": "web",
    }
    # A cookie whose signature does not match is no session.
    forged = review.client()
    value = client.cookies["ewatch_session"]
    forged.cookies.set("ewatch_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert forged.get("/api/v1/me").status_code == 401


def test_the_cookie_is_secure_over_tls(review: RunningReview) -> None:
    client = review.client()
    form = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={"name": "hana", "password": PASSWORD, "login_token": token[1]},
        # The client speaks plain HTTP to the proxy's back end: it would not send the
        # sign-in form's Secure cookie on its own.
        headers={"X-Forwarded-Proto": "https", "Cookie": f"ewatch_login={token[1]}"},
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(review: RunningReview) -> None:
    wrong = review.client().sign_in("hugo", "not the password at all")
    unknown = review.client().sign_in("nobody-here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password" in wrong.text
    assert "Wrong name or password" in unknown.text
    assert "ewatch_session" not in wrong.headers.get("set-cookie", "")


def test_the_sign_in_form_needs_its_token(review: RunningReview) -> None:
    client = review.client()
    client.get("/login")
    response = client.post("/login", data={"name": "hana", "password": PASSWORD})
    assert response.status_code == 403
    assert "ewatch_session" not in response.headers.get("set-cookie", "")


def test_after_signing_in_only_a_path_on_this_site_is_followed(review: RunningReview) -> None:
    client = review.client()
    form = client.get("/login?next=//evil.example/x")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={
            "name": "hana",
            "password": PASSWORD,
            "login_token": token[1],
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/findings"


def test_signing_out_needs_the_csrf_token_and_ends_the_session(review: RunningReview) -> None:
    client = review.client("hugo")
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    cookie = client.cookies["ewatch_session"]
    assert client.act("/logout", {}).status_code == 303
    replay = review.client()
    replay.cookies.set("ewatch_session", cookie)
    assert replay.get("/api/v1/me").status_code == 401


def test_a_bearer_token_works_and_a_bad_one_is_not_rescued_by_a_cookie(
    review: RunningReview,
) -> None:
    token = review.token("hugo")
    api = review.client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["via"] == (
        "api"
    )
    signed_in = review.client("hugo")
    bad = signed_in.get("/api/v1/me", headers={"Authorization": "Bearer ewt_guess"})
    assert bad.status_code == 401
    assert review.sql("SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL") == [(1,)]


def test_a_disabled_user_s_session_and_tokens_stop_at_once(
    database_url: str, tmp_path: Path
) -> None:
    add_users(database_url)
    running = start_review(database_url, tmp_path)
    try:
        browser = running.client("lyle")
        token = running.token("lyle")
        bearer = {"Authorization": f"Bearer {token}"}
        assert browser.get("/api/v1/me").status_code == 200
        assert running.client().get("/api/v1/me", headers=bearer).status_code == 200
        engine = db.sync_engine(database_url)
        with Session(engine) as s, s.begin():
            users.disable_user(s, "lyle", Actor(None, "test"))
        engine.dispose()
        assert browser.get("/api/v1/me").status_code == 401
        assert browser.get("/findings").status_code == 303
        assert running.client().get("/api/v1/me", headers=bearer).status_code == 401
        assert running.client().sign_in("lyle", PASSWORD).status_code == 401
    finally:
        stop_process(running.process)


def test_sign_in_attempts_are_limited_per_account_and_per_address(
    database_url: str, tmp_path: Path
) -> None:
    add_users(database_url)
    running = start_review(
        database_url,
        tmp_path,
        review_login_failures_per_account="3",
        review_login_failures_per_address="5",
    )
    try:
        for _ in range(3):
            assert running.client().sign_in("hana", "wrong password!").status_code == 401
        # The account is locked for the window, even with the right password.
        limited = running.client().sign_in("hana", PASSWORD)
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        assert running.client().sign_in("hugo", PASSWORD).status_code == 303
        # Failures from one address, over any accounts, lock the address.
        assert running.client().sign_in("lena", "wrong password!").status_code == 401
        assert running.client().sign_in("lena", PASSWORD).status_code == 429
        counted = running.sql(
            "SELECT account, count(*) FILTER (WHERE NOT succeeded) FROM login_attempts "
            "GROUP BY account ORDER BY account"
        )
        assert counted == [("hana", 4), ("hugo", 0), ("lena", 2)]
    finally:
        stop_process(running.process)

"""The real review workspace (``ewatch review``) on a migrated database with findings in it,
and a client that uses it as a browser would: signing in through the form, keeping the
cookie, sending the CSRF token its pages hold.

``review`` is the hook for browser tests (Playwright) and benchmarks: one running
workspace per test module, on its own database, with the users of :data:`USERS`.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.orm import Session

from services.core.review import Role
from services.knowledge import ensure_defaults
from services.stack.embedded import free_port
from services.store import db, users
from services.store.audit import Actor
from tests.conftest import _plain, _with_database
from tests.integration.stack import ROOT, stop_process, wait_http
from tests.review_data import store_findings

PASSWORD = "correct horse battery staple"
#: name -> (role, regimes)
USERS: dict[str, tuple[Role, tuple[str, ...]]] = {
    "hana": (Role.REVIEWER, ("HT",)),
    "hugo": (Role.REVIEWER, ("HT",)),
    "lyle": (Role.REVIEWER, ("LY",)),
    "lena": (Role.LEAD, ("HT",)),
    "audrey": (Role.AUDITOR, ("HT",)),
    "root": (Role.ADMIN, ()),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


@dataclass
class RunningReview:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def client(self, name: str | None = None, password: str = PASSWORD) -> Client:
        """A browser-like client, signed in as ``name`` (anonymous when None)."""
        client = Client(base_url=self.url, follow_redirects=False, timeout=30)
        if name is not None:
            response = client.sign_in(name, password)
            assert response.status_code == 303, response.text
        return client

    def token(self, name: str, label: str = "test") -> str:
        engine = db.sync_engine(self.database_url)
        try:
            with Session(engine) as s, s.begin():
                return users.issue_token(s, name, label, Actor(None, "test"))[1]
        finally:
            engine.dispose()

    def sql(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(_plain(self.database_url)) as conn:
            return conn.execute(query, args).fetchall()  # type: ignore[arg-type]


class Client(httpx.Client):
    csrf: str | None = None

    def sign_in(self, name: str, password: str) -> httpx.Response:
        form = self.get("/login")
        token = _LOGIN.search(form.text)
        assert token, form.text
        response = self.post(
            "/login", data={"name": name, "password": password, "login_token": token[1]}
        )
        if response.status_code == 303:
            self.csrf = self.page("/findings").csrf
        return response

    def page(self, path: str) -> Page:
        response = self.get(path)
        found = _CSRF.search(response.text)
        return Page(response, found[1] if found else None)

    def act(self, path: str, data: dict[str, Any] | list[tuple[str, str]]) -> httpx.Response:
        """POST a form as the page would, with the session's CSRF token."""
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        form: dict[str, list[str]] = {"csrf_token": [self.csrf or ""]}
        for name, value in pairs:
            form.setdefault(name, []).append(str(value))
        return self.post(path, data=form)


@dataclass
class Page:
    response: httpx.Response
    csrf: str | None


def add_users(database_url: str) -> None:
    engine = db.sync_engine(database_url)
    try:
        with Session(engine) as s, s.begin():
            # The shipped rules and list, as `ewatch up` loads them: list entries and
            # exemptions are shown from them.
            ensure_defaults(s)
            for name, (role, regimes) in USERS.items():
                users.add_user(
                    s,
                    name,
                    role,
                    regimes,
                    PASSWORD,
                    Actor(None, "test"),
                    known_regimes={"HT", "LY", "SO"},
                )
    finally:
        engine.dispose()


def start_review(database_url: str, tmp: Path, **overrides: str) -> RunningReview:
    port = free_port()
    env = {
        **os.environ,
        "EWATCH_DATABASE_URL": database_url,
        "EWATCH_REVIEW_PORT": str(port),
        "EWATCH_DATA_DIR": str(tmp / "data"),
        "EWATCH_LOG_LEVEL": "warning",
        **{f"EWATCH_{k.upper()}": v for k, v in overrides.items()},
    }
    log = tmp / "review.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "review"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/readyz", process, 60, log)
    return RunningReview(url, database_url, process, log)


@pytest.fixture(scope="module")
def review_database(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    """A migrated database with the review data set and :data:`USERS`, for one module."""
    name = f"review_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(pg_admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = _with_database(pg_admin_url, name)
    asyncio.run(store_findings(url))
    add_users(url)
    yield url
    with psycopg.connect(_plain(pg_admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def review(
    review_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningReview]:
    """``ewatch review`` running on :func:`review_database`."""
    running = start_review(review_database, tmp_path_factory.mktemp("review"))
    try:
        yield running
    finally:
        stop_process(running.process)

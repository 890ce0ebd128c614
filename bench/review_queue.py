"""The review workspace at scale: synthetic findings, the queue, a finding's page and the
overview timed over HTTP as a signed-in user asks for them, and the store's queries beside.

    .venv/bin/python bench/review_queue.py --admin-url URL [--findings 1000000] [--repeat 20]
        [--keep | --database NAME]

(URL: an admin URL to a PostgreSQL server, postgresql+psycopg://postgres@127.0.0.1:5432/postgres)

Creates a database ``review_bench_<pid>`` (migrated), fills it in SQL with ``--findings``
findings over half as many transfers (8 regimes; a fifth of the transfers go to a
neighbour of an embargoed territory or elsewhere, and their findings, with a tenth of the
others, are regime-less, seen by the regimes their destination touches, as
services/core/visibility.py decides; every exporter name is shared by 100 transfers,
every end user's by 5 or 6). ``--database NAME`` reuses one filled before (``--keep``),
migrating it to the latest schema first.

Then it loads the shipped rules and list, adds a Haiti reviewer and an admin, starts
``ewatch review`` in a child process, signs both in through the login form, and times,
``--repeat`` rounds after one untimed round, each case in turn (round-robin, so the
machine's other work falls on all cases alike):

- over HTTP (httpx, one kept-alive connection per user): the queue page and
  ``GET /api/v1/findings`` (first page, filters, the next page by cursor), a finding's
  page and ``GET /api/v1/findings/{id}`` (a different finding each round, related
  transfers included), the overview page and API; and ``GET /api/v1/me`` — signed in, one
  session look-up, no queue — as the baseline of the same path;
- in the benchmark's process, through the store's own functions: a queue page, the counts
  by status, a finding's dossier, the overview — the SQL part of the same cases.

Prints p50 and p95 per case as Markdown. Drops the database unless ``--keep`` or
``--database``. Issue 14's target: p95 under 200 ms at 1,000,000 findings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.core.review import Role, parse_filter  # noqa: E402
from services.knowledge import ensure_defaults  # noqa: E402
from services.stack.embedded import free_port  # noqa: E402
from services.store import db, users  # noqa: E402
from services.store import dossier as dossiers  # noqa: E402
from services.store import overview as overviews  # noqa: E402
from services.store import review as queue  # noqa: E402
from services.store.audit import Actor  # noqa: E402
from services.store.migrate import upgrade  # noqa: E402
from services.store.models import FindingRow, ScreenedTransfer  # noqa: E402
from services.store.review import Scope  # noqa: E402

REGIMES = ("HT", "SO", "LY", "SD", "SS", "CD", "YE", "KP")
#: Destinations beyond the regimes' own: neighbours, and one no embargo touches.
NEIGHBOURS = {"DO": ("HT",), "EG": ("LY", "SD"), "KE": ("SO", "SS"), "NG": ()}
#: Each transfer's destination, cycling: the regimes' territories twice as often as the rest.
DESTINATIONS = (*REGIMES, *REGIMES, *NEIGHBOURS)

FILL = """
SET synchronous_commit = off;
INSERT INTO users (name, password_hash, role, regimes)
SELECT 'u' || g, 'x', 'reviewer', ARRAY[(%(regimes)s::text[])[1 + g %% 8]]
FROM generate_series(1, 40) g;
INSERT INTO screened_transfers (integrator, record_id, record, record_sha256, transfer_date,
    origin, destination, received_at, ruleset_version, party_names, party_keys, item_categories)
SELECT 'bench', 'b-' || g, jsonb_build_object(
        'record_id', 'b-' || g, 'transfer_date', day, 'status', 'shipped',
        'route', jsonb_build_object('origin', origin, 'destination', destination),
        'parties', jsonb_build_array(
            jsonb_build_object('role', 'exporter', 'name', 'Exporter Company ' || (g %% 5000),
                'country', origin, 'type', 'company'),
            jsonb_build_object('role', 'end_user', 'name', 'End User ' || md5((g %% 90000)::text),
                'country', destination,
                'type', (ARRAY['company','government','armed_forces','individual'])[1 + g %% 4])),
        'items', jsonb_build_array(jsonb_build_object('category', categories[2],
            'description', 'goods of the usual kind', 'quantity', 10 + g %% 500)),
        'documents', jsonb_build_object('end_user_certificate', 'EUC-' || g)),
    md5(g::text), day, origin, destination, now(), 1,
    'exporter company ' || (g %% 5000) || ' | end user ' || md5((g %% 90000)::text),
    ARRAY['exporter company ' || (g %% 5000), 'end user ' || md5((g %% 90000)::text)],
    categories
FROM (SELECT g, date '2022-01-01' + ((g::bigint * 7919) %% 1700)::int AS day,
        (ARRAY['US','FR','DE','CN','RU','TR','AE','BR'])[1 + g %% 8] AS origin,
        (%(destinations)s::text[])[1 + (g::bigint * 31) %% 20] AS destination,
        CASE (g / 20) %% 4 WHEN 0 THEN ARRAY['small_arms', 'small_arms.revolver_pistol']
            WHEN 1 THEN ARRAY['ammunition', 'ammunition.small_arms']
            WHEN 2 THEN ARRAY['unroca', 'unroca.II']
            ELSE ARRAY['small_arms', 'small_arms.assault_rifle'] END AS categories
    FROM generate_series(1, %(transfers)s) g) s;
INSERT INTO findings (transfer_id, finding_key, record_id, kind, regime, rule_id, severity,
    summary, citations, party, evidence, ruleset_version, status, assignee_id,
    visible_regimes, created_at)
SELECT t.id, md5(t.id::text || k), t.record_id,
    CASE WHEN k = 0 THEN 'violation' ELSE 'indicator' END,
    CASE WHEN (t.id + k) %% 10 = 0 OR t.destination = ANY(%(neighbours)s::text[]) THEN NULL
        ELSE t.destination END,
    CASE WHEN k = 0 THEN t.destination || '.territory' ELSE 'indicator.x' END,
    (ARRAY['high','medium','low'])[1 + (t.id * 13 + k) %% 3],
    'Transfer ' || t.record_id || ' falls under an arms embargo; a summary of the usual length.',
    '["S/RES/2752 (2024), para 2"]', jsonb_build_object('role', 'end_user', 'name', 'x'),
    '{}', 1,
    CASE WHEN (t.id * 7 + k) %% 10 < 6 THEN 'open' WHEN (t.id * 7 + k) %% 10 = 6
        THEN 'under_review' WHEN (t.id * 7 + k) %% 10 < 9 THEN 'dismissed' ELSE 'confirmed' END,
    CASE WHEN (t.id + k) %% 5 = 0 THEN 1 + (t.id %% 40) ELSE NULL END,
    CASE t.destination WHEN 'DO' THEN ARRAY['HT'] WHEN 'EG' THEN ARRAY['LY', 'SD']
        WHEN 'KE' THEN ARRAY['SO', 'SS'] WHEN 'NG' THEN ARRAY[]::text[]
        ELSE ARRAY[t.destination] END,
    now() - ((%(transfers)s * 2 - t.id) || ' seconds')::interval
FROM screened_transfers t CROSS JOIN generate_series(0, 1) k;
VACUUM ANALYZE;
"""


PASSWORD = "bench password of some length"  # noqa: S105 (a throwaway database)
#: name -> (role, regimes, scope): the users signed in.
USERS = {"bench-ht": (Role.REVIEWER, ("HT",)), "bench-admin": (Role.ADMIN, ())}

#: (case, user, query string) of the queue: over HTTP as the page and the API, and in the
#: store as a page and the counts.
QUEUES: list[tuple[str, str, str]] = [
    ("HT, newest first", "bench-ht", ""),
    ("HT, open, by severity", "bench-ht", "status=open&sort=severity"),
    ("HT, by transfer date", "bench-ht", "sort=-transfer_date"),
    ("HT, high violations", "bench-ht", "kind=violation&severity=high"),
    ("HT, party substring", "bench-ht", "party=3f2a"),
    ("HT, category and dates", "bench-ht", "category=unroca&from=2024-01-01"),
    ("HT, category, nothing", "bench-ht", "category=small_arms.sniper_rifle"),
    ("HT, assigned to u1", "bench-ht", "assignee=u1"),
    ("admin, newest first", "bench-admin", ""),
    ("admin, LY open", "bench-admin", "regime=LY&status=open"),
    ("admin, dates, oldest", "bench-admin", "from=2025-06-01&to=2025-06-30&sort=created"),
]
_LOGIN = re.compile(r'name="login_token" value="([^"]+)"')


def _url(admin_url: str, name: str) -> str:
    head, sep, query = admin_url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fill(url: str, findings: int) -> None:
    values = {
        "regimes": list(REGIMES),
        "destinations": list(DESTINATIONS),
        "neighbours": list(NEIGHBOURS),
        "transfers": findings // 2,
    }
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        for statement in filter(str.strip, FILL.split(";\n")):
            conn.execute(statement, values if "%(" in statement else None)  # type: ignore[call-overload]


def prepare(url: str) -> None:
    """The shipped rules and list (the finding page shows them) and the benchmark's users."""
    engine = db.sync_engine(url)
    try:
        with Session(engine) as s, s.begin():
            ensure_defaults(s)
            for name, (role, regimes) in USERS.items():
                with contextlib.suppress(users.UserError):  # there from an earlier run
                    users.add_user(
                        s,
                        name,
                        role,
                        regimes,
                        PASSWORD,
                        Actor(None, "bench"),
                        known_regimes=REGIMES,
                    )
    finally:
        engine.dispose()


def sample_findings(url: str, n: int) -> list[int]:
    """``n`` HT findings spread over the table, of transfers with related ones."""
    with psycopg.connect(_plain(url)) as conn:
        rows = conn.execute(
            "SELECT id FROM findings WHERE regime = 'HT' AND id %% 997 = 0 ORDER BY id LIMIT %s",
            (n,),
        ).fetchall()
    return [r[0] for r in rows]


def start_review(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {
        **os.environ,
        "EWATCH_DATABASE_URL": url,
        "EWATCH_REVIEW_PORT": str(port),
        "EWATCH_DATA_DIR": str(tmp / "data"),
        "EWATCH_LOG_LEVEL": "warning",
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
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return process, base, log
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(log.read_text()[-3000:])


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)


def signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    token = _LOGIN.search(client.get("/login").text)
    assert token, "no login form"
    response = client.post(
        "/login", data={"name": name, "password": PASSWORD, "login_token": token[1]}
    )
    assert response.status_code == 303, response.text
    return client


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


Case = tuple[str, str, Callable[[int], Any]]


def http_cases(clients: dict[str, httpx.Client], ids: list[int]) -> list[Case]:
    """(group, case, one timed request given the round)."""

    def get(user: str, path: str) -> Callable[[int], Any]:
        def run(_: int) -> None:
            response = clients[user].get(path)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])

        return run

    def next_page(user: str, query: str) -> Callable[[int], Any]:
        cursor = clients[user].get(f"/api/v1/findings?{query}").json()["next"]
        return get(user, f"/api/v1/findings?{query}&after={cursor}")

    def finding(user: str, prefix: str) -> Callable[[int], Any]:
        def run(round_: int) -> None:
            get(user, f"{prefix}/{ids[round_ % len(ids)]}")(round_)

        return run

    cases: list[Case] = [
        ("baseline", "GET /api/v1/me, HT reviewer", get("bench-ht", "/api/v1/me")),
        ("baseline", "GET /api/v1/me, admin", get("bench-admin", "/api/v1/me")),
    ]
    for name, user, query in QUEUES:
        cases.append(("queue page", name, get(user, f"/findings?{query}")))
        cases.append(("queue API", name, get(user, f"/api/v1/findings?{query}")))
    for name, user, query in QUEUES[:3] + QUEUES[8:9]:
        cases.append(("queue API, next page", name, next_page(user, query)))
    for user in USERS:
        who = "HT reviewer" if user == "bench-ht" else "admin"
        cases.append(("finding page", who, finding(user, "/findings")))
        cases.append(("finding API", who, finding(user, "/api/v1/findings")))
    cases.append(("overview page", "HT reviewer, HT", get("bench-ht", "/overview?regime=HT")))
    cases.append(("overview API", "HT reviewer, HT", get("bench-ht", "/api/v1/overview?regime=HT")))
    cases.append(("overview API", "admin, LY", get("bench-admin", "/api/v1/overview?regime=LY")))
    return cases


def store_cases(
    session: Any, ids: list[int]
) -> list[tuple[str, str, Callable[[int], Awaitable[Any]]]]:
    scopes = {
        user: Scope(None if role is Role.ADMIN else regimes)
        for user, (role, regimes) in USERS.items()
    }
    cases: list[tuple[str, str, Callable[[int], Awaitable[Any]]]] = []
    for name, user, query in QUEUES:
        params: dict[str, list[str]] = {}
        for pair in filter(None, query.split("&")):
            key, _, value = pair.partition("=")
            params.setdefault(key, []).append(value.replace("+", " "))
        f, scope = parse_filter(params), scopes[user]
        cases.append(
            ("store: queue page", name, lambda _, s=scope, f=f: queue.queue(session, s, f))
        )
        cases.append(
            (
                "store: counts by status",
                name,
                lambda _, s=scope, f=f: queue.status_counts(session, s, f),
            )
        )
    for user in USERS:
        who = "HT reviewer" if user == "bench-ht" else "admin"
        cases.append(
            (
                "store: dossier",
                who,
                lambda r, s=scopes[user]: dossiers.dossier(session, s, ids[r % len(ids)]),
            )
        )
        cases.append(
            (
                "store: related transfers",
                who,
                lambda r, s=scopes[user]: _related(session, s, ids[r % len(ids)]),
            )
        )
    cases.append(
        (
            "store: overview",
            "HT reviewer, HT",
            lambda _: overviews.overview(session, scopes["bench-ht"], "HT"),
        )
    )
    return cases


async def _related(session: Any, scope: Scope, finding_id: int) -> Any:
    transfer_id, keys = (
        await session.execute(
            select(ScreenedTransfer.id, ScreenedTransfer.party_keys)
            .join(FindingRow, FindingRow.transfer_id == ScreenedTransfer.id)
            .where(FindingRow.id == finding_id)
        )
    ).one()
    return await dossiers.related(session, scope, transfer_id, keys)


def measure_http(cases: list[Case], repeat: int) -> dict[tuple[str, str], list[float]]:
    times: dict[tuple[str, str], list[float]] = {(g, n): [] for g, n, _ in cases}
    for round_ in range(repeat + 1):
        for group, name, run in cases:
            started = time.perf_counter()
            run(round_)
            if round_:  # the first round warms caches and connections
                times[group, name].append(time.perf_counter() - started)
    return times


async def measure_store(
    url: str, ids: list[int], repeat: int
) -> dict[tuple[str, str], list[float]]:
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine)() as session:
            cases = store_cases(session, ids)
            times: dict[tuple[str, str], list[float]] = {(g, n): [] for g, n, _ in cases}
            for round_ in range(repeat + 1):
                for group, name, run in cases:
                    started = time.perf_counter()
                    await run(round_)
                    await session.rollback()  # each case in its own transaction, as a request
                    if round_:
                        times[group, name].append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return times


def report(
    http: dict[tuple[str, str], list[float]], store: dict[tuple[str, str], list[float]]
) -> list[str]:
    base = {user: _p(v, 0.95) for (g, user), v in http.items() if g == "baseline"}
    baseline = max(base.values())
    lines = [
        "Baseline (GET /api/v1/me, signed in, same HTTP path): "
        + ", ".join(
            f"{n}: p50 {_p(http['baseline', n], 0.5):.1f} ms, p95 {b:.1f} ms"
            for n, b in zip([n for g, n in http if g == "baseline"], base.values(), strict=True)
        ),
        "",
        "| group | case | p50 ms | p95 ms | p95 / baseline p95 | under 200 ms |",
        "|---|---|---:|---:|---:|---|",
    ]
    for (group, name), values in http.items():
        if group == "baseline":
            continue
        p95 = _p(values, 0.95)
        lines.append(
            f"| {group} | {name} | {_p(values, 0.5):.0f} | {p95:.0f} | {p95 / baseline:.1f}× "
            f"| {'yes' if p95 < 200 else '**no**'} |"
        )
    lines += ["", "| store (SQL, in process) | case | p50 ms | p95 ms |", "|---|---|---:|---:|"]
    for (group, name), values in store.items():
        lines.append(
            f"| {group.removeprefix('store: ')} | {name} | {_p(values, 0.5):.0f} "
            f"| {_p(values, 0.95):.0f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", required=True, help="an admin URL to a PostgreSQL server")
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", help="reuse this database, filled by an earlier --keep")
    args = parser.parse_args()
    name = args.database or f"review_bench_{os.getpid()}"
    url = _url(args.admin_url, name)
    if not args.database:
        with psycopg.connect(_plain(args.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    process = None
    try:
        started = time.perf_counter()
        upgrade(url)
        if not args.database:
            fill(url, args.findings)
            print(f"{args.findings:,} findings in {time.perf_counter() - started:.0f} s ({name})")
        else:
            print(f"reusing {name}, migrated in {time.perf_counter() - started:.0f} s")
        prepare(url)
        ids = sample_findings(url, 40)
        with tempfile.TemporaryDirectory(prefix="review-bench-") as tmp:
            process, base, log = start_review(url, Path(tmp))
            clients = {user: signed_in(base, user) for user in USERS}
            try:
                http = measure_http(http_cases(clients, ids), args.repeat)
            except AssertionError:
                print(log.read_text()[-3000:], file=sys.stderr)
                raise
            finally:
                for client in clients.values():
                    client.close()
                stop(process)
        store = asyncio.run(measure_store(url, ids, args.repeat))
        print(f"{args.repeat} rounds; load average {os.getloadavg()}")
        print("\n".join(report(http, store)))
    finally:
        if process is not None:
            stop(process)
        if not args.keep and not args.database:
            with psycopg.connect(_plain(args.admin_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())

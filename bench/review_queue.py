"""The review queue's reads at scale: synthetic findings, the queue's queries timed.

    .venv/bin/python bench/review_queue.py --admin-url URL [--findings 1000000] [--repeat 20]
        [--keep]

(URL: an admin URL to a PostgreSQL server, postgresql+psycopg://postgres@127.0.0.1:5432/postgres)

Creates a database ``review_bench_<pid>`` (migrated), fills it in SQL with ``--findings``
findings over half as many transfers (8 regimes; a fifth of the transfers go to a
neighbour of an embargoed territory or elsewhere, and their findings, with a tenth of the
others, are regime-less, seen by the regimes their destination touches, as
services/core/visibility.py decides), then
times through the store's own functions (services/store/review.py) a first and a second
page and the counts of each case, ``--repeat`` times, and prints p50 and p95 per case
as Markdown. Drops the database unless ``--keep``. A starting point for issue 14's
benchmark (p95 under 200 ms at 1,000,000 findings); the HTTP layer is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.core.review import parse_filter  # noqa: E402
from services.store import db  # noqa: E402
from services.store import review as queue  # noqa: E402
from services.store.migrate import upgrade  # noqa: E402
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
SELECT 'bench', 'b-' || g, jsonb_build_object('record_id', 'b-' || g), md5(g::text),
    date '2022-01-01' + ((g::bigint * 7919) %% 1700)::int,
    (ARRAY['US','FR','DE','CN','RU','TR','AE','BR'])[1 + g %% 8],
    (%(destinations)s::text[])[1 + (g::bigint * 31) %% 20],
    now(), 1,
    'exporter company ' || (g %% 5000) || ' | end user ' || md5((g %% 90000)::text),
    ARRAY['exporter company ' || (g %% 5000), 'end user ' || md5((g %% 90000)::text)],
    CASE (g / 20) %% 4 WHEN 0 THEN ARRAY['small_arms', 'small_arms.revolver_pistol']
        WHEN 1 THEN ARRAY['ammunition', 'ammunition.small_arms']
        WHEN 2 THEN ARRAY['unroca', 'unroca.II']
        ELSE ARRAY['small_arms', 'small_arms.assault_rifle'] END
FROM generate_series(1, %(transfers)s) g;
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

CASES: list[tuple[str, tuple[str, ...] | None, dict[str, list[str]]]] = [
    ("HT, newest first", ("HT",), {}),
    ("HT, open", ("HT",), {"status": ["open"]}),
    ("HT, open, by severity", ("HT",), {"status": ["open"], "sort": ["severity"]}),
    ("HT, by transfer date", ("HT",), {"sort": ["-transfer_date"]}),
    ("HT, party substring", ("HT",), {"party": ["end user 3f2"]}),
    ("HT, category and dates", ("HT",), {"category": ["unroca"], "from": ["2024-01-01"]}),
    ("HT, high violations", ("HT",), {"kind": ["violation"], "severity": ["high"]}),
    ("SO, one assignee", ("SO",), {"assignee": ["u2"]}),
    ("admin, newest first", None, {}),
    ("admin, LY open", None, {"status": ["open"], "regime": ["LY"]}),
]


def _url(admin_url: str, name: str) -> str:
    head, sep, query = admin_url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}{sep}{query}"


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fill(url: str, findings: int) -> None:
    destinations = list(DESTINATIONS)
    values = {
        "regimes": list(REGIMES),
        "destinations": destinations,
        "neighbours": list(NEIGHBOURS),
        "transfers": findings // 2,
    }
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        for statement in filter(str.strip, FILL.split(";\n")):
            conn.execute(statement, values if "%(" in statement else None)  # type: ignore[call-overload]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def measure(url: str, repeat: int) -> list[str]:
    engine = db.async_engine(url)
    lines = [
        "| case | page p50 / p95 ms | next page p95 ms | counts p50 / p95 ms |",
        "|---|---|---|---|",
    ]
    try:
        async with db.sessions(engine)() as session:
            for name, regimes, params in CASES:
                f, scope = parse_filter(params), Scope(regimes)
                pages, nexts, counts = [], [], []
                for _ in range(repeat):
                    started = time.perf_counter()
                    page = await queue.queue(session, scope, f)
                    pages.append(time.perf_counter() - started)
                    if page.next_cursor:
                        started = time.perf_counter()
                        await queue.queue(
                            session, scope, parse_filter({**params, "after": [page.next_cursor]})
                        )
                        nexts.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    await queue.status_counts(session, scope, f)
                    counts.append(time.perf_counter() - started)
                following = f"{_p(nexts, 0.95):.0f}" if nexts else "—"
                lines.append(
                    f"| {name} | {_p(pages, 0.5):.0f} / {_p(pages, 0.95):.0f} | {following} "
                    f"| {_p(counts, 0.5):.0f} / {_p(counts, 0.95):.0f} |"
                )
    finally:
        await engine.dispose()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", required=True, help="an admin URL to a PostgreSQL server")
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    name = f"review_bench_{os.getpid()}"
    url = _url(args.admin_url, name)
    with psycopg.connect(_plain(args.admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(url)
        started = time.perf_counter()
        fill(url, args.findings)
        print(f"{args.findings:,} findings in {time.perf_counter() - started:.0f} s ({name})")
        print("\n".join(asyncio.run(measure(url, args.repeat))))
    finally:
        if not args.keep:
            with psycopg.connect(_plain(args.admin_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())

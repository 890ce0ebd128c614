"""``ewatch up`` on the embedded defaults: starts everything, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import orjson
import psutil
import psycopg
import pytest

from services.stack.embedded import embedded_postgres_url, stop_embedded_postgres
from tests.conftest import _plain, sql
from tests.integration.stack import descendants_and_servers, start_up, wait_ok
from tests.records import batch

pytestmark = pytest.mark.integration

WAITING_FOR_ALL = (
    "waiting for the matcher to screen 1500 accepted record(s); Ctrl-C again to stop now\n"
)


def test_up_serves_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    up, ports = start_up(data_dir)
    try:
        wait_ok(f"http://127.0.0.1:{ports['INGEST_PORT']}/readyz")
        wait_ok(f"http://127.0.0.1:{ports['MATCHER_PORT']}/healthz")
        wait_ok(f"http://127.0.0.1:{ports['REVIEW_PORT']}/readyz")
        login = httpx.get(f"http://127.0.0.1:{ports['REVIEW_PORT']}/findings")
        assert login.status_code == 303  # the review workspace, asking to sign in
        running = descendants_and_servers(psutil.Process(up.pid), data_dir)
        assert len(running) >= 4  # ingest, matcher, review, broker (and postgres)
        assert (data_dir / "postgres" / "PG_VERSION").exists()

        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
        assert up.returncode == 0, out.decode()
        assert b"stopped" in out
        time.sleep(0.5)
        assert [p for p in running if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    finally:
        if up.poll() is None:
            up.kill()


def test_ctrl_c_after_a_batch_is_accepted_screens_it_before_the_broker_stops(
    tmp_path: Path,
) -> None:
    """The embedded broker keeps its topics in memory: what ingest has acknowledged must be
    screened before it stops, or it is gone.

    A lock on the table the matcher writes holds every record unscreened until ``ewatch up``
    says it is waiting for all of them (it counts them in the ledger, which the lock leaves
    readable). So the drain is seen to wait, whatever the timing."""
    data_dir = tmp_path / "data"
    up, ports = start_up(data_dir)
    assert up.stdout is not None
    try:
        url = embedded_postgres_url(data_dir / "postgres")  # attached: it outlives `up`
        with psycopg.connect(_plain(url)) as lock:
            lock.execute("LOCK TABLE screened_transfers IN ACCESS EXCLUSIVE MODE")
            records = batch(1500, invalid_every=10_000)
            answer = httpx.post(
                f"http://127.0.0.1:{ports['INGEST_PORT']}/v1/transfers",
                content=b"\n".join(orjson.dumps(r) for r in records),
                headers={"content-type": "application/x-ndjson", "x-ewatch-integrator": "drain"},
                timeout=120,
            )
            assert answer.json()["accepted"] == 1500
            up.send_signal(signal.SIGINT)
            # Blocks at most until `ewatch up` exits: its drain gives up after 300 s.
            said: list[str] = []
            while not said or not said[-1].startswith("waiting"):
                line = up.stdout.readline()
                assert line, "".join(said)
                said.append(line.decode())
            assert said[-1] == WAITING_FOR_ALL, "".join(said)
        out = "".join(said) + up.stdout.read().decode()  # the lock is released: it screens
        assert up.wait(60) == 0, out
        assert "stay in the ledger" not in out, out
        pending = "SELECT count(*) FROM accepted_records WHERE settled_at IS NULL"
        assert sql(url, pending) == [(0,)], out
        screened = sql(url, "SELECT count(*) FROM screened_transfers WHERE integrator = 'drain'")
        assert screened[0][0] == 1500, out
    finally:
        if up.poll() is None:
            up.kill()
        stop_embedded_postgres(data_dir / "postgres")  # not the session's test database


def test_a_killed_supervisor_takes_its_children_and_broker_along(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    up, _ = start_up(data_dir)
    try:
        children = psutil.Process(up.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "tansu" in names or "broker" in names, names
        up.kill()  # SIGKILL: no handler runs
        up.wait(10)
        deadline = time.monotonic() + 15
        alive = children
        while alive and time.monotonic() < deadline:
            alive = [c for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
            time.sleep(0.2)
        assert [" ".join(c.cmdline()) for c in alive] == []
    finally:
        if up.poll() is None:
            up.kill()
        # The embedded PostgreSQL outlives a killed supervisor (its package, not a child of
        # ours, owns it); stop it so no server of this test stays behind.
        embedded_postgres_url(data_dir / "postgres")
        stop_embedded_postgres(data_dir / "postgres")  # not the session's test database

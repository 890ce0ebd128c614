"""A ruleset activated while records flow reaches the running matcher without a restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from services.core import resources
from tests.conftest import sql
from tests.integration.stack import ROOT, RunningStack, running_stack
from tests.records import batch

pytestmark = pytest.mark.integration


def ewatch(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EWATCH_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ruleset_in_use(stack: RunningStack) -> float:
    metrics = httpx.get(stack.matcher_url + "/metrics", timeout=5).text
    line = next(x for x in metrics.splitlines() if x.startswith("ewatch_matcher_ruleset_version"))
    return float(line.split()[-1])


def test_a_ruleset_activated_mid_stream_is_used_from_then_on(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    changed = tmp_path / "rules"
    shutil.copytree(resources.rules_dir(), changed)
    ht = changed / "HT.yaml"
    ht.write_text(ht.read_text().replace("name: Haiti", "name: Haiti (v2)"))
    records = batch(20_000, invalid_every=10_000)
    sent = [0]
    with running_stack(
        database_url, kafka_bootstrap, unique, tmp_path, reload_interval_s="0.5"
    ) as stack:
        assert ruleset_in_use(stack) == 1
        stop = threading.Event()

        def send() -> None:  # 100 records every 50 ms until a second after the switch
            stopped_at: float | None = None
            for start in range(0, len(records), 100):
                body = b"\n".join(orjson.dumps(r) for r in records[start : start + 100])
                answer = httpx.post(
                    f"{stack.ingest_url}/v1/transfers",
                    content=body,
                    headers={"content-type": "application/x-ndjson"},
                    timeout=60,
                )
                assert answer.status_code == 202, answer.text
                sent[0] = start + 100
                if stop.is_set():
                    stopped_at = stopped_at or time.monotonic()
                    if time.monotonic() - stopped_at > 1:
                        return
                time.sleep(0.05)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            while sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0] < 300:
                time.sleep(0.1)
            loaded = ewatch(database_url, "rules", "load", str(changed), "--activate")
            assert loaded.returncode == 0, loaded.stderr
            switched_at = time.monotonic()
            while ruleset_in_use(stack) != 2:
                assert time.monotonic() - switched_at < 15, "the matcher never switched"
                time.sleep(0.1)
            seen_switch = sql(database_url, "SELECT now()")[0][0]
        finally:
            stop.set()
            sender.join(120)
        deadline = time.monotonic() + 120
        while sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0] < sent[0]:
            assert time.monotonic() < deadline, stack.logs("matcher")
            time.sleep(0.2)

    by_version = dict(
        sql(database_url, "SELECT ruleset_version, count(*) FROM screened_transfers GROUP BY 1")
    )
    assert set(by_version) == {1, 2}, by_version  # records were screened on both sides
    # None screened with the new version before any with the old one ended...
    last_old, first_new = sql(
        database_url,
        "SELECT max(screened_at) FILTER (WHERE ruleset_version = 1),"
        " min(screened_at) FILTER (WHERE ruleset_version = 2) FROM screened_transfers",
    )[0]
    assert last_old <= first_new  # type: ignore[operator]
    # ...and every record accepted after the matcher said it switched carries it (a batch
    # takes its version as it starts, after its records arrived).
    late_old = sql(
        database_url,
        "SELECT count(*) FROM screened_transfers WHERE ruleset_version = 1 AND received_at > %s",
        seen_switch,
    )
    assert late_old == [(0,)]
    mismatched = sql(
        database_url,
        "SELECT count(*) FROM findings f JOIN screened_transfers t ON t.id = f.transfer_id"
        " WHERE f.ruleset_version <> t.ruleset_version",
    )
    assert mismatched == [(0,)]

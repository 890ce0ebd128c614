"""``ewatch up`` on the embedded defaults: starts everything, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from services.stack.embedded import free_port
from tests.integration.stack import ROOT

pytestmark = pytest.mark.integration


def descendants_and_servers(proc: psutil.Process, data_dir: Path) -> list[psutil.Process]:
    found = proc.children(recursive=True)
    for p in psutil.process_iter(["cmdline"]):
        if any(str(data_dir) in part for part in p.info["cmdline"] or ()):
            found.append(p)
    return [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def wait_ok(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def test_up_serves_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = {
        "INGEST_PORT": free_port(),
        "MATCHER_PORT": free_port(),
        "EMBEDDED_KAFKA_PORT": free_port(),
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EWATCH_DATABASE_URL", "EWATCH_KAFKA_BOOTSTRAP_SERVERS")
    }
    env.update({f"EWATCH_{k}": str(v) for k, v in ports.items()})
    env["EWATCH_DATA_DIR"] = str(data_dir)
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "up"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ok(f"http://127.0.0.1:{ports['INGEST_PORT']}/readyz")
        wait_ok(f"http://127.0.0.1:{ports['MATCHER_PORT']}/healthz")
        running = descendants_and_servers(psutil.Process(up.pid), data_dir)
        assert len(running) >= 3  # ingest, matcher, broker (and postgres)
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

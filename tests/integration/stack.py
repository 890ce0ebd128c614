"""Running the real ``ewatch ingest`` and ``ewatch matcher`` processes for a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.stack.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningStack:
    ingest_url: str
    matcher_url: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    log_dir: Path

    def logs(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} process exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def start_process(name: str, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", name],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextmanager
def running_stack(
    database_url: str, bootstrap: str, suffix: str, tmp_path: Path, **overrides: str
) -> Iterator[RunningStack]:
    ingest_port, matcher_port = free_port(), free_port()
    env = {
        **os.environ,
        "EWATCH_DATABASE_URL": database_url,
        "EWATCH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EWATCH_TRANSFERS_TOPIC": f"transfers.v1.{suffix}",
        "EWATCH_MATCHER_GROUP": f"ewatch-matcher-{suffix}",
        "EWATCH_INGEST_PORT": str(ingest_port),
        "EWATCH_MATCHER_PORT": str(matcher_port),
        "EWATCH_DATA_DIR": str(tmp_path / "data"),
        "EWATCH_TOPIC_PARTITIONS": "2",
        "EWATCH_KAFKA_SESSION_TIMEOUT_S": "6",
        "EWATCH_KAFKA_REBALANCE_TIMEOUT_S": "3",
        "EWATCH_KAFKA_HEARTBEAT_INTERVAL_S": "1",
        "EWATCH_LOG_LEVEL": "info",
        **{f"EWATCH_{k.upper()}": v for k, v in overrides.items()},
    }
    log_dir = tmp_path / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    import asyncio

    from services.broker import ensure_topic

    asyncio.run(ensure_topic(bootstrap, env["EWATCH_TRANSFERS_TOPIC"], 2))
    processes = {name: start_process(name, env, log_dir) for name in ("ingest", "matcher")}
    stack = RunningStack(
        f"http://127.0.0.1:{ingest_port}",
        f"http://127.0.0.1:{matcher_port}",
        env,
        processes,
        log_dir,
    )
    try:
        _wait_http(stack.ingest_url + "/readyz", processes["ingest"], 60, log_dir / "ingest.log")
        _wait_http(
            stack.matcher_url + "/healthz", processes["matcher"], 60, log_dir / "matcher.log"
        )
        yield stack
    finally:
        for proc in processes.values():
            stop_process(proc)


def restart(stack: RunningStack, name: str, sig: int = signal.SIGKILL) -> None:
    stop_process(stack.processes[name], sig)
    stack.processes[name] = start_process(name, stack.env, stack.log_dir)
    url = stack.matcher_url if name == "matcher" else stack.ingest_url
    _wait_http(url + "/healthz", stack.processes[name], 60, stack.log_dir / f"{name}.log")

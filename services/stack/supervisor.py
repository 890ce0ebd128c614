"""``ewatch up``: the whole stack in one foreground command.

Starts (when not configured otherwise) the embedded PostgreSQL and broker,
migrates the database, creates the topic, then runs ingest and matcher as
child processes. Ctrl-C (SIGINT) or SIGTERM stops the children, then the
broker, then PostgreSQL. Children die with the supervisor even if it is
killed outright (PR_SET_PDEATHSIG), so no orphans remain.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.broker import ensure_topic, wait_for_broker
from services.settings import Settings
from services.stack.embedded import EmbeddedBroker, stop_embedded_postgres
from services.stack.runtime import database_url
from services.store.migrate import upgrade

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Stack:
    settings: Settings
    say: Callable[[str], None] = print
    broker: EmbeddedBroker | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: bool = False

    def start(self) -> None:
        s = self.settings
        db_url = database_url(s)
        where = (
            "embedded PostgreSQL in " + str(s.embedded_pg_dir)
            if not s.database_url
            else ("PostgreSQL from EWATCH_DATABASE_URL")
        )
        self.say(f"database: {where}")
        upgrade(db_url)
        self._ensure_knowledge(db_url)
        bootstrap = s.kafka_bootstrap_servers
        if bootstrap is None:
            self.broker = EmbeddedBroker(s.embedded_kafka_port, s.data_dir / "logs" / "broker.log")
            bootstrap = self.broker.start()
            self.say(
                f"kafka: embedded tansu broker on {bootstrap} (memory storage: "
                "its topics are empty after each start; findings live in PostgreSQL)"
            )
        else:
            self.say(f"kafka: {bootstrap} from EWATCH_KAFKA_BOOTSTRAP_SERVERS")
        asyncio.run(self._prepare_topic(bootstrap))
        env = {
            **os.environ,
            "EWATCH_DATABASE_URL": db_url,
            "EWATCH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        }
        log_dir = s.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        for name in ("ingest", "matcher"):
            with (log_dir / f"{name}.log").open("ab") as log_file:
                self.children[name] = subprocess.Popen(
                    [sys.executable, "-m", "services.cli.main", name],
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches us; we stop them in order
                    preexec_fn=_die_with_parent,
                )
        self.say(f"logs:         {log_dir.resolve()}/{{ingest,matcher,broker}}.log")
        self.say(
            f"ingest API:   http://{s.host}:{s.ingest_port}/v1/transfers "
            f"(metrics /metrics, health /healthz /readyz)"
        )
        self.say(f"matcher:      http://127.0.0.1:{s.matcher_port}/metrics (/healthz /readyz)")

    def _ensure_knowledge(self, db_url: str) -> None:
        from sqlalchemy.orm import Session

        from services.knowledge import ensure_defaults
        from services.store.db import sync_engine

        engine = sync_engine(db_url)
        try:
            with Session(engine) as session, session.begin():
                for line in ensure_defaults(session, self.settings.rules_dir):
                    self.say(line)
        finally:
            engine.dispose()

    async def _prepare_topic(self, bootstrap: str) -> None:
        await wait_for_broker(bootstrap)
        await ensure_topic(bootstrap, self.settings.transfers_topic, self.settings.topic_partitions)

    def wait(self) -> int:
        """Block until a signal or a child's exit; return the exit code for the CLI."""
        while not self.stopping:
            for name, proc in self.children.items():
                code = proc.poll()
                if code is not None:
                    log_path = self.settings.data_dir / "logs" / f"{name}.log"
                    self.say(f"{name} exited with code {code} (see {log_path}); stopping the stack")
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        self.stopping = True
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.children.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.broker is not None:
            self.broker.stop()
        stop_embedded_postgres()


def run(settings: Settings, say: Callable[[str], None] = print) -> int:
    stack = Stack(settings, say)

    def on_signal(signum: int, frame: object) -> None:
        stack.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        code = stack.wait()
    finally:
        say("stopping…")
        stack.stop()
        say("stopped")
    return code

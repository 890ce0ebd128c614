"""``ewatch up``: the whole stack in one foreground command.

Starts (when not configured otherwise) the embedded PostgreSQL and broker,
migrates the database, creates the topic, then runs ingest, matcher and the review
workspace as child processes. Ctrl-C (SIGINT) or SIGTERM stops ingest first, so nothing new
is accepted; with the embedded broker, whose memory storage loses what it
holds, it then waits until the ledger of accepted records has nothing pending (a
second Ctrl-C, or ``EWATCH_DRAIN_TIMEOUT_S``, cuts the wait short). The wait is a
courtesy, not the guarantee: what is still pending stays in the ledger and the
matcher's reconciler publishes it again after the next start. Then it stops the
matcher, the broker and PostgreSQL. Children and the broker die with the
supervisor even if it is killed outright (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.broker import ensure_topic, wait_for_broker
from services.knowledge import ensure_defaults
from services.settings import Settings
from services.stack.embedded import EmbeddedBroker, die_with_parent, stop_embedded_postgres
from services.stack.runtime import database_url
from services.store import ledger
from services.store.db import sync_engine
from services.store.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class Stack:
    settings: Settings
    say: Callable[[str], None] = print
    broker: EmbeddedBroker | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    bootstrap: str | None = None
    db_url: str | None = None
    #: Ctrl-C / SIGTERM received: the first stops the stack, a second cuts the drain short.
    signals: int = 0

    @property
    def stopping(self) -> bool:
        return self.signals > 0

    def start(self) -> None:
        s = self.settings
        db_url = self.db_url = database_url(s)
        where = (
            "embedded PostgreSQL in " + str(s.embedded_pg_dir)
            if not s.database_url
            else ("PostgreSQL from EWATCH_DATABASE_URL")
        )
        self.say(f"database: {where}")
        upgrade(db_url)
        self._ensure_knowledge(db_url)
        if self.stopping:
            return  # Ctrl-C while starting: start nothing more
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
        self.bootstrap = bootstrap
        asyncio.run(self._prepare_topic(bootstrap))
        if self.stopping:
            return
        log_dir = s.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "EWATCH_DATABASE_URL": db_url,
            "EWATCH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "EWATCH_DATA_DIR": str(s.data_dir.resolve()),
        }
        for name in ("ingest", "matcher", "review"):
            with (log_dir / f"{name}.log").open("ab") as log_file:
                self.children[name] = subprocess.Popen(
                    [sys.executable, "-m", "services.cli.main", name],
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches us; we stop them in order
                    preexec_fn=die_with_parent,
                )
        self.say(f"logs:         {log_dir.resolve()}/{{ingest,matcher,review,broker}}.log")
        self.say(
            f"ingest API:   http://{s.host}:{s.ingest_port}/v1/transfers "
            f"(metrics /metrics, health /healthz /readyz)"
        )
        self.say(f"matcher:      http://127.0.0.1:{s.matcher_port}/metrics (/healthz /readyz)")
        self.say(
            f"review:       http://{s.host}:{s.review_port}/ (sign in: `ewatch users add`; "
            "API /api/v1, metrics /metrics)"
        )

    def _ensure_knowledge(self, db_url: str) -> None:
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
        """Block until a signal or a process's exit; return the exit code for the CLI."""
        while not self.stopping:
            processes = dict(self.children)
            if self.broker is not None and self.broker.process is not None:
                processes["broker"] = self.broker.process
            for name, proc in processes.items():
                code = proc.poll()
                if code is not None:
                    log_path = self.settings.data_dir / "logs" / f"{name}.log"
                    self.say(f"{name} exited with code {code} (see {log_path}); stopping the stack")
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        self.signals = max(self.signals, 1)
        ingest = self.children.get("ingest")
        _terminate([ingest] if ingest else [])  # first: accept nothing more
        if self.broker is not None:
            self._drain()
        _terminate(list(self.children.values()))
        if self.broker is not None:
            self.broker.stop()
        stop_embedded_postgres()

    def _drain(self) -> None:
        """Wait until the ledger has nothing pending: the embedded broker's memory storage
        loses what it holds once it stops, and the next start would publish it again."""
        matcher = self.children.get("matcher")
        if matcher is None or self.db_url is None:
            return
        deadline = time.monotonic() + self.settings.drain_timeout_s
        told, pending = -1, None
        while True:
            try:
                pending = pending_records(self.db_url)
            except SQLAlchemyError as exc:
                self.say(f"could not count the pending records: {str(exc).splitlines()[0]}")
                pending = None
            if pending == 0:
                return
            if (
                pending is None
                or matcher.poll() is not None
                or self.signals > 1
                or time.monotonic() > deadline
            ):
                break
            if pending != told:
                self.say(
                    f"waiting for the matcher to screen {pending} accepted record(s); "
                    "Ctrl-C again to stop now"
                )
                told = pending
            time.sleep(0.5)
        if pending:
            self.say(
                f"{pending} accepted record(s) not screened yet stay in the ledger; the matcher "
                "publishes them again after the next start"
            )


def pending_records(db_url: str) -> int:
    """Accepted records the matcher has not settled, from the ledger."""
    engine = sync_engine(db_url)
    try:
        with Session(engine) as session:
            return sum(p.records for p in ledger.pending_sync(session))
    finally:
        engine.dispose()


def _terminate(processes: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM each, then wait; SIGKILL what is still running after ``grace`` seconds."""
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in processes:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(settings: Settings, say: Callable[[str], None] = print) -> int:
    def tell(line: str) -> None:
        with contextlib.suppress(OSError):  # the terminal is gone (SIGHUP): stop all the same
            say(line)

    stack = Stack(settings, tell)

    def on_signal(signum: int, frame: object) -> None:
        stack.signals += 1

    # A closed terminal (SIGHUP) stops the stack as Ctrl-C does, drain included.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        stack.start()
        code = stack.wait()
    finally:
        tell("stopping…")
        stack.stop()
        tell("stopped")
    return code

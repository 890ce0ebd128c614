"""``ewatch up``: the whole stack in one foreground command.

Starts (when not configured otherwise) the embedded PostgreSQL and broker,
migrates the database, creates the topic, then runs ingest and matcher as
child processes. Ctrl-C (SIGINT) or SIGTERM stops ingest first, so nothing new
is accepted; with the embedded broker, whose memory storage loses what it
holds, it then waits for the matcher to screen every accepted record (a second
Ctrl-C, or ``EWATCH_DRAIN_TIMEOUT_S``, cuts the wait short and says how many are
lost); then it stops the matcher, the broker and PostgreSQL. Children and the
broker die with the supervisor even if it is killed outright (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from aiokafka.errors import KafkaError

from services.broker import ensure_topic, topic_backlog, wait_for_broker
from services.progress import PROGRESS_PATH, IngestProgress, MatcherProgress
from services.settings import Settings
from services.stack.embedded import EmbeddedBroker, die_with_parent, stop_embedded_postgres
from services.stack.runtime import database_url
from services.store.migrate import upgrade

log = logging.getLogger(__name__)


@dataclass
class Stack:
    settings: Settings
    say: Callable[[str], None] = print
    broker: EmbeddedBroker | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    bootstrap: str | None = None
    #: Ctrl-C / SIGTERM received: the first stops the stack, a second cuts the drain short.
    signals: int = 0

    @property
    def stopping(self) -> bool:
        return self.signals > 0

    def _published(self) -> int | None:
        """How many records ingest published in this run (the broker starts empty), from
        what it left as it stopped; None if it left nothing readable."""
        try:
            return IngestProgress.left_in(self.settings.data_dir).records
        except (OSError, ValueError):
            return None

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
        # A previous run's count must not stand for this one's.
        IngestProgress.path(s.data_dir).unlink(missing_ok=True)
        env = {
            **os.environ,
            "EWATCH_DATABASE_URL": db_url,
            "EWATCH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "EWATCH_DATA_DIR": str(s.data_dir.resolve()),  # where ingest leaves its progress
        }
        for name in ("ingest", "matcher"):
            with (log_dir / f"{name}.log").open("ab") as log_file:
                self.children[name] = subprocess.Popen(
                    [sys.executable, "-m", "services.cli.main", name],
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches us; we stop them in order
                    preexec_fn=die_with_parent,
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
            self._drain(self._published())
        _terminate(list(self.children.values()))
        if self.broker is not None:
            self.broker.stop()
        stop_embedded_postgres()

    def _drain(self, published: int | None = None) -> None:
        """Wait until the matcher has screened (or rejected) every message the embedded
        broker holds: its memory storage loses them all once it stops.

        Both the consumer group's committed offsets and the matcher's own count must say
        so: Faust can commit past a message it has not handled, or handle one twice after a
        rebalance (see docs/architecture.md). The topic starts empty with this broker, so its
        size is what ingest accepted in this run; ``published`` (what ingest says it
        published, see :meth:`_published`) is the exact figure where the broker's own end
        offsets fall short.
        """
        matcher = self.children.get("matcher")
        broker = self.broker.process if self.broker is not None else None
        if matcher is None or self.bootstrap is None or broker is None:
            return
        if broker.poll() is not None:
            self.say(_LOST_UNKNOWN.format(why="the embedded broker had already stopped"))
            return
        deadline = time.monotonic() + self.settings.drain_timeout_s
        told = -1
        unscreened: int | None = None  # the last counts we could take
        uncommitted: int | None = None
        trouble: str | None = None
        while True:
            try:
                held, uncommitted = asyncio.run(
                    asyncio.wait_for(
                        topic_backlog(
                            self.bootstrap,
                            self.settings.transfers_topic,
                            self.settings.matcher_group,
                        ),
                        _LOOKUP_S,
                    )
                )
                # tansu's end offsets can fall short of what it acknowledged (seen: 1,454 for
                # 1,500 records, all of which the matcher received): ingest's count is exact.
                held = max(held, published or 0)
                if matcher.poll() is None:  # a dead matcher has no count: its commits tell
                    unscreened = held - matcher_progress(self.settings).handled
                trouble = None
            except (KafkaError, OSError, ValueError, httpx.HTTPError) as exc:
                trouble = str(exc) or type(exc).__name__  # a hiccup: ask again
            else:
                settled = unscreened is not None and unscreened <= 0 and uncommitted == 0
                if settled and matcher.poll() is None:
                    return
            if matcher.poll() is not None or self.signals > 1 or time.monotonic() > deadline:
                lost = max(unscreened or 0, uncommitted or 0)
                if unscreened is None and uncommitted is None:
                    self.say(_LOST_UNKNOWN.format(why=f"could not count them: {trouble}"))
                elif lost > 0:
                    self.say(
                        f"{lost} accepted record(s) not screened yet are lost with the "
                        "embedded broker's memory storage; send them again after the next start"
                    )
                return
            if unscreened is not None and unscreened > 0 and unscreened != told:
                self.say(
                    f"waiting for the matcher to screen {unscreened} accepted record(s); "
                    "Ctrl-C again to stop now"
                )
                told = unscreened
            time.sleep(0.5)


_LOST_UNKNOWN = (
    "accepted records not screened yet, if any, are lost with the embedded broker's memory "
    "storage ({why})"
)


def _reachable(host: str) -> str:
    """Where to reach a server listening on ``host``: loopback for "every interface",
    IPv6 literals in brackets."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "127.0.0.1"  # a host name
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{address}]" if address.version == 6 else str(address)


#: The longest one look-up of the topic or the matcher's count may take while stopping.
_LOOKUP_S = 10.0


def matcher_progress(settings: Settings) -> MatcherProgress:
    """What the running matcher says it has handled, from its ``GET /progress``."""
    url = f"http://{_reachable(settings.host)}:{settings.matcher_port}{PROGRESS_PATH}"
    return MatcherProgress.from_json(httpx.get(url, timeout=5).raise_for_status().content)


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

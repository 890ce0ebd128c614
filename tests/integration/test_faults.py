"""Nothing accepted is ever lost, whatever dies (issue 13).

Each of the four fault tests pushes 20,000 records through HTTP as an integrator would
(NDJSON requests of 1,000; one answered 503, or not at all, is sent again), lets its fault
land mid-stream at the moment that puts the guarantee to the test — right after a request
was accepted, between a matcher's store and its offset commit, between ingest's publish and
its commit — and then checks in PostgreSQL that every accepted record was screened exactly
once: one transfer per accepted record, nothing pending in the ledger, nothing rejected,
and each record's findings those a fresh in-process screening of it yields. Each proves it
tested something: the ledger held pending records when the fault landed, and records were
delivered again (screened twice, or published again from the ledger) without a finding
too many.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services import knowledge
from services.broker import Envelope, ensure_topic, make_producer
from services.core import rules
from services.core.context import Context
from services.core.patterns import (
    PATTERNS,
    Family,
    Pattern,
    PatternRules,
    TransferFacts,
    detect,
    facts_of,
)
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.settings import Settings
from services.stack.embedded import (
    EmbeddedBroker,
    embedded_postgres_url,
    free_port,
    stop_embedded_postgres,
)
from services.store.migrate import upgrade
from tests.conftest import _plain, sql
from tests.integration.faulty_matcher import CRASHING
from tests.integration.stack import (
    RunningStack,
    ndjson,
    running_stack,
    stack_env,
    start_postgres,
    start_process,
    start_up,
    stop_postgres,
    stop_process,
    wait_for,
    wait_http,
)
from tests.records import batch, end_user, record

pytestmark = pytest.mark.integration

RECORDS = 20_000
PER_REQUEST = 1_000
#: The faults land once this many records are accepted and the matcher has screened 1,000.
FAULT_AFTER = 8_000
INTEGRATOR = "faults"
#: The reconciler publishes again what stayed unsettled 3 s, looking every second, once the
#: group has at most 200 messages left to read: less than a second's work, as the defaults'
#: 1,000 are next to their 30 s, so what merely waits in the backlog is not sent twice. The
#: consumer group forms and re-forms within a few seconds on the embedded broker.
FAST = {
    "republish_after_s": "3",
    "reconcile_interval_s": "1",
    "reconcile_max_lag": "200",
    "kafka_session_timeout_s": "6",
    "kafka_rebalance_timeout_s": "3",
    "kafka_heartbeat_interval_s": "1",
}


class Sender(threading.Thread):
    """One integrator posting NDJSON requests one after the other, as a real one would: a
    request answered 503, or not answered at all (the stack is down), is sent again until
    it is accepted."""

    def __init__(self, url: str, records: Sequence[dict[str, Any]], timeout: float = 300):
        super().__init__(daemon=True)
        self.url = f"{url}/v1/transfers"
        self.records = records
        self.timeout = timeout
        self.accepted: set[str] = set()
        self.unavailable = 0  # answers 503
        self.unanswered = 0  # requests that got no answer
        #: The request being sent (its index), and the requests ever answered 503.
        self.sending = -1
        self.answered_503: set[int] = set()
        self.failure: BaseException | None = None
        self._progress = threading.Condition()
        #: Past FAULT_AFTER records it waits for this, so the fault lands mid-stream however
        #: fast ingest runs ahead of a matcher still starting (set by :func:`mid_stream`).
        self.go_on = threading.Event()

    def run(self) -> None:
        try:
            for start in range(0, len(self.records), PER_REQUEST):
                if start >= FAULT_AFTER:
                    self.go_on.wait(self.timeout)
                self.sending = start // PER_REQUEST
                self._send(self.records[start : start + PER_REQUEST])
        except BaseException as exc:
            self.failure = exc
        finally:
            with self._progress:
                self._progress.notify_all()

    def _send(self, chunk: Sequence[dict[str, Any]]) -> None:
        body, deadline = ndjson(chunk), time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                answer = httpx.post(
                    self.url,
                    content=body,
                    headers={
                        "content-type": "application/x-ndjson",
                        "x-ewatch-integrator": INTEGRATOR,
                    },
                    timeout=60,
                )
            except httpx.TransportError:
                self.unanswered += 1
                time.sleep(0.3)
                continue
            if answer.status_code == 503:
                self.unavailable += 1
                self.answered_503.add(self.sending)
                time.sleep(0.3)
                continue
            assert answer.status_code == 202, answer.text[:1000]
            with self._progress:
                self.accepted.update(r["record_id"] for r in chunk)
                self._progress.notify_all()
            return
        raise AssertionError(f"a request was not accepted within {self.timeout}s")

    def wait_accepted(self, count: int, timeout: float = 180) -> None:
        with self._progress:
            self._progress.wait_for(
                lambda: len(self.accepted) >= count or not self.is_alive(), timeout
            )
        if len(self.accepted) < count:
            raise AssertionError(f"{len(self.accepted)} accepted, not {count}: {self.failure!r}")

    def finish(self, timeout: float = 300) -> set[str]:
        self.join(timeout)
        assert not self.is_alive(), "the sender is still sending"
        if self.failure is not None:
            raise self.failure
        return self.accepted


def pending(url: str) -> int:
    rows = sql(url, "SELECT count(*) FROM accepted_records WHERE settled_at IS NULL")
    return int(rows[0][0])  # type: ignore[call-overload]


def screened(url: str) -> int:
    return int(sql(url, "SELECT count(*) FROM screened_transfers")[0][0])  # type: ignore[call-overload]


def metric(base_url: str, name: str) -> float:
    """A metric without labels from a process's /metrics."""
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{base_url}/metrics has no {name}")


def mid_stream(sender: Sender, url: str) -> None:
    """Returns once the sender is well into its records and the matcher well into the
    stream (they go on)."""
    sender.wait_accepted(FAULT_AFTER)
    wait_for(lambda: screened(url) >= 1_000, 120, "the matcher well into the stream")
    sender.go_on.set()


def in_request(records: Sequence[dict[str, Any]], index: int) -> list[str]:
    return [r["record_id"] for r in records[index * PER_REQUEST : (index + 1) * PER_REQUEST]]


def screened_twice(url: str, record_ids: Sequence[str]) -> int:
    rows = sql(
        url,
        "SELECT count(*) FROM screened_transfers WHERE record_id = ANY(%s) AND times_screened > 1",
        list(record_ids),
    )
    return int(rows[0][0])  # type: ignore[call-overload]


@contextmanager
def committed_offsets(
    bootstrap: str, topic: str, group: str
) -> Iterator[Callable[[], dict[int, int]]]:
    """A reader of the offsets consumer group ``group`` has committed on ``topic``, per
    partition, as the matchers commit them (a consumer that never joins the group)."""

    async def start() -> AIOKafkaConsumer:  # aiokafka binds to the loop it is made in
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        return consumer

    loop = asyncio.new_event_loop()
    consumer = loop.run_until_complete(start())

    async def read() -> dict[int, int]:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        return {p: (await consumer.committed(TopicPartition(topic, p))) or 0 for p in partitions}

    try:
        yield lambda: loop.run_until_complete(read())
    finally:
        loop.run_until_complete(consumer.stop())
        loop.close()


def stored_uncommitted(url: str, committed: dict[int, int]) -> int:
    """Records stored from these partitions at or past their committed offsets: Kafka
    delivers them again to whoever reads the partition next."""
    if not committed:
        return 0
    offsets = ", ".join(f"({int(p)}, {int(o)})" for p, o in committed.items())
    rows = sql(
        url,
        f"SELECT count(*) FROM screened_transfers s JOIN (VALUES {offsets}) AS c(p, o) "
        "ON s.kafka_partition = c.p AND s.kafka_offset >= c.o",
    )
    return int(rows[0][0])  # type: ignore[call-overload]


def kill_between_store_and_commit(
    proc: subprocess.Popen[bytes],
    url: str,
    committed: Callable[[], dict[int, int]],
    partitions: set[int] | None = None,
    timeout: float = 60,
) -> int:
    """SIGKILL ``proc``, a matcher reading ``partitions`` (default: all), right after it
    stored a batch whose offsets it has not committed yet (Faust commits every second).

    What is stored is read first and the committed offsets last, then the kill follows at
    once, so only a commit within those few milliseconds can slip in between. Returns how
    many stored records Kafka must deliver again, counted once the matcher is dead: 0 only
    if one did."""

    def mine() -> dict[int, int]:
        return {p: o for p, o in committed().items() if partitions is None or p in partitions}

    deadline = time.monotonic() + timeout
    while True:
        stored_ends = dict(
            sql(
                url,
                "SELECT kafka_partition, max(kafka_offset) + 1 FROM screened_transfers GROUP BY 1",
            )
        )
        if any(stored_ends.get(p, 0) > o for p, o in mine().items()):  # type: ignore[operator]
            stop_process(proc, signal.SIGKILL)
            return stored_uncommitted(url, mine())
        assert time.monotonic() < deadline, "the matcher never had a batch stored uncommitted"
        time.sleep(0.02)


def assignments(log: Path) -> list[set[int]]:
    """The partitions a matcher was assigned, one set per assignment, as aiokafka logs them."""
    return [
        {int(p) for p in re.findall(r"partition=(\d+)", line)}
        for line in log.read_text(errors="replace").splitlines()
        if "Setting newly assigned partitions" in line
    ]


def assigned(log: Path) -> set[int]:
    """The partitions a matcher was last assigned."""
    return (assignments(log) or [set()])[-1]


#: Ingest has written a request's ledger rows (its own INSERT, not the matcher's, which
#: also names settled_at and outcome) and waits for Kafka to acknowledge the records before
#: it commits; caught within 10 ms of that, while the publish takes tens of milliseconds.
INGEST_BETWEEN_PUBLISH_AND_COMMIT = """
SELECT count(*) FILTER (
           WHERE state = 'idle in transaction'
           AND query LIKE 'INSERT INTO accepted_records (integrator, record_id, record, '
                          || 'record_sha256, received_at) VALUES%%'
           AND clock_timestamp() - state_change < interval '10 milliseconds'),
       (SELECT count(*) FROM accepted_records WHERE settled_at IS NULL)
FROM pg_stat_activity
"""


def stop_postgres_while_ingest_commits(url: str, pgdata: Path, timeout: float = 120) -> int:
    """Stop PostgreSQL the moment ingest has written a request's ledger rows and is waiting
    for Kafka before it commits: the records reach Kafka, the commit fails, the request is
    answered 503 and sent again. Returns the records pending in the ledger then.

    The fast shutdown ``pg_ctl stop -m fast`` asks for is sent straight to the postmaster
    (SIGINT), as pg_ctl would, without the milliseconds pg_ctl takes to start."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        while True:
            ((caught, pending_now),) = conn.execute(INGEST_BETWEEN_PUBLISH_AND_COMMIT).fetchall()
            if caught:
                postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
                os.kill(postmaster, signal.SIGINT)
                break
            assert time.monotonic() < deadline, "ingest was never caught before its commit"
            time.sleep(0.002)
    wait_for(lambda: not (pgdata / "postmaster.pid").exists(), 60, "PostgreSQL stopped")
    return int(pending_now)


@pytest.fixture(scope="module")
def shipped() -> Context:
    """What the stacks screen with: the shipped rules (which every stack loads into its
    empty database as version 1), list and annex."""
    ruleset = rules.load_directory(None, version=1)
    return knowledge.context_for(ruleset, knowledge.read_list(), knowledge.read_annex())


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """batch()'s records, each to one of 500 end users (40 apiece, on one date each); those
    of 20 of them in lots of 10 pistols, so that some make split shipments."""
    out = []
    for i, rec in enumerate(batch(RECORDS, invalid_every=RECORDS + 1)):
        rec = end_user(rec, name=f"Caribbean Import Services {i % 500:03d} SA")
        if i % 500 < 20:
            rec["items"][0]["quantity"] = 10
        out.append(rec)
    return out


#: The rule ids of findings on sets of transfers, which the matcher decides again as the
#: sets grow: those superseded on the way are history, not duplicates.
PATTERN_RULES = tuple(f"indicator.{p.value}" for p in Pattern)


def expected_findings(context: Context, records: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Each record's finding keys as a fresh in-process screening yields them — its own
    (a record's do not depend on its id, so each distinct content is screened once), and
    those of the patterns it holds among all ``records``."""
    by_content: dict[bytes, list[str]] = {}
    expected: dict[str, list[str]] = {}
    related: dict[tuple[Family, str], list[TransferFacts]] = {}
    for r in records:
        content = orjson.dumps({**r, "record_id": ""}, option=orjson.OPT_SORT_KEYS)
        transfer = parse_transfer(r)
        if content not in by_content:
            by_content[content] = [f.key for f in screen(transfer, context)]
        expected[r["record_id"]] = list(by_content[content])
        facts = facts_of(transfer, INTEGRATOR, context.ruleset)
        for key in facts.lookup_keys():
            related.setdefault(key, []).append(facts)
    pattern_rules = PatternRules.from_settings(Settings())
    for (family, key), transfers in related.items():
        for pattern in PATTERNS[family]:
            for found in detect(pattern, key, transfers, pattern_rules):
                expected[found.holder.record_id].append(found.key)
    return {record_id: sorted(keys) for record_id, keys in expected.items()}


@dataclass(frozen=True)
class Deliveries:
    #: Transfers screened more than once (delivered again by Kafka or the reconciler).
    screened_again: int
    #: Ledger rows published more than once (by the reconciler, or a re-sent request).
    published_again: int


def assert_screened_exactly_once(
    url: str, accepted: set[str], expected: dict[str, list[str]]
) -> Deliveries:
    """Every accepted record is screened once, with the findings a fresh screening yields;
    the ledger has nothing pending and nothing was rejected."""
    assert len(accepted) == RECORDS
    ((rows, unsettled, settled_screened, published_again),) = sql(
        url,
        "SELECT count(*), count(*) FILTER (WHERE settled_at IS NULL), "
        "count(*) FILTER (WHERE outcome = 'screened'), "
        "count(*) FILTER (WHERE times_published > 1) "
        "FROM accepted_records WHERE integrator = %s",
        INTEGRATOR,
    )
    assert (rows, unsettled, settled_screened) == (RECORDS, 0, RECORDS)
    transfers = dict(
        sql(
            url,
            "SELECT record_id, times_screened FROM screened_transfers WHERE integrator = %s",
            INTEGRATOR,
        )
    )
    missing, extra = accepted - transfers.keys(), transfers.keys() - accepted
    assert not missing, f"{len(missing)} accepted records never screened: {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} screened records never accepted: {sorted(extra)[:5]}"
    stored = {
        record_id: list(keys)  # type: ignore[call-overload]
        for record_id, keys in sql(
            url,
            "SELECT t.record_id, array_agg(f.finding_key ORDER BY f.finding_key) "
            "FROM screened_transfers t JOIN findings f ON f.transfer_id = t.id "
            "WHERE t.integrator = %s AND f.superseded_at IS NULL GROUP BY t.record_id",
            INTEGRATOR,
        )
    }
    wrong = sorted(r for r in accepted if stored.get(r, []) != expected[r])
    assert not wrong, f"{len(wrong)} records' findings differ from a fresh screening: {wrong[:5]}"
    superseded = sql(
        url,
        "SELECT count(*) FROM findings WHERE superseded_at IS NOT NULL AND rule_id <> ALL(%s)",
        list(PATTERN_RULES),
    )
    assert superseded == [(0,)]  # a record's own findings are never superseded by a redelivery
    assert sql(url, "SELECT count(*) FROM rejected_records") == [(0,)]
    return Deliveries(
        sum(1 for n in transfers.values() if int(n) > 1),  # type: ignore[call-overload]
        int(published_again),  # type: ignore[call-overload]
    )


def report(test: str, **figures: object) -> None:
    print(f"\n{test}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


@pytest.fixture
def own_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory for an embedded PostgreSQL of the test's own, outside pytest's basetemp
    (see conftest: another pytest session may lock the server's user out of it). The
    server, which outlives a killed ``ewatch up`` and is not stopped by the package once
    restarted behind its back, is stopped afterwards."""
    root = Path(tempfile.mkdtemp(prefix="ewatch-faults-"))
    yield root
    for pgdata in (root / "data" / "postgres", root / "pg"):
        if (pgdata / "PG_VERSION").exists():
            embedded_postgres_url(pgdata)  # drops the handles of killed processes
            stop_embedded_postgres(pgdata)  # not the session's test database
            stop_postgres(pgdata)
    if (root / "data" / "logs").exists():  # the stack's logs stay with the test's
        shutil.copytree(root / "data" / "logs", tmp_path / "logs", dirs_exist_ok=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def up_data(own_dir: Path) -> Path:
    """The data directory of a test's ``ewatch up`` runs."""
    return own_dir / "data"


def kill_everything(up: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``ewatch up`` and every process it started (broker, ingest, matcher) at once:
    no handler runs, and the embedded broker loses everything it holds. The embedded
    PostgreSQL, which ``pg_ctl`` started outside the tree, lives on."""
    processes = [*psutil.Process(up.pid).children(recursive=True), psutil.Process(up.pid)]
    for p in processes:
        p.kill()
    up.wait(10)
    _, alive = psutil.wait_procs(processes, timeout=15)
    assert alive == []


def stop_cleanly(up: subprocess.Popen[bytes]) -> None:
    up.send_signal(signal.SIGINT)
    assert up.wait(120) == 0


def test_1_killing_the_whole_stack_mid_stream_loses_nothing(
    up_data: Path, tmp_path: Path, shipped: Context, records: list[dict[str, Any]]
) -> None:
    """``ewatch up`` and all it started SIGKILLed right after a request was accepted, then
    ``ewatch up`` again on the same data directory: the new broker is empty, and what the
    old one held comes back from the ledger."""
    started = time.monotonic()
    up, ports = start_up(up_data, log=tmp_path / "up.log", **FAST)
    up2 = None
    try:
        url = embedded_postgres_url(up_data / "postgres")
        sender = Sender(f"http://127.0.0.1:{ports['INGEST_PORT']}", records)
        sender.start()
        mid_stream(sender, url)
        sender.wait_accepted(len(sender.accepted) + 1)  # its records cannot all be screened
        kill_everything(up)
        pending_at_fault = pending(url)  # exact: nothing runs that could settle one
        assert pending_at_fault > 0
        screened_at_fault = screened(url)

        # The same ports for ingest (the integrator keeps sending there); a new broker port,
        # as the killed broker's may linger in TIME_WAIT.
        again = {**ports, "EMBEDDED_KAFKA_PORT": free_port()}
        up2, _ = start_up(up_data, ports=again, log=tmp_path / "up.log", **FAST)
        accepted = sender.finish()
        wait_for(lambda: pending(url) == 0, 300, "every accepted record settled")
        matcher = f"http://127.0.0.1:{ports['MATCHER_PORT']}"
        republished = metric(matcher, "ewatch_matcher_records_republished_total")
        stop_cleanly(up2)

        deliveries = assert_screened_exactly_once(
            url, accepted, expected_findings(shipped, records)
        )
        # What the dead broker held came back from the ledger: published again, once.
        assert republished > 0
        assert deliveries.published_again > 0
        report(
            "kill -9 of ewatch up",
            pending_at_fault=pending_at_fault,
            screened_at_fault=screened_at_fault,
            republished_after_restart=republished,
            deliveries=deliveries,
            unanswered_requests=sender.unanswered,
            seconds=round(time.monotonic() - started),
        )
    finally:
        for proc in (up, up2):
            if proc is not None and proc.poll() is None:
                proc.kill()


def test_2_killing_the_matcher_mid_stream_loses_nothing(
    database_url: str,
    kafka_bootstrap: str,
    unique: str,
    tmp_path: Path,
    shipped: Context,
    records: list[dict[str, Any]],
) -> None:
    """Ingest and matcher processes on the session's broker and a database of the test's
    own. The matcher is SIGKILLed after storing a batch and before committing its offsets,
    and started again by the test, as a process supervisor would (``ewatch up`` stops the
    whole stack when a child dies): Kafka delivers that batch again."""
    started = time.monotonic()
    with (
        running_stack(database_url, kafka_bootstrap, unique, tmp_path, **FAST) as stack,
        committed_offsets(
            kafka_bootstrap, stack.env["EWATCH_TRANSFERS_TOPIC"], stack.env["EWATCH_MATCHER_GROUP"]
        ) as committed,
    ):
        sender = Sender(stack.ingest_url, records)
        sender.start()
        mid_stream(sender, database_url)
        kills = uncommitted = 0
        while not uncommitted and kills < 3:  # a commit may slip in between look and kill
            kills += 1
            uncommitted = kill_between_store_and_commit(
                stack.processes["matcher"], database_url, committed
            )
            pending_at_fault = pending(database_url)
            restart_matcher(stack)
        assert pending_at_fault > 0
        assert uncommitted > 0
        accepted = sender.finish()
        wait_for(lambda: pending(database_url) == 0, 300, "every accepted record settled")
        republished = metric(stack.matcher_url, "ewatch_matcher_records_republished_total")

    deliveries = assert_screened_exactly_once(
        database_url, accepted, expected_findings(shipped, records)
    )
    assert deliveries.screened_again >= uncommitted  # delivered again, no finding twice
    report(
        "kill -9 of the matcher",
        pending_at_fault=pending_at_fault,
        stored_uncommitted_at_fault=uncommitted,
        kills=kills,
        republished_after_restart=republished,
        deliveries=deliveries,
        seconds=round(time.monotonic() - started),
    )


def restart_matcher(stack: RunningStack, name: str = "matcher") -> None:
    stack.processes[name] = start_process(name, stack.env, stack.log_dir)
    log = stack.log_dir / f"{name}.log"
    wait_http(f"{stack.matcher_url}/healthz", stack.processes[name], 60, log)


def test_3_stopping_postgresql_for_10_s_mid_stream_loses_nothing(
    up_data: Path, tmp_path: Path, shipped: Context, records: list[dict[str, Any]]
) -> None:
    """``ewatch up`` on its embedded PostgreSQL, which the test stops (fast shutdown) while
    ingest is between publishing a request and committing its ledger rows, and starts again
    10 s later on the same data directory and socket."""
    started = time.monotonic()
    up, ports = start_up(up_data, log=tmp_path / "up.log", **FAST)
    try:
        pgdata = up_data / "postgres"
        url = embedded_postgres_url(pgdata)
        sender = Sender(f"http://127.0.0.1:{ports['INGEST_PORT']}", records)
        sender.start()
        mid_stream(sender, url)
        pending_at_fault = stop_postgres_while_ingest_commits(url, pgdata)
        in_flight = sender.sending
        time.sleep(10)
        start_postgres(pgdata, url)
        assert pending_at_fault > 0
        accepted = sender.finish()
        wait_for(lambda: pending(url) == 0, 300, "every accepted record settled")
        matcher = f"http://127.0.0.1:{ports['MATCHER_PORT']}"
        retries = metric(matcher, "ewatch_matcher_store_retries_total")
        republished = metric(matcher, "ewatch_matcher_records_republished_total")
        stop_cleanly(up)
    finally:
        if up.poll() is None:
            up.kill()

    deliveries = assert_screened_exactly_once(url, accepted, expected_findings(shipped, records))
    assert sender.unavailable > 0  # ingest said 503 for what it could not make durable
    assert retries > 0  # the matcher waited for PostgreSQL instead of losing its batch
    # The request caught between publish and commit was answered 503, yet its records were
    # on Kafka: screened from there, and again when the integrator sent it again (a record
    # whose two copies fall in one batch is stored once: the last delivery wins).
    assert in_flight in sender.answered_503
    twice = screened_twice(url, in_request(records, in_flight))
    assert twice > 0
    report(
        "PostgreSQL stopped for 10 s",
        pending_at_fault=pending_at_fault,
        answered_503=sender.unavailable,
        caught_request_screened_twice=twice,
        store_retries=retries,
        republished=republished,
        deliveries=deliveries,
        seconds=round(time.monotonic() - started),
    )


def test_4_a_killed_worker_s_partitions_move_to_the_other_and_nothing_is_lost(
    database_url: str,
    kafka_bootstrap: str,
    unique: str,
    tmp_path: Path,
    shipped: Context,
    records: list[dict[str, Any]],
) -> None:
    """Two ``ewatch matcher`` workers in one group on a topic of four partitions; the second
    is SIGKILLed after storing a batch and before committing its offsets."""
    started = time.monotonic()
    with running_stack(
        database_url, kafka_bootstrap, unique, tmp_path, topic_partitions="4", **FAST
    ) as stack:
        second = {
            **stack.env,
            "EWATCH_MATCHER_PORT": str(free_port()),
            "EWATCH_DATA_DIR": str(tmp_path / "data-2"),
        }
        argv = ("-m", "services.cli.main", "matcher")
        stack.processes["matcher-2"] = start_process("matcher-2", second, stack.log_dir, argv)
        logs = [stack.log_dir / "matcher.log", stack.log_dir / "matcher-2.log"]
        wait_for(
            lambda: (
                all(assigned(log) for log in logs)
                and assigned(logs[0]) | assigned(logs[1]) == {0, 1, 2, 3}
            ),
            120,
            "both workers assigned partitions",
        )
        sender = Sender(stack.ingest_url, records)
        sender.start()
        mid_stream(sender, database_url)
        with committed_offsets(
            kafka_bootstrap, stack.env["EWATCH_TRANSFERS_TOPIC"], stack.env["EWATCH_MATCHER_GROUP"]
        ) as committed:
            kills = 0
            while True:  # a commit may slip in between the look and the kill
                kills += 1
                victim = assigned(logs[1])
                uncommitted = kill_between_store_and_commit(
                    stack.processes["matcher-2"], database_url, committed, victim
                )
                if uncommitted or kills == 3:
                    break
                seen = len(assignments(logs[1]))
                stack.processes["matcher-2"] = start_process(
                    "matcher-2", second, stack.log_dir, argv
                )
                wait_for(
                    lambda: len(assignments(logs[1])) > seen and assigned(logs[1]),  # noqa: B023
                    120,
                    "the second worker back in the group",
                )
        ((fault_at,),) = sql(database_url, "SELECT now()")
        pending_at_fault = pending(database_url)
        assert pending_at_fault > 0
        assert uncommitted > 0
        accepted = sender.finish()
        wait_for(lambda: pending(database_url) == 0, 300, "every accepted record settled")
        republished = metric(stack.matcher_url, "ewatch_matcher_records_republished_total")

    deliveries = assert_screened_exactly_once(
        database_url, accepted, expected_findings(shipped, records)
    )
    after = sql(
        database_url,
        "SELECT DISTINCT kafka_partition FROM screened_transfers WHERE screened_at > %s",
        fault_at,
    )
    assert {p for (p,) in after} >= victim  # the survivor read the dead worker's partitions
    assert deliveries.screened_again >= uncommitted
    report(
        "two workers, one killed",
        victim_partitions=sorted(victim),
        pending_at_fault=pending_at_fault,
        stored_uncommitted_at_fault=uncommitted,
        kills=kills,
        republished=republished,
        deliveries=deliveries,
        seconds=round(time.monotonic() - started),
    )


def post(base_url: str, body: bytes, integrator: str = "promises") -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/transfers",
        content=body,
        headers={"content-type": "application/x-ndjson", "x-ewatch-integrator": integrator},
        timeout=60,
    )


def ledger_ids(url: str) -> set[str]:
    return {str(r) for (r,) in sql(url, "SELECT record_id FROM accepted_records")}


async def keys_on(bootstrap: str, topic: str, quiet_s: float = 2.0) -> set[str]:
    """The keys of every message on ``topic``: read until nothing more comes for ``quiet_s``
    (tansu's end offsets can fall short of what it holds)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        keys: set[str] = set()
        while batch_ := await consumer.getmany(timeout_ms=int(quiet_s * 1000)):
            keys |= {m.key.decode() for ms in batch_.values() for m in ms if m.key}
        return keys
    finally:
        await consumer.stop()


def test_ingest_accepts_nothing_of_a_request_it_cannot_make_durable(
    own_dir: Path, tmp_path: Path, unique: str
) -> None:
    """Ingest alone, on a PostgreSQL and a broker of the test's own that it stops: while
    either is down a request is answered 503 as a whole, and nothing of it is in the ledger
    or on the topic; once both are back the same requests are accepted."""
    pgdata = own_dir / "pg"
    broker = EmbeddedBroker(free_port(), tmp_path / "broker.log")
    ingest = None
    try:
        url = embedded_postgres_url(pgdata)
        upgrade(url)
        bootstrap = broker.start()
        env = stack_env(url, bootstrap, unique, tmp_path, kafka_request_timeout_s="3")
        topic = env["EWATCH_TRANSFERS_TOPIC"]
        asyncio.run(ensure_topic(bootstrap, topic, 2))
        (tmp_path / "logs").mkdir()
        ingest = start_process("ingest", env, tmp_path / "logs")
        base = f"http://127.0.0.1:{env['EWATCH_INGEST_PORT']}"
        wait_http(f"{base}/readyz", ingest, 60, tmp_path / "logs" / "ingest.log")
        first = [record(f"first-{i}") for i in range(20)]
        assert post(base, ndjson(first)).status_code == 202

        pg_down = [record(f"pg-down-{i}") for i in range(50)]
        stop_postgres(pgdata)
        try:
            answer = post(base, ndjson(pg_down))
        finally:
            start_postgres(pgdata, url)
        assert answer.status_code == 503, answer.text
        assert answer.json()["retryable"] is True
        assert "nothing was accepted from this request" in answer.json()["error"]
        assert ledger_ids(url) == {r["record_id"] for r in first}
        # Nothing of it was published: ingest writes the ledger before it publishes.
        assert asyncio.run(keys_on(bootstrap, topic)) == {r["record_id"] for r in first}

        kafka_down = [record(f"kafka-down-{i}") for i in range(50)]
        broker.stop()
        answer = post(base, ndjson(kafka_down))
        assert answer.status_code == 503, answer.text
        assert "Kafka did not acknowledge" in answer.json()["error"]
        # The ledger rows were rolled back with the publish that failed.
        assert ledger_ids(url) == {r["record_id"] for r in first}

        broker.start()
        asyncio.run(ensure_topic(bootstrap, topic, 2))
        wait_for(
            lambda: post(base, ndjson(kafka_down)).status_code == 202,
            60,
            "ingest to publish again once the broker is back",
        )
        assert post(base, ndjson(pg_down)).status_code == 202
        assert ledger_ids(url) == {r["record_id"] for r in [*first, *pg_down, *kafka_down]}
    finally:
        if ingest is not None:
            stop_process(ingest)
        broker.stop()


def execute(url: str, statement: str) -> None:
    with psycopg.connect(_plain(url)) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def test_a_crash_in_screening_and_a_record_postgresql_refuses_are_kept_the_rest_screened(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    """The real matcher process with a bug injected in its core (``faulty_matcher``), and
    a store narrower than the contract.

    No record the schema accepts is refused by the shipped tables once ingest has accepted
    it (the ledger holds the same JSON and the same widths, and the validator refuses the
    NUL characters no text column holds), so the test narrows ``screened_transfers.
    record_id`` in its own database: PostgreSQL then refuses, with a ``DataError``, the
    records whose id is longer, as it would any content a store schema behind the
    contract cannot hold."""
    execute(database_url, "ALTER TABLE screened_transfers ALTER COLUMN record_id TYPE varchar(24)")
    good = [record(f"good-{i:03d}") for i in range(100)]
    crash = [record(f"{CRASHING}{i}") for i in range(2)]
    refused = [record(f"refused-{i}-an-id-longer-than-the-column") for i in range(2)]
    body = ndjson([*good[:50], crash[0], refused[0], *good[50:], crash[1], refused[1]])
    with running_stack(
        database_url,
        kafka_bootstrap,
        unique,
        tmp_path,
        matcher_argv=("-m", "tests.integration.faulty_matcher"),
    ) as stack:
        answer = post(stack.ingest_url, body)
        assert answer.status_code == 202, answer.text
        wait_for(lambda: pending(database_url) == 0, 120, "every accepted record settled")
        metrics = httpx.get(f"{stack.matcher_url}/metrics").text
        assert stack.processes["matcher"].poll() is None
        crash_and_refusal_are_kept(database_url, metrics, good, crash, refused)
        poison_is_kept_and_the_stream_goes_on(stack, database_url, kafka_bootstrap)


def crash_and_refusal_are_kept(
    database_url: str,
    metrics: str,
    good: list[dict[str, Any]],
    crash: list[dict[str, Any]],
    refused: list[dict[str, Any]],
) -> None:
    """The records around them screened; each of them kept with its payload and reason,
    and its ledger row settled as rejected."""
    assert {r for (r,) in sql(database_url, "SELECT record_id FROM screened_transfers")} == {
        r["record_id"] for r in good
    }
    ledger = sql(
        database_url,
        "SELECT outcome, count(*) FROM accepted_records GROUP BY outcome ORDER BY outcome",
    )
    assert ledger == [("rejected", 4), ("screened", 100)]
    kept = sql(
        database_url,
        "SELECT r.record_id, r.reason_kind, r.source, r.reasons, r.raw, a.outcome "
        "FROM rejected_records r JOIN accepted_records a USING (integrator, record_id) "
        "ORDER BY r.record_id",
    )
    assert [r[:3] for r in kept] == [
        *((c["record_id"], "error", "kafka") for c in crash),
        *((r["record_id"], "refused", "kafka") for r in refused),
    ]
    for record_id, kind, _, reasons, raw, outcome in kept:
        assert outcome == "rejected"
        envelope = Envelope.decode(str(raw).encode())  # the payload, kept whole
        assert envelope.record["record_id"] == record_id
        assert envelope.integrator == "promises"
        why = " ".join(reasons)  # type: ignore[arg-type]
        if kind == "error":
            assert "internal error while screening" in why, why
            assert "injected fault" in why, why
        else:
            assert "value too long" in why, why
    assert 'ewatch_matcher_records_rejected_total{reason="error"} 2.0' in metrics
    assert 'ewatch_matcher_records_rejected_total{reason="refused"} 2.0' in metrics
    assert "ewatch_matcher_records_screened_total 100.0" in metrics


#: A record_id longer than the schema allows, and than any record_id column holds.
LONG_ID = "x" * 300


def poison_is_kept_and_the_stream_goes_on(
    stack: RunningStack, database_url: str, kafka_bootstrap: str
) -> None:
    """What PostgreSQL cannot hold as it came is still kept as rejected, by ingest and by
    the matcher, and neither stalls on it: a schema-invalid record whose record_id no
    column holds, an envelope whose integrator none does, one whose receive time has no
    time zone."""
    answer = post(stack.ingest_url, ndjson([record("after-1"), record(LONG_ID)]))
    assert answer.status_code == 207, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "rejected"]

    async def produce() -> None:
        producer = make_producer(kafka_bootstrap)
        await producer.start()
        try:
            topic = stack.env["EWATCH_TRANSFERS_TOPIC"]
            long_integrator = Envelope("i" * 201, datetime.now(UTC), record("after-2"))
            naive = Envelope("promises", datetime(2026, 12, 1, 9, 0), record("after-2"))
            for value in (
                orjson.dumps(record(LONG_ID, transfer_date="2024-11-21")),
                long_integrator.encode(),
                naive.encode(),
                orjson.dumps(record("after-3")),
            ):
                await producer.send_and_wait(topic, value, key=b"poison")
        finally:
            await producer.stop()

    asyncio.run(produce())
    wait_for(
        lambda: sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0] == 102,
        60,
        "the records after the poison screened",
    )
    kept = sql(
        database_url,
        "SELECT source, reason_kind, integrator, record_id FROM rejected_records "
        "WHERE reason_kind IN ('schema', 'malformed') ORDER BY source, reason_kind",
    )
    assert kept == [
        ("http", "schema", "promises", None),  # the whole id is in the payload kept
        ("kafka", "malformed", "kafka", None),
        ("kafka", "malformed", "kafka", None),
        ("kafka", "schema", "kafka", None),
    ]
    assert stack.processes["matcher"].poll() is None

"""``ewatch rejected`` against a real PostgreSQL and broker: reading rejections back,
refusing what a replay cannot cure, and replaying what it can."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.orm import Session

from services.broker import Envelope
from services.core.validation import Rejection, validate_record
from services.stack.embedded import free_port
from services.store import db, ledger
from services.store.ledger import record_digest
from services.store.rejections import (
    MAX_RAW_CHARS,
    REASON_KINDS,
    count_rejections,
    counts_by_integrator,
    list_rejections,
    record_rejections,
    rejected_by_kind,
)
from tests.conftest import sql
from tests.integration.stack import ROOT
from tests.records import record

pytestmark = pytest.mark.integration
RECEIVED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def ewatch(
    database_url: str, *args: str, bootstrap: str = "127.0.0.1:1", topic: str = "transfers.v1"
) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it; the default bootstrap answers nothing, so a command
    that should not touch the broker fails if it does."""
    env = {
        **os.environ,
        "EWATCH_DATABASE_URL": database_url,
        "EWATCH_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EWATCH_TRANSFERS_TOPIC": topic,
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def message(rec: dict[str, object], integrator: str = "customs-ht") -> str:
    """A transfers-topic message as the matcher read (and kept) it."""
    return Envelope(integrator, RECEIVED, rec).encode().decode()


async def reject(
    url: str, integrator: str, rejections: list[Rejection], source: str, kind: str
) -> None:
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            await record_rejections(session, integrator, rejections, source, reason_kind=kind)
    finally:
        await engine.dispose()


async def accepted_then_rejected(url: str, rec: dict[str, object], integrator: str) -> None:
    """The ledger row of a record ingest accepted and the matcher settled as rejected."""
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            await ledger.accept(session, integrator, [rec], RECEIVED)
            await ledger.settle(
                session,
                [ledger.Settled(integrator, str(rec["record_id"]), record_digest(rec), "rejected")],
            )
    finally:
        await engine.dispose()


def ids(url: str) -> dict[str, int]:
    """Rejection ids by record_id (or by reason for records without one)."""
    rows = sql(url, "SELECT id, record_id, reasons->>0 FROM rejected_records")
    return {str(rid if rid is not None else why): int(i) for i, rid, why in rows}  # type: ignore[call-overload]


def schema_rejection() -> Rejection:
    bad = record("bad-qty")
    bad["items"][0]["quantity"] = -3
    return Rejection(0, "bad-qty", tuple(validate_record(bad)), orjson.dumps(bad).decode())


def error_rejection(record_id: str, integrator: str = "customs-ht") -> Rejection:
    reason = (
        f"internal error while screening (kept to send again once fixed): KeyError({record_id!r})"
    )
    return Rejection(3, record_id, (reason,), message(record(record_id), integrator))


def seed(url: str) -> None:
    """One rejection of every kind a replay refuses or cures, from two integrators."""
    asyncio.run(reject(url, "customs-ht", [schema_rejection()], "http", "schema"))
    asyncio.run(
        reject(
            url, "ports", [Rejection(0, None, ("not JSON: …",), "{oops")], "http", "malformed_json"
        )
    )
    asyncio.run(
        reject(
            url,
            "kafka",
            [Rejection(9, None, ("not a transfer message",), "junk")],
            "kafka",
            "malformed",
        )
    )
    asyncio.run(reject(url, "customs-ht", [error_rejection("err-1")], "kafka", "error"))
    refused = Rejection(
        4, "ref-1", ("the store refused it: value too long",), message(record("ref-1"), "ports")
    )
    asyncio.run(reject(url, "ports", [refused], "kafka", "refused"))
    huge = record("big-1", notes="x" * (MAX_RAW_CHARS + 10))
    cut = Rejection(5, "big-1", ("internal error while screening: MemoryError()",), message(huge))
    asyncio.run(reject(url, "customs-ht", [cut], "kafka", "error"))


def test_list_filters_by_integrator_kind_source_and_time(database_url: str) -> None:
    seed(database_url)
    everything = ewatch(database_url, "rejected", "list", "--json")
    assert everything.returncode == 0, everything.stderr
    rows = orjson.loads(everything.stdout)
    assert len(rows) == 6
    assert "6 of 6 rejected records" in everything.stderr

    engine = db.sync_engine(database_url)
    with Session(engine) as session:

        def record_ids(**filters: Any) -> list[str | None]:
            rows = list_rejections(session, **filters)
            assert count_rejections(session, **filters) == len(rows)
            return sorted((r.record_id for r in rows), key=str)

        assert record_ids(integrator="customs-ht") == ["bad-qty", "big-1", "err-1"]
        assert record_ids(reason_kind="error") == ["big-1", "err-1"]
        assert record_ids(integrator="ports", reason_kind="refused") == ["ref-1"]
        assert record_ids(source="http") == [None, "bad-qty"]
        assert record_ids(since=datetime.now(UTC) + timedelta(minutes=1)) == []
        assert len(record_ids(since=datetime.now(UTC) - timedelta(minutes=5))) == 6
        assert [r.record_id for r in list_rejections(session, limit=2)] == ["big-1", "ref-1"]
    engine.dispose()
    filtered = ewatch(
        database_url, "rejected", "list", "--json", "--integrator", "ports", "--since", "2000-01-01"
    )
    assert sorted(r["reason_kind"] for r in orjson.loads(filtered.stdout)) == [
        "malformed_json",
        "refused",
    ]

    table = ewatch(database_url, "rejected", "list", "--reason-kind", "schema")
    assert table.returncode == 0, table.stderr
    (line,) = [ln for ln in table.stdout.splitlines() if "bad-qty" in ln]
    assert "customs-ht" in line
    assert "items[0].quantity: -3 is less than or equal to the minimum of 0" in line

    limited = ewatch(database_url, "rejected", "list", "--limit", "2")
    assert "2 of 6 rejected records; --limit 6 shows all" in limited.stderr

    wrong = ewatch(database_url, "rejected", "list", "--reason-kind", "typo")
    assert wrong.returncode == 1
    assert "'typo' is not one of: schema, malformed_json" in wrong.stderr


def test_counts_by_kind_and_by_integrator(database_url: str) -> None:
    seed(database_url)
    expected = {
        "schema": 1,
        "malformed_json": 1,
        "body": 0,
        "malformed": 1,
        "error": 2,
        "refused": 1,
    }

    async def by_kind() -> dict[str, int]:
        engine = db.async_engine(database_url)
        try:
            async with db.sessions(engine)() as session:
                return await rejected_by_kind(session)
        finally:
            await engine.dispose()

    assert asyncio.run(by_kind()) == expected
    assert set(expected) == set(REASON_KINDS)
    engine = db.sync_engine(database_url)
    with Session(engine) as session:
        assert counts_by_integrator(session) == {
            "customs-ht": {"error": 2, "schema": 1},
            "kafka": {"malformed": 1},
            "ports": {"malformed_json": 1, "refused": 1},
        }
    engine.dispose()
    shown = ewatch(database_url, "rejected", "counts", "--json")
    assert orjson.loads(shown.stdout)["ports"] == {"malformed_json": 1, "refused": 1}


def test_show_gives_the_exact_field_the_payload_and_what_a_replay_would_do(
    database_url: str,
) -> None:
    seed(database_url)
    by = ids(database_url)
    schema = ewatch(database_url, "rejected", "show", str(by["bad-qty"]))
    assert schema.returncode == 0, schema.stderr
    assert "  - items[0].quantity: -3 is less than or equal to the minimum of 0" in schema.stdout
    assert "reason kind  schema" in schema.stdout
    assert "source       http (ingest)" in schema.stdout
    assert "replay       not possible: a schema rejection" in schema.stdout
    assert '  "record_id": "bad-qty",' in schema.stdout  # indented JSON
    assert '"quantity": -3' in schema.stdout

    error = ewatch(database_url, "rejected", "show", str(by["err-1"]))
    assert f"replay       ewatch rejected replay {by['err-1']}" in error.stdout
    assert "KeyError('err-1')" in error.stdout  # markup-like text printed as is
    assert "ledger       no ledger row" in error.stdout

    cut = ewatch(database_url, "rejected", "show", str(by["big-1"]))
    assert "payload: cut, only the first 64 KiB (65,536 characters)" in cut.stdout
    assert "not possible: its payload was cut at the 64 KiB kept" in cut.stdout

    missing = ewatch(database_url, "rejected", "show", "999999")
    assert missing.returncode == 1
    assert "no rejected record has id 999999" in missing.stderr


def test_replay_refuses_what_the_integrator_must_fix_each_with_its_reason(
    database_url: str,
) -> None:
    seed(database_url)
    by = ids(database_url)
    # A corrected version of ref-1 was accepted after its content was refused by the store.
    asyncio.run(accepted_then_rejected(database_url, record("ref-1", status="licensed"), "ports"))
    wanted = [by["bad-qty"], by["not JSON: …"], by["not a transfer message"], by["big-1"]]
    result = ewatch(database_url, "rejected", "replay", *map(str, [*wanted, by["ref-1"], 999999]))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [
        f"refused {by['bad-qty']}: a schema rejection: what was sent breaks the contract; "
        "the integrator (customs-ht) must correct it and send it again",
        f"refused {by['not JSON: …']}: a malformed_json rejection: what was sent breaks the "
        "contract; the integrator (ports) must correct it and send it again",
        f"refused {by['not a transfer message']}: a malformed rejection: what was sent breaks "
        "the contract; the integrator (kafka) must correct it and send it again",
        f"refused {by['big-1']}: its payload was cut at the 64 KiB kept; the integrator "
        "(customs-ht) must send it again",
        f"refused {by['ref-1']}: record ref-1 of ports was sent again with other content "
        "since: replaying would screen the old content over it",
        "refused 999999: no rejected record has id 999999",
    ]
    assert "0 replayed, 6 refused" in result.stderr
    # Nothing was marked, and the broker (127.0.0.1:1 here) was never asked.
    assert sql(
        database_url, "SELECT count(*) FROM rejected_records WHERE replayed_at IS NOT NULL"
    ) == [(0,)]

    usage = ewatch(database_url, "rejected", "replay")
    assert usage.returncode == 1
    assert "--all-internal-errors" in usage.stderr


async def consume(
    bootstrap: str, topic: str, expected: int
) -> list[tuple[bytes, bytes, dict[str, bytes]]]:
    """Every message on ``topic`` from the start, waiting until ``expected`` arrived."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    got: list[tuple[bytes, bytes, dict[str, bytes]]] = []
    try:
        async with asyncio.timeout(30):
            while len(got) < expected:
                batch = await consumer.getmany(timeout_ms=1000)
                for messages in batch.values():
                    got += [(m.key, m.value, dict(m.headers)) for m in messages]
        await asyncio.sleep(1)  # and nothing more
        for messages in (await consumer.getmany(timeout_ms=1000)).values():
            got += [(m.key, m.value, dict(m.headers)) for m in messages]
    finally:
        await consumer.stop()
    return got


def test_an_internal_error_is_published_again_marked_and_pending_in_the_ledger(
    database_url: str, kafka_bootstrap: str, unique: str
) -> None:
    topic = f"transfers-{unique}"
    seed(database_url)
    asyncio.run(accepted_then_rejected(database_url, record("err-1"), "customs-ht"))
    by = ids(database_url)
    assert sql(database_url, "SELECT outcome FROM accepted_records") == [("rejected",)]

    def replay(*args: str) -> subprocess.CompletedProcess[str]:
        return ewatch(
            database_url, "rejected", "replay", *args, bootstrap=kafka_bootstrap, topic=topic
        )

    mixed = replay(str(by["err-1"]), str(by["bad-qty"]))
    assert mixed.returncode == 1, mixed.stderr  # one refused
    assert mixed.stdout.splitlines()[0] == (
        f"replayed {by['err-1']}: record err-1 of customs-ht → {topic} "
        "(pending again in the ledger)"
    )
    assert f"refused {by['bad-qty']}: a schema rejection" in mixed.stdout

    ((key, value, headers),) = asyncio.run(consume(kafka_bootstrap, topic, 1))
    assert key == b"err-1"
    assert value.decode() == message(record("err-1"))  # the message as the matcher read it
    assert Envelope.decode(value).integrator == "customs-ht"
    assert headers["ewatch-replay-of"] == str(by["err-1"]).encode()
    assert sql(
        database_url,
        "SELECT times_replayed, replayed_at IS NOT NULL FROM rejected_records WHERE id = %s",
        by["err-1"],
    ) == [(1, True)]
    assert sql(database_url, "SELECT settled_at, outcome FROM accepted_records") == [(None, None)]

    # The remaining curable ones: ref-1 (no ledger row: produced as an envelope straight to
    # Kafka); err-1 is on its way already and big-1 was cut.
    everything = replay("--all-internal-errors")
    assert everything.returncode == 1
    assert (
        f"replayed {by['ref-1']}: record ref-1 of ports → {topic} (no ledger row)"
        in everything.stdout
    )
    assert f"refused {by['big-1']}: its payload was cut" in everything.stdout
    assert "err-1" not in everything.stdout
    assert "1 replayed, 1 refused" in everything.stderr

    # The matcher rejects err-1 again (the fix did not cure it): it awaits a replay again.
    asyncio.run(reject(database_url, "customs-ht", [error_rejection("err-1")], "kafka", "error"))
    listed = ewatch(database_url, "rejected", "list", "--reason-kind", "error")
    (line,) = [ln for ln in listed.stdout.splitlines() if "err-1" in ln]
    assert "yes, rejected again" in line
    again = replay("--all-internal-errors")
    assert f"replayed {by['err-1']}:" in again.stdout
    assert sql(
        database_url,
        "SELECT times_replayed, times_seen FROM rejected_records WHERE id = %s",
        by["err-1"],
    ) == [(2, 2)]
    keys = [k for k, _, _ in asyncio.run(consume(kafka_bootstrap, topic, 3))]
    assert sorted(keys) == [b"err-1", b"err-1", b"ref-1"]  # keyed: order is per partition


def test_a_broker_that_does_not_answer_leaves_nothing_marked(database_url: str) -> None:
    seed(database_url)
    asyncio.run(accepted_then_rejected(database_url, record("err-1"), "customs-ht"))
    by = ids(database_url)
    result = ewatch(
        database_url, "rejected", "replay", str(by["err-1"]), bootstrap=f"127.0.0.1:{free_port()}"
    )
    assert result.returncode == 1
    assert "nothing replayed" in result.stderr
    assert sql(
        database_url, "SELECT count(*) FROM rejected_records WHERE replayed_at IS NOT NULL"
    ) == [(0,)]
    assert sql(database_url, "SELECT outcome FROM accepted_records") == [("rejected",)]

"""The reconciler against a real broker and PostgreSQL: what stays pending is sent again."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.broker import Envelope, ensure_topic
from services.matcher.upkeep import Reconciler
from services.metrics import MatcherMetrics
from services.settings import Settings
from services.store import db, ledger
from tests.conftest import sql
from tests.records import record

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def _messages(bootstrap: str, topic: str, expected: int) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        got: list[Envelope] = []
        while len(got) < expected:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"only {len(got)} of {expected} messages arrived"
            got += [Envelope.decode(m.value) for ms in batch.values() for m in ms if m.value]
        return got
    finally:
        await consumer.stop()


async def test_pending_records_are_published_again_once_and_the_gauges_say_so(
    database_url: str, kafka_bootstrap: str, unique: str
) -> None:
    settings = Settings(
        transfers_topic=f"transfers.{unique}",
        matcher_group=f"group-{unique}",
        republish_after_s=0,
        reconcile_max_lag=1000,
    )
    await ensure_topic(kafka_bootstrap, settings.transfers_topic, 2)
    engine = db.async_engine(database_url)
    metrics = MatcherMetrics()
    reconciler = Reconciler(engine, settings, kafka_bootstrap, metrics)
    try:
        async with db.sessions(engine).begin() as session:
            await ledger.accept(session, "it", [record("p-1"), record("p-2")], T0)
            await ledger.settle(
                session,
                [ledger.Settled("it", "p-2", ledger.record_digest(record("p-2")), "screened")],
            )
        await reconciler.measure()
        assert (
            metrics.registry.get_sample_value(
                "ewatch_matcher_pending_records", {"integrator": "it"}
            )
            == 1
        )
        assert await reconciler.republish() == 1
        reconciler.settings = settings.model_copy(update={"republish_after_s": 3600})
        assert await reconciler.republish() == 0  # published just now: not due again
        (sent,) = await _messages(kafka_bootstrap, settings.transfers_topic, 1)
        assert (sent.integrator, sent.record["record_id"], sent.received_at) == ("it", "p-1", T0)
        assert sql(
            database_url, "SELECT times_published FROM accepted_records WHERE record_id = 'p-1'"
        ) == [(2,)]
        assert metrics.registry.get_sample_value("ewatch_matcher_records_republished_total") == 1
    finally:
        await reconciler.stop()
        await engine.dispose()


async def test_a_long_backlog_is_left_to_drain(
    database_url: str, kafka_bootstrap: str, unique: str
) -> None:
    settings = Settings(
        transfers_topic=f"transfers.{unique}",
        matcher_group=f"group-{unique}",
        republish_after_s=0,
        reconcile_max_lag=5,
    )
    await ensure_topic(kafka_bootstrap, settings.transfers_topic, 2)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i in range(10):  # ten messages no consumer of the group has read
            await producer.send_and_wait(settings.transfers_topic, orjson.dumps({"n": i}))
    finally:
        await producer.stop()
    engine = db.async_engine(database_url)
    reconciler = Reconciler(engine, settings, kafka_bootstrap, MatcherMetrics())
    try:
        async with db.sessions(engine).begin() as session:
            await ledger.accept(session, "it", [record("p-1")], T0)
        assert await reconciler.republish() == 0
    finally:
        await reconciler.stop()
        await engine.dispose()

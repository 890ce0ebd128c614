"""What each matcher does besides screening: switch knowledge live, and reconcile the ledger.

:class:`KnowledgeWatcher` looks every few seconds at which ruleset, list and annex are in
force; when one changed it builds the new screening context off the event loop and hands
it to the :class:`~services.matcher.processing.Processor`, which uses it from its next
batch on — no restart, and each finding names the versions it was made with.

:class:`Reconciler` keeps the promise ingest made: an accepted record still unsettled
after ``republish_after_s`` (the broker lost it, or Faust committed past it) is published
again. It acts only while the consumer group is nearly caught up, so a long backlog is
left to drain rather than doubled. Several matchers may run it: the ledger rows are taken
with ``FOR UPDATE SKIP LOCKED``, so one row is published by one of them at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from services import knowledge
from services.broker import Envelope, make_producer, publish, topic_backlog
from services.core.context import Context
from services.matcher.processing import Processor, freeze_heap
from services.metrics import MatcherMetrics
from services.settings import Settings
from services.store import db, ledger, rejections

log = logging.getLogger(__name__)


class KnowledgeWatcher:
    def __init__(
        self,
        engine: Engine,
        processor: Processor,
        metrics: MatcherMetrics,
        build: Callable[[Session], Context] = knowledge.context_from_database,
    ) -> None:
        self.engine = engine
        self.processor = processor
        self.metrics = metrics
        self.build = build
        self.seen: knowledge.Versions | None = None

    def _in_force(self) -> knowledge.Versions:
        with Session(self.engine) as session:
            return knowledge.versions_in_force(session)

    def _load(self) -> tuple[knowledge.Versions, Context]:
        with Session(self.engine) as session:
            versions = knowledge.versions_in_force(session)
            return versions, self.build(session)

    async def check(self) -> bool:
        """Switch to what is in force if it changed since the last look; say if it did."""
        now = await asyncio.to_thread(self._in_force)
        if self.seen is None:
            self.seen = now  # what the matcher started with, loaded just before
            return False
        if now == self.seen:
            return False
        started = time.perf_counter()
        versions, context = await asyncio.to_thread(self._load)
        self.processor.context = context
        freeze_heap()
        self.seen = versions
        self.metrics.ruleset_version.set(context.ruleset.version)
        self.metrics.knowledge_reloads.inc()
        log.info(
            "now screening with ruleset %s, list %s, annex %s (built in %.1fs)",
            versions.ruleset,
            versions.sanctions_list,
            versions.annex,
            time.perf_counter() - started,
        )
        return True

    async def tick(self) -> None:
        try:
            await self.check()
        except SQLAlchemyError as exc:  # the next look will do; screening goes on
            log.warning("could not look for new rules or list: %s", exc)


class Reconciler:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        bootstrap: str,
        metrics: MatcherMetrics,
    ) -> None:
        self.sessions = db.sessions(engine)
        self.settings = settings
        self.bootstrap = bootstrap
        self.metrics = metrics
        self.producer: AIOKafkaProducer | None = None

    async def measure(self) -> None:
        """Set the pending gauges from the ledger, and the rejected ones by kind."""
        async with self.sessions() as session:
            pending = await ledger.pending(session)
            rejected = await rejections.rejected_by_kind(session)
        for kind, count in rejected.items():
            self.metrics.rejected_records.labels(kind).set(count)
        now = datetime.now(UTC)
        for gauge in (self.metrics.pending, self.metrics.oldest_pending_seconds):
            gauge.clear()
        for p in pending:
            self.metrics.pending.labels(p.integrator).set(p.records)
            age = (now - p.oldest).total_seconds()
            self.metrics.oldest_pending_seconds.labels(p.integrator).set(max(age, 0.0))

    async def republish(self) -> int:
        """Publish again what stayed unsettled too long; return how many."""
        s = self.settings
        _, lag = await topic_backlog(self.bootstrap, s.transfers_topic, s.matcher_group)
        if lag > s.reconcile_max_lag:
            return 0
        if self.producer is None:
            producer = make_producer(self.bootstrap, s.kafka_request_timeout_s)
            await producer.start()
            self.producer = producer
        async with self.sessions.begin() as session:
            due = await ledger.take_due(
                session, timedelta(seconds=s.republish_after_s), s.reconcile_batch
            )
            if due:  # a failed publish raises here, and the rows stay due
                envelopes = [Envelope(d.integrator, d.received_at, d.record) for d in due]
                await publish(self.producer, s.transfers_topic, envelopes)
        if due:
            log.warning("published %d accepted record(s) again, unsettled for too long", len(due))
            self.metrics.republished.inc(len(due))
        return len(due)

    async def tick(self) -> None:
        try:
            await self.measure()
            await self.republish()
        except (SQLAlchemyError, KafkaError, OSError) as exc:
            log.warning("reconciling the ledger failed; trying again later: %s", exc)

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

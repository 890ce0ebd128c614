"""Screening one Kafka message and storing the outcome: the matcher's only job.

:class:`Processor.handle` returns only once the outcome is durably stored
(screened transfer with its findings, or a rejection with its reason); the
Faust agent acknowledges the message — and so lets its offset be committed —
only after that. Transient database failures are retried without end, with
backoff, so a database outage pauses the stream instead of losing records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import orjson
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.broker import Envelope
from services.core.context import Context
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.core.validation import Rejection, validate_record
from services.metrics import MatcherMetrics
from services.store import db
from services.store.rejections import record_rejections
from services.store.screenings import Delivery, record_screening

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    value: bytes


class Processor:
    def __init__(self, engine: AsyncEngine, context: Context, metrics: MatcherMetrics) -> None:
        self.engine = engine
        self.sessions = db.sessions(engine)
        self.context = context
        self.metrics = metrics

    async def handle(self, msg: Message) -> None:
        """Screen and store ``msg``; returns when the outcome is committed to PostgreSQL."""
        started = time.perf_counter()
        self.metrics.consumed.inc()
        try:
            envelope = Envelope.decode(msg.value)
        except (ValueError, orjson.JSONDecodeError) as exc:
            await self._reject(msg, "kafka", None, f"not a transfer message: {exc}", "malformed")
            return
        reasons = validate_record(envelope.record)
        if reasons:
            record_id = (
                envelope.record.get("record_id")
                if isinstance(envelope.record.get("record_id"), str)
                else None
            )
            await self._reject(msg, envelope.integrator, record_id, "; ".join(reasons), "schema")
            return
        t0 = time.perf_counter()
        try:
            findings = screen(parse_transfer(envelope.record), self.context)
        except Exception as exc:  # a bug in the core must not stall the stream or lose the record
            log.exception("screening failed at %s[%d]@%d", msg.topic, msg.partition, msg.offset)
            await self._reject(
                msg,
                envelope.integrator,
                envelope.record["record_id"],
                "internal error while screening (the record is kept here to send again once "
                f"fixed): {exc!r}",
                "error",
            )
            return
        self.metrics.screening_seconds.observe(time.perf_counter() - t0)
        delivery = Delivery(
            envelope.integrator, envelope.received_at, msg.topic, msg.partition, msg.offset
        )

        async def store() -> int:
            async with self.sessions.begin() as session:
                stored = await record_screening(
                    session,
                    envelope.record,
                    findings,
                    delivery,
                    ruleset_version=self.context.ruleset.version,
                    list_version=self.context.list_version,
                )
            return stored.new_findings

        try:
            new = await self._with_retries(store)
        except DataError as exc:
            # The record's own content is what PostgreSQL refuses: keep it as rejected with
            # the reason. Any other lasting error (a schema behind the code) stops the agent.
            log.exception("storing failed at %s[%d]@%d", msg.topic, msg.partition, msg.offset)
            await self._reject(
                msg,
                envelope.integrator,
                envelope.record["record_id"],
                f"PostgreSQL refused to store it: {exc.orig}",
                "error",
            )
            return
        self.metrics.screened.inc()
        if new:
            for f in findings:
                self.metrics.findings.labels(f.regime or "none", f.kind.value).inc()
        self.metrics.processing_seconds.observe(time.perf_counter() - started)
        lag = (datetime.now(UTC) - envelope.received_at).total_seconds()
        self.metrics.end_to_end_seconds.observe(max(lag, 0.0))

    async def _reject(
        self, msg: Message, integrator: str, record_id: str | None, reason: str, kind: str
    ) -> None:
        log.warning("rejecting %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)
        raw = msg.value.decode("utf-8", errors="replace")
        rejection = Rejection(msg.offset, record_id, (reason,), raw)

        async def store() -> None:
            async with self.sessions.begin() as session:
                await record_rejections(session, integrator, [rejection], source="kafka")

        await self._with_retries(store)
        self.metrics.rejected.labels(kind).inc()

    async def _with_retries(self, action: Callable[[], Awaitable[T]]) -> T:
        """Retry ``action`` while the database is unreachable; other errors propagate."""
        delay = 0.2
        while True:
            try:
                return await action()
            except (OperationalError, DBAPIError, OSError) as exc:
                transient = isinstance(exc, OperationalError | OSError) or (
                    isinstance(exc, DBAPIError) and exc.connection_invalidated
                )
                if not transient:
                    raise
                self.metrics.store_retries.inc()
                log.warning("database write failed, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

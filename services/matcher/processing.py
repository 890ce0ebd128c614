"""Screening one Kafka message and storing the outcome: the matcher's only job.

:class:`Processor.handle` returns only once the outcome is durably stored
(screened transfer with its findings, or a rejection with its reason); the
Faust agent acknowledges the message — and so lets its offset be committed —
only after that. While the store is unavailable its writes are retried without
end, with backoff, so a database outage pauses the stream instead of losing records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import orjson

from services.broker import Envelope
from services.core.context import Context
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.core.validation import Rejection, validate_record
from services.metrics import MatcherMetrics
from services.store.outcomes import ContentRefused, Delivery, ScreeningStore, StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    value: bytes


class Processor:
    def __init__(self, store: ScreeningStore, context: Context, metrics: MatcherMetrics) -> None:
        self.store = store
        self.context = context
        self.metrics = metrics

    async def handle(self, msg: Message) -> None:
        """Screen and store ``msg``; returns when the outcome is durably stored."""
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
        keep = partial(
            self.store.record_screening,
            envelope.record,
            findings,
            delivery,
            ruleset_version=self.context.ruleset.version,
            list_version=self.context.list_version,
        )
        try:
            stored = await self._with_retries(keep)
        except ContentRefused as exc:
            # The record's own content is what the store refuses: keep it as rejected with
            # the reason. Any other lasting error (a schema behind the code) stops the agent.
            log.exception("storing failed at %s[%d]@%d", msg.topic, msg.partition, msg.offset)
            await self._reject(
                msg, envelope.integrator, envelope.record["record_id"], str(exc), "error"
            )
            return
        self.metrics.screened.inc()
        if stored.new_findings:
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
        await self._with_retries(
            partial(self.store.record_rejections, integrator, [rejection], source="kafka")
        )
        self.metrics.rejected.labels(kind).inc()

    async def _with_retries(self, action: Callable[[], Awaitable[T]]) -> T:
        """Retry ``action`` while the store is unavailable; other errors propagate."""
        delay = 0.2
        while True:
            try:
                return await action()
            except StoreUnavailable as exc:
                self.metrics.store_retries.inc()
                log.warning("database write failed, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

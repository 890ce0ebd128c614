"""Screening a batch of Kafka messages and storing the outcomes: the matcher's only job.

:meth:`Processor.handle_batch` returns only once every outcome of the batch is durably
stored in one transaction (screened transfers with their findings, rejections with
their reasons, their ledger rows settled); the Faust agent acknowledges the batch's
events — and so lets their offsets be committed — only after that. While the store is
unavailable the write is retried without end, with backoff, so a database outage pauses
the stream instead of losing records.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
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
from services.store.ledger import record_digest
from services.store.outcomes import (
    ContentRefused,
    Delivery,
    Refusal,
    Screening,
    ScreeningStore,
    Stored,
    StoreUnavailable,
    Versions,
)
from services.store.rejections import RejectionKind

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    value: bytes


#: What :meth:`Processor.handle_batch` times, as ``ewatch_matcher_batch_stage_seconds``'s
#: ``stage`` label; the Faust agent adds ``wait`` and ``ack``.
STAGES = ("decode", "validate", "parse", "screen", "store")


@dataclass(slots=True)
class StageClock:
    """Seconds one batch spent in each stage, summed over its records."""

    spent: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    last: float = field(default_factory=time.perf_counter)

    def lap(self, stage: str) -> None:
        """Charge the time since the previous lap to ``stage``."""
        now = time.perf_counter()
        self.spent[stage] += now - self.last
        self.last = now


def freeze_heap() -> None:
    """Put what is alive now (the screening context's name index above all) out of the
    cyclic garbage collector's reach. Its full collections would otherwise walk that heap
    each time, about 0.3 s apiece and several per 20,000 records (docs/benchmarks.md, "The
    matcher: batches, same run"). Called again after a knowledge switch, so the context it
    replaced is collected (frozen objects are still freed by reference counting)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Processor:
    """Screens with :attr:`context`, which the matcher may replace between batches."""

    def __init__(self, store: ScreeningStore, context: Context, metrics: MatcherMetrics) -> None:
        self.store = store
        self.context = context
        self.metrics = metrics

    async def handle(self, msg: Message) -> None:
        """Screen and store one message; returns when its outcome is durably stored."""
        await self.handle_batch([msg])

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        """Screen and store ``messages``; returns when all their outcomes are durably stored."""
        started = time.perf_counter()
        clock = StageClock(last=started)
        context = self.context  # one batch, one context: its findings name one version
        versions = Versions(context.ruleset.version, context.list_version)
        outcomes = [self._screen(msg, context, clock) for msg in messages]
        clock.last = time.perf_counter()
        screenings = [o for o in outcomes if isinstance(o, Screening)]
        refusals = [o for o in outcomes if isinstance(o, Refusal)]
        try:
            stored = await self._with_retries(
                partial(self.store.record_batch, screenings, refusals, versions)
            )
        except ContentRefused:
            stored, refused = await self._one_at_a_time(screenings, refusals, versions)
            refusals = [*refusals, *refused]
        clock.lap("store")
        self._count(screenings, stored, refusals)
        for stage, seconds in clock.spent.items():
            self.metrics.stage_seconds.labels(stage).observe(seconds)
        elapsed = time.perf_counter() - started
        self.metrics.batch_size.observe(len(messages))
        self.metrics.batch_seconds.observe(elapsed)
        for _ in messages:
            self.metrics.processing_seconds.observe(elapsed / len(messages))

    def _screen(self, msg: Message, context: Context, clock: StageClock) -> Screening | Refusal:
        self.metrics.consumed.inc()
        clock.last = time.perf_counter()
        try:
            envelope = Envelope.decode(msg.value)
        except (ValueError, orjson.JSONDecodeError) as exc:
            return _refusal(msg, "kafka", None, (f"not a transfer message: {exc}",), "malformed")
        finally:
            clock.lap("decode")
        record = envelope.record
        reasons = validate_record(record)
        clock.lap("validate")
        if reasons:
            record_id = record.get("record_id") if isinstance(record, dict) else None
            known = isinstance(record_id, str)
            return _refusal(
                msg,
                envelope.integrator,
                record_id if known else None,
                tuple(reasons),
                "schema",
                record_digest(record) if known else None,
            )
        t0 = clock.last
        try:
            transfer = parse_transfer(record)
            clock.lap("parse")
            findings = screen(transfer, context)
            clock.lap("screen")
        except Exception as exc:  # a bug in the core must not stall the stream or lose the record
            log.exception("screening failed at %s[%d]@%d", msg.topic, msg.partition, msg.offset)
            return _refusal(
                msg,
                envelope.integrator,
                record["record_id"],
                (
                    "internal error while screening (the record is kept here to send again "
                    f"once fixed with `ewatch rejected replay`): {exc!r}",
                ),
                "error",
                record_digest(record),
            )
        self.metrics.screening_seconds.observe(clock.last - t0)
        delivery = Delivery(
            envelope.integrator, envelope.received_at, msg.topic, msg.partition, msg.offset
        )
        return Screening(record, findings, delivery, transfer)

    async def _one_at_a_time(
        self, screenings: Sequence[Screening], refusals: Sequence[Refusal], versions: Versions
    ) -> tuple[list[Stored | None], list[Refusal]]:
        """Store a batch the store refused a record at a time, keeping the records it
        refuses as rejected with its reason."""
        stored: list[Stored | None] = []
        refused: list[Refusal] = []
        for s in screenings:
            try:
                stored += await self._with_retries(
                    partial(self.store.record_batch, [s], [], versions)
                )
            except ContentRefused as exc:
                log.warning("the store refused record %s: %s", s.record["record_id"], exc)
                d = s.delivery
                raw = Envelope(d.integrator, d.received_at, s.record).encode().decode()
                rejection = Rejection(d.offset or 0, s.record["record_id"], (str(exc),), raw)
                refused.append(
                    Refusal(d.integrator, rejection, RejectionKind.REFUSED, record_digest(s.record))
                )
                stored.append(None)
        for r in [*refusals, *refused]:
            await self._with_retries(partial(self.store.record_batch, [], [r], versions))
        return stored, refused

    def _count(
        self,
        screenings: Sequence[Screening],
        stored: Sequence[Stored | None],
        refusals: Sequence[Refusal],
    ) -> None:
        now = datetime.now(UTC)
        for s, kept in zip(screenings, stored, strict=True):
            if kept is None:
                self.metrics.stale.inc()
                continue
            self.metrics.screened.inc()
            if kept.new_findings:
                for f in s.findings:
                    self.metrics.findings.labels(f.regime or "none", f.kind.value).inc()
            lag = (now - s.delivery.received_at).total_seconds()
            self.metrics.end_to_end_seconds.observe(max(lag, 0.0))
        for r in refusals:
            self.metrics.rejected.labels(r.kind.value).inc()

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


def _refusal(
    msg: Message,
    integrator: str,
    record_id: str | None,
    reasons: tuple[str, ...],
    kind: str,
    record_sha256: str | None = None,
) -> Refusal:
    log.warning("rejecting %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, "; ".join(reasons))
    raw = msg.value.decode("utf-8", errors="replace")
    rejection = Rejection(msg.offset, record_id, reasons, raw)
    return Refusal(integrator, rejection, RejectionKind(kind), record_sha256)

"""The matcher's Processor with the store in memory: no database, no broker.

Its writes to the real store, offsets and restarts are in tests/integration/test_spine.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from services.broker import Envelope
from services.core import rules
from services.core.context import Context
from services.core.findings import Finding
from services.matcher import processing
from services.matcher.processing import Message, Processor
from services.metrics import MatcherMetrics
from services.store.memory import MemoryStore, RejectionEntry
from services.store.outcomes import (
    ContentRefused,
    Delivery,
    Refusal,
    Screening,
    Stored,
    StoreUnavailable,
    Versions,
)
from services.store.reads import Rejected, Screened
from tests.records import record

CTX = Context(ruleset=rules.load_directory())
RECEIVED = datetime(2024, 11, 21, 9, 30, tzinfo=UTC)
TOPIC = "transfers.v1"


@dataclass
class Flaky:
    """The memory store, raising the queued errors first: a batch with screenings takes
    the next screening error, one with only refusals the next rejection error."""

    store: MemoryStore = field(default_factory=MemoryStore)
    screening_errors: list[Exception] = field(default_factory=list)
    rejection_errors: list[Exception] = field(default_factory=list)
    batches: list[tuple[int, int]] = field(default_factory=list)

    async def record_batch(
        self, screenings: Sequence[Screening], refusals: Sequence[Refusal], versions: Versions
    ) -> list[Stored | None]:
        self.batches.append((len(screenings), len(refusals)))
        errors = self.screening_errors if screenings else self.rejection_errors
        if errors:
            raise errors.pop(0)
        return await self.store.record_batch(screenings, refusals, versions)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The retry back-off's sleeps, noted and not slept (nothing else sleeps in these tests)."""
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return waited


def envelope(rec: dict[str, Any], integrator: str = "it") -> bytes:
    return Envelope(integrator, RECEIVED, rec).encode()


def message(value: bytes, offset: int = 7) -> Message:
    return Message(TOPIC, 2, offset, value)


def sample(metrics: MatcherMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(f"ewatch_matcher_{name}", labels)
    return value or 0.0


def only_rejection(store: MemoryStore) -> dict[str, Any]:
    entries: list[RejectionEntry] = list(store.rejections.values())
    assert len(entries) == 1, entries
    assert entries[0].times_seen == 1
    return entries[0].row


async def test_a_valid_record_is_screened_stored_and_counted() -> None:
    store, metrics = MemoryStore(), MatcherMetrics()
    await Processor(store, CTX, metrics).handle(message(envelope(record("haiti-1"))))

    status = await store.transfer_status("it", "haiti-1")
    assert isinstance(status, Screened)
    assert [(f["kind"], f["regime"], f["rule_id"], f["phase"]) for f in status.findings] == [
        ("violation", "HT", "HT.territory", "HT-2752-all-arms-territorial"),
        ("indicator", None, "indicator.end_user_certificate_missing", None),
    ]
    assert status.ruleset_version == CTX.ruleset.version
    assert store.transfers["it", "haiti-1"].delivery == Delivery("it", RECEIVED, TOPIC, 2, 7)
    assert store.rejections == {}
    assert sample(metrics, "records_consumed_total") == 1
    assert sample(metrics, "records_screened_total") == 1
    assert sample(metrics, "findings_total", regime="HT", kind="violation") == 1
    assert sample(metrics, "findings_total", regime="none", kind="indicator") == 1
    assert sample(metrics, "records_rejected_total", reason="schema") == 0
    assert sample(metrics, "processing_seconds_count") == 1


async def test_an_invalid_record_is_kept_as_rejected_with_its_reason() -> None:
    store, metrics = MemoryStore(), MatcherMetrics()
    rec = record("bad-1")
    del rec["transfer_date"]
    value = envelope(rec, integrator="acme")
    await Processor(store, CTX, metrics).handle(message(value))

    row = only_rejection(store)
    assert row["integrator"] == "acme"
    assert row["record_id"] == "bad-1"
    assert row["reasons"] == ["record: 'transfer_date' is a required property"]
    assert row["raw"] == value.decode()
    assert row["source"] == "kafka"
    assert store.transfers == {}
    assert await store.transfer_status("acme", "bad-1") == Rejected(
        "bad-1", ("record: 'transfer_date' is a required property",)
    )
    assert sample(metrics, "records_rejected_total", reason="schema") == 1
    assert sample(metrics, "records_screened_total") == 0


async def test_a_message_that_is_no_envelope_is_kept_as_rejected_from_kafka() -> None:
    store, metrics = MemoryStore(), MatcherMetrics()
    await Processor(store, CTX, metrics).handle(message(b"[1, 2]"))

    row = only_rejection(store)
    assert (row["integrator"], row["record_id"], row["raw"]) == ("kafka", None, "[1, 2]")
    assert row["reasons"] == ["not a transfer message: message is not a JSON object"]
    assert sample(metrics, "records_rejected_total", reason="malformed") == 1


async def test_an_unavailable_store_is_retried_with_back_off_until_it_answers(
    waits: list[float],
) -> None:
    flaky, metrics = Flaky(), MatcherMetrics()
    flaky.screening_errors = [StoreUnavailable("down"), StoreUnavailable("still down")]
    await Processor(flaky, CTX, metrics).handle(message(envelope(record("r-1"))))

    assert isinstance(await flaky.store.transfer_status("it", "r-1"), Screened)
    assert waits == [0.2, 0.4]
    assert sample(metrics, "store_retries_total") == 2
    assert sample(metrics, "records_screened_total") == 1
    assert flaky.store.rejections == {}


async def test_a_rejection_is_retried_too(waits: list[float]) -> None:
    flaky, metrics = Flaky(), MatcherMetrics()
    flaky.rejection_errors = [StoreUnavailable("down")]
    await Processor(flaky, CTX, metrics).handle(message(b"not json"))

    assert only_rejection(flaky.store)["integrator"] == "kafka"
    assert waits == [0.2]
    assert sample(metrics, "store_retries_total") == 1
    assert sample(metrics, "records_rejected_total", reason="malformed") == 1


async def test_content_the_store_refuses_is_kept_as_rejected_with_the_reason() -> None:
    flaky, metrics = Flaky(), MatcherMetrics()
    refusal = "PostgreSQL refused to store it: value too long for type character varying(2)"
    flaky.screening_errors = [ContentRefused(refusal), ContentRefused(refusal)]  # batch, alone
    value = envelope(record("r-2"))
    await Processor(flaky, CTX, metrics).handle(message(value))

    row = only_rejection(flaky.store)
    assert (row["record_id"], row["reasons"], row["raw"]) == ("r-2", [refusal], value.decode())
    assert row["reason_kind"] == "refused"
    assert flaky.store.transfers == {}
    assert sample(metrics, "records_rejected_total", reason="refused") == 1
    assert sample(metrics, "records_screened_total") == 0
    assert sample(metrics, "store_retries_total") == 0


async def test_an_internal_screening_error_keeps_the_record_with_its_payload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: object) -> list[Finding]:
        raise RuntimeError("boom")

    monkeypatch.setattr(processing, "screen", broken)
    store, metrics = MemoryStore(), MatcherMetrics()
    value = envelope(record("r-3"))
    await Processor(store, CTX, metrics).handle(message(value))

    row = only_rejection(store)
    assert row["record_id"] == "r-3"
    assert row["reasons"] == [
        "internal error while screening (the record is kept here to send again once fixed "
        "with `ewatch rejected replay`): RuntimeError('boom')"
    ]
    assert row["raw"] == value.decode()
    assert store.transfers == {}
    assert sample(metrics, "records_rejected_total", reason="error") == 1
    assert sample(metrics, "records_screened_total") == 0


async def test_a_lasting_store_fault_stops_the_handling_and_counts_nothing_screened() -> None:
    flaky, metrics = Flaky(), MatcherMetrics()
    flaky.screening_errors = [RuntimeError("the schema is behind the code")]
    with pytest.raises(RuntimeError, match="schema is behind"):
        await Processor(flaky, CTX, metrics).handle(message(envelope(record("r-4"))))
    assert flaky.store.transfers == {}
    assert flaky.store.rejections == {}
    assert sample(metrics, "records_screened_total") == 0


async def test_a_redelivered_record_adds_no_findings_and_counts_them_once() -> None:
    store, metrics = MemoryStore(), MatcherMetrics()
    processor = Processor(store, CTX, metrics)
    value = envelope(record("r-5"))
    await processor.handle(message(value, offset=11))
    first = await store.transfer_status("it", "r-5")
    await processor.handle(message(value, offset=11))

    second = await store.transfer_status("it", "r-5")
    assert isinstance(first, Screened)
    assert isinstance(second, Screened)
    assert len(first.findings) == 2
    assert second.findings == first.findings
    assert store.transfers["it", "r-5"].times_screened == 2
    assert sample(metrics, "records_consumed_total") == 2
    assert sample(metrics, "records_screened_total") == 2
    assert sample(metrics, "findings_total", regime="HT", kind="violation") == 1


async def test_a_batch_is_stored_in_one_call_and_counted_record_by_record() -> None:
    flaky, metrics = Flaky(), MatcherMetrics()
    bad = record("b-2")
    del bad["route"]
    batch = [
        message(envelope(record("b-1")), offset=1),
        message(envelope(bad), offset=2),
        message(b"{", offset=3),
        message(envelope(record("b-4")), offset=4),
    ]
    await Processor(flaky, CTX, metrics).handle_batch(batch)

    assert flaky.batches == [(2, 2)]
    assert set(flaky.store.transfers) == {("it", "b-1"), ("it", "b-4")}
    kinds = sorted(e.row["reason_kind"] for e in flaky.store.rejections.values())
    assert kinds == ["malformed", "schema"]
    assert sample(metrics, "records_consumed_total") == 4
    assert sample(metrics, "records_screened_total") == 2
    assert sample(metrics, "batch_size_count") == 1
    assert sample(metrics, "batch_size_sum") == 4
    assert sample(metrics, "processing_seconds_count") == 4
    for stage in processing.STAGES:  # each stage observed once for the batch, and taking time
        assert sample(metrics, "batch_stage_seconds_count", stage=stage) == 1
        assert sample(metrics, "batch_stage_seconds_sum", stage=stage) > 0


async def test_a_batch_the_store_refuses_is_kept_a_record_at_a_time() -> None:
    """The store cannot say which record it refused: each is tried alone, and only the
    one refused again is kept as rejected; the others are screened."""
    flaky, metrics = Flaky(), MatcherMetrics()
    refusal = "PostgreSQL refused to store it: invalid byte sequence"
    # The whole batch, then b-1 alone goes through, b-2 alone is refused, b-3 goes through.
    flaky.screening_errors = [ContentRefused(refusal)]
    store = flaky.store
    real = store.record_batch

    async def refuse_b2(
        screenings: Sequence[Screening], refusals: Sequence[Refusal], versions: Versions
    ) -> list[Stored | None]:
        if [s.record["record_id"] for s in screenings] == ["b-2"]:
            raise ContentRefused(refusal)
        return await real(screenings, refusals, versions)

    store.record_batch = refuse_b2  # type: ignore[method-assign]
    batch = [message(envelope(record(f"b-{i}")), offset=i) for i in (1, 2, 3)]
    await Processor(flaky, CTX, metrics).handle_batch(batch)

    assert set(store.transfers) == {("it", "b-1"), ("it", "b-3")}
    row = only_rejection(store)
    assert (row["record_id"], row["reasons"], row["reason_kind"]) == ("b-2", [refusal], "refused")
    assert sample(metrics, "records_screened_total") == 2
    assert sample(metrics, "records_rejected_total", reason="refused") == 1


async def test_a_batch_screens_with_the_context_it_started_with() -> None:
    """The matcher may switch context between batches; a batch names one version."""
    store, metrics = MemoryStore(), MatcherMetrics()
    processor = Processor(store, CTX, metrics)
    await processor.handle_batch([message(envelope(record("v-1")), offset=1)])
    newer = Context(ruleset=dataclasses.replace(CTX.ruleset, version=CTX.ruleset.version + 1))
    processor.context = newer
    await processor.handle_batch([message(envelope(record("v-2")), offset=2)])

    assert store.transfers["it", "v-1"].ruleset_version == CTX.ruleset.version
    assert store.transfers["it", "v-2"].ruleset_version == CTX.ruleset.version + 1


def test_freezing_the_heap_again_lets_what_it_froze_be_collected() -> None:
    """The matcher freezes its heap after loading a context and again after switching: the
    replaced context, frozen the first time, must not outlive the second."""

    class Node:
        cycle: Node

    node = Node()
    node.cycle = node  # only the cyclic collector frees it
    gone = weakref.ref(node)
    try:
        processing.freeze_heap()
        del node
        gc.collect()
        assert gone() is not None  # frozen: out of the collector's reach
        processing.freeze_heap()
        assert gone() is None
    finally:
        gc.unfreeze()

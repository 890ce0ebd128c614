"""Kafka plumbing shared by ingest, matcher and tests: topics, producer, envelope.

The embedded tansu broker does not support the idempotent producer (see
docs/architecture.md), so the producer runs with ``acks=all`` and idempotence
off; exactly-once *effects* come from record keys plus idempotent writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.structs import RecordMetadata

SCHEMA_HEADER = ("ewatch-schema", b"transfer.v1")
#: The longest integrator name there is: what the store's columns hold. Ingest refuses a
#: longer one at the door; an envelope carrying one is not a transfer message.
MAX_INTEGRATOR_CHARS = 200


@dataclass(frozen=True, slots=True)
class Envelope:
    """What travels on ``transfers.v1``: the record and where it came from."""

    integrator: str
    received_at: datetime
    record: dict[str, Any]

    def encode(self) -> bytes:
        return orjson.dumps(
            {"integrator": self.integrator, "received_at": self.received_at, "record": self.record}
        )

    @classmethod
    def decode(cls, value: bytes) -> Envelope:
        """Raise ``ValueError`` if ``value`` is not an envelope.

        A bare record (an integrator producing straight to Kafka) is accepted
        too, as integrator ``kafka``. An envelope whose integrator or receive time
        the store could not keep is not one: the matcher keeps it as malformed
        instead of failing the batch it came in.
        """
        doc = orjson.loads(value)
        if not isinstance(doc, dict):
            raise ValueError("message is not a JSON object")
        if "record" in doc and "integrator" in doc:
            integrator, received = doc["integrator"], doc.get("received_at")
            if not isinstance(integrator, str) or len(integrator) > MAX_INTEGRATOR_CHARS:
                raise ValueError(
                    f"the envelope's integrator is not a name of at most {MAX_INTEGRATOR_CHARS} "
                    "characters"
                )
            at = _time_with_zone(received)
            if at is None:
                raise ValueError("the envelope's received_at is not a time with its time zone")
            return cls(integrator, at, doc["record"])
        return cls("kafka", datetime.now(UTC), doc)


def _time_with_zone(value: object) -> datetime | None:
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return at if at is not None and at.tzinfo is not None else None


async def publish(
    producer: AIOKafkaProducer, topic: str, envelopes: Sequence[Envelope]
) -> list[RecordMetadata]:
    """Send ``envelopes`` keyed by record_id (one record, one partition, in order) and wait
    until Kafka has acknowledged every one; raises ``KafkaError`` otherwise."""
    futures = [
        await producer.send(
            topic,
            value=e.encode(),
            key=str(e.record["record_id"]).encode(),
            headers=[SCHEMA_HEADER, ("ewatch-integrator", e.integrator.encode())],
        )
        for e in envelopes
    ]
    return list(await asyncio.gather(*futures))


async def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create ``topic`` if it does not exist; existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=partitions, replication_factor=1)]
        )
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a deadline across retries, not one await
    """Block until the broker answers metadata requests, or raise ``KafkaError``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (answer := await broker_answers(bootstrap)) != "ok":
        if asyncio.get_running_loop().time() > deadline:
            raise KafkaConnectionError(answer)
        await asyncio.sleep(0.5)


async def topic_backlog(bootstrap: str, topic: str, group: str) -> tuple[int, int]:
    """Messages ``topic`` holds, and how many of them consumer group ``group`` has not
    committed (summed over partitions)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=5000,
    )
    try:
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return 0, 0
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        held = uncommitted = 0
        for tp in partitions:
            committed = await consumer.committed(tp)
            held += ends[tp] - starts[tp]
            uncommitted += ends[tp] - (starts[tp] if committed is None else committed)
        return held, max(uncommitted, 0)
    finally:
        await consumer.stop()


async def broker_answers(bootstrap: str, timeout_s: float = 3.0) -> str:
    """ "ok" if the broker answers a metadata request within ``timeout_s``; else why not."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()  # a metadata request
            await admin.list_topics()
    except (KafkaError, OSError) as exc:
        why = str(exc) or type(exc).__name__
        return f"error: the broker at {bootstrap} does not answer ({why})"
    finally:
        await admin.close()
    return "ok"


def make_producer(bootstrap: str, request_timeout_s: float = 30.0) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        compression_type=None,
        request_timeout_ms=int(request_timeout_s * 1000),
        max_request_size=4 * 1024 * 1024,
    )

"""The matcher's Kafka transport: Faust's aiokafka driver with the fetch wait set.

Faust builds its consumer with ``fetch_max_wait_ms=1500``, not a setting. Apache Kafka
answers a fetch as soon as a record is there, so the figure only bounds idle polls; the
embedded broker (tansu) holds the fetch for about that long even once records arrive
(measured in docs/benchmarks.md, "The matcher: batches, same run"), which alone put the
end-to-end latency of a record near a second. ``EWATCH_KAFKA_FETCH_MAX_WAIT_S`` sets it.
"""

from __future__ import annotations

from typing import cast

import aiokafka
import faust
from faust.transport.drivers import aiokafka as driver


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: driver.Transport) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher, after this returns.
        consumer._fetch_max_wait_ms = cast(Transport, transport).fetch_max_wait_ms
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = _Consumer

    def __init__(self, app: faust.App, fetch_max_wait_s: float) -> None:
        super().__init__(app.conf.broker_consumer, app)
        self.fetch_max_wait_ms = max(1, round(fetch_max_wait_s * 1000))

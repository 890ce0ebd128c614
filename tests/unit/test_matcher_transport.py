"""The matcher's consumer gets the fetch wait of its settings, not Faust's 1.5 s."""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaConsumer

from services.matcher.app import faust_app
from services.settings import Settings


async def test_the_consumer_waits_as_long_as_the_settings_say(tmp_path: Path) -> None:
    # The attribute the transport sets is the one aiokafka builds its fetcher from.
    plain = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9", fetch_max_wait_ms=1234)
    assert plain._fetch_max_wait_ms == 1234
    app = faust_app(Settings(kafka_fetch_max_wait_s=0.25), "127.0.0.1:9", tmp_path)
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 250
    finally:
        await consumer.stop()
        await plain.stop()

"""The matcher: a Faust app that screens every record on ``transfers.v1``.

At-least-once with idempotent writes (see docs/architecture.md): the agent takes
batches with ``stream.noack_take`` — which, unlike ``take``, leaves acknowledging to
us; ``take`` acks a batch's events in a ``finally`` even when handling it failed — and
acknowledges a batch's events only after
:class:`~services.matcher.processing.Processor` has stored all their outcomes in one
transaction. It runs with ``concurrency=1`` (Faust can commit past in-flight events with
more, faust-streaming#606); scale-out is by partitions and worker processes. Two timers
keep the knowledge current and the ledger reconciled (:mod:`services.matcher.upkeep`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.broker import broker_answers
from services.core.context import Context
from services.matcher.processing import Message, Processor, freeze_heap
from services.matcher.transport import Transport
from services.matcher.upkeep import KnowledgeWatcher, Reconciler
from services.metrics import MatcherMetrics
from services.settings import Settings
from services.store import db
from services.store.patterns import PatternRules
from services.store.postgres import PostgresStore

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    bootstrap: str,
    engine: AsyncEngine,
    context: Context,
    metrics: MatcherMetrics | None = None,
    datadir: Path | None = None,
) -> faust.App:
    metrics = metrics or MatcherMetrics()
    metrics.ruleset_version.set(context.ruleset.version)
    store = PostgresStore(engine, PatternRules.from_settings(settings))
    processor = Processor(store, context, metrics)
    app = faust_app(settings, bootstrap, datadir or settings.data_dir / "matcher")
    topic = transfers_topic(app, settings)

    @app.agent(topic, concurrency=1, name="screen_transfers")
    async def screen_transfers(stream: Any) -> None:
        batches = stream.noack_take(
            settings.matcher_batch_max, within=settings.matcher_batch_within_s
        )
        waited: float | None = None  # the first batch's wait is the worker's start-up
        async for events in batches:
            if waited is not None:
                metrics.stage_seconds.labels("wait").observe(time.perf_counter() - waited)
            await processor.handle_batch(
                [
                    Message(m.topic, m.partition, m.offset, m.value)
                    for m in (e.message for e in events)
                ]
            )
            acking = time.perf_counter()
            for event in events:  # only now may their offsets be committed
                await stream.ack(event)
            waited = time.perf_counter()
            metrics.stage_seconds.labels("ack").observe(waited - acking)

    sync_engine = db.sync_engine(engine.url.render_as_string(hide_password=False))
    watcher = KnowledgeWatcher(sync_engine, processor, metrics)
    reconciler = Reconciler(engine, settings, bootstrap, metrics)

    @app.timer(settings.reload_interval_s, name="watch_knowledge")  # type: ignore[untyped-decorator]
    async def watch_knowledge() -> None:
        await watcher.tick()

    @app.timer(settings.reconcile_interval_s, name="reconcile_ledger")  # type: ignore[untyped-decorator]
    async def reconcile_ledger() -> None:
        await reconciler.tick()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_upkeep(app: faust.App, **kwargs: Any) -> None:
        await reconciler.stop()
        sync_engine.dispose()

    @app.page("/metrics")
    async def metrics_view(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset inside content_type=, so the header is set directly.
        return web.bytes(
            generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        checks = {}
        try:
            await db.ping(engine)
            checks["database"] = "ok"
        except (SQLAlchemyError, OSError) as exc:
            checks["database"] = f"error: {exc}"
        # Faust keeps retrying a broker that is gone; ask it directly.
        checks["kafka"] = "rebalancing" if app.rebalancing else await broker_answers(bootstrap)
        ready = all(v == "ok" for v in checks.values())
        return web.json({"ready": ready, "checks": checks}, status=200 if ready else 503)

    return app


def faust_app(settings: Settings, bootstrap: str, datadir: Path) -> faust.App:
    """The Faust app the matcher's agent runs in, with its broker options (bench/matcher.py
    runs a no-op agent in the same app to measure what Faust and the broker cost)."""
    datadir = datadir.resolve()
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app = faust.App(
        settings.matcher_group,
        broker=[f"kafka://{host}" for host in bootstrap.split(",")],
        store="memory://",
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=True,
        web_host=settings.host,
        web_port=settings.matcher_port,
        web_in_thread=False,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_rebalance_timeout=settings.kafka_rebalance_timeout_s,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_s,
        broker_request_timeout=settings.kafka_request_timeout_s,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        topic_partitions=settings.topic_partitions,
        topic_disable_leader=True,
    )
    app.transport = Transport(app, settings.kafka_fetch_max_wait_s)
    return app


def transfers_topic(app: faust.App, settings: Settings) -> Any:
    """``transfers.v1`` as the agent reads it: raw bytes, decoded by the processor."""
    return app.topic(
        settings.transfers_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topic_partitions,
    )


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run the worker until SIGINT/SIGTERM; blocks."""
    worker = faust.Worker(app, loglevel=loglevel, override_logging=False)
    freeze_heap()
    worker.execute_from_commandline()

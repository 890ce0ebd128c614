"""The ingest HTTP API: integrators POST transfer records; valid ones go to Kafka.

Every record in a request is answered for: ``accepted`` means it is in the ledger of
accepted records in PostgreSQL *and* Kafka has acknowledged it (``acks=all``) — the
ledger rows are inserted in one statement, the records published, and the transaction
committed only then; ``rejected`` means it is kept in PostgreSQL with the reasons given
in the answer. If that cannot be guaranteed (broker or database down) the whole request
fails with 503 and nothing of it is accepted; a retry duplicates nothing, since
publishing is keyed by record_id and the matcher's writes are idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.broker import MAX_INTEGRATOR_CHARS, Envelope, make_producer, publish
from services.core.findings import SUMMARY_FIELDS
from services.core.validation import Accepted, BodyError, Rejection, decode_batch
from services.metrics import IngestMetrics
from services.settings import Settings
from services.store import db, ledger, reads
from services.store.rejections import RejectionKind, record_rejections

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A dependency (Kafka, PostgreSQL) failed; the integrator should retry."""


@dataclass
class Deps:
    settings: Settings
    bootstrap: str
    database_url: str
    metrics: IngestMetrics
    engine: AsyncEngine | None = None
    producer: AIOKafkaProducer | None = None


def _reason_kind(rejection: Rejection) -> RejectionKind:
    if "malformed JSON" in rejection.reasons[0]:
        return RejectionKind.MALFORMED_JSON
    return RejectionKind.SCHEMA


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it exceeds ``limit`` bytes (never buffered past it)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, reason: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": reason, **extra}, status_code=status)


async def _accept(deps: Deps, integrator: str, accepted: Sequence[Accepted]) -> None:
    """Make ``accepted`` durable in the ledger and in Kafka, or neither (then raise)."""
    assert deps.engine is not None
    assert deps.producer is not None
    now = datetime.now(UTC)
    records = [a.record for a in accepted]
    try:
        async with db.sessions(deps.engine).begin() as session:
            await ledger.accept(session, integrator, records, now)
            try:
                envelopes = [Envelope(integrator, now, r) for r in records]
                await publish(deps.producer, deps.settings.transfers_topic, envelopes)
            except KafkaError as exc:  # leaving the block rolls the ledger rows back
                deps.metrics.publish_failures.inc()
                raise ServiceUnavailable(f"Kafka did not acknowledge the records: {exc}") from exc
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable(f"could not record the accepted records: {exc}") from exc


async def _keep_rejections(
    deps: Deps, integrator: str, rejected: Sequence[Rejection], kind: RejectionKind | None = None
) -> None:
    if not rejected:
        return
    assert deps.engine is not None
    try:
        async with db.sessions(deps.engine).begin() as session:
            for reason_kind, same in groupby(
                sorted(rejected, key=lambda r: kind or _reason_kind(r)),
                key=lambda r: kind or _reason_kind(r),
            ):
                await record_rejections(
                    session, integrator, list(same), "http", reason_kind=reason_kind
                )
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable(f"could not store the rejected records: {exc}") from exc


def _integrator(request: Request, settings: Settings) -> str | None:
    """Who is sending (or asking), from the integrator header; None if it is too long to
    keep, rather than a name cut short that a later look-up would not find."""
    name = request.headers.get(settings.integrator_header, "") or "anonymous"
    return name if len(name) <= MAX_INTEGRATOR_CHARS else None


def _integrator_too_long(settings: Settings) -> JSONResponse:
    return _error(
        400,
        f"the {settings.integrator_header} header is longer than {MAX_INTEGRATOR_CHARS} "
        "characters; use a shorter integrator name",
    )


def _status(accepted: int, rejected: int) -> int:
    if rejected == 0:
        return 202
    if accepted == 0:
        return 422
    return 207


async def receive(deps: Deps, request: Request) -> JSONResponse:
    settings, metrics = deps.settings, deps.metrics
    integrator = _integrator(request, settings)
    if integrator is None:
        return _integrator_too_long(settings)
    body = await _read_body(request, settings.max_body_bytes)
    if body is None:
        metrics.rejected.labels("too_large").inc()
        return _error(
            413,
            f"request body larger than {settings.max_body_bytes} bytes; split the batch",
            max_body_bytes=settings.max_body_bytes,
        )
    try:
        outcomes = list(decode_batch(body, request.headers.get("content-type", "")))
    except BodyError as exc:
        metrics.rejected.labels("body").inc()
        raw = body.decode("utf-8", errors="replace")
        rejection = Rejection(0, None, (str(exc),), raw)
        await _keep_rejections(deps, integrator, [rejection], RejectionKind.BODY)
        return _error(
            400,
            str(exc),
            results=[{"index": 0, "record_id": None, "status": "rejected", "reasons": [str(exc)]}],
        )
    if len(outcomes) > settings.max_records_per_request:
        metrics.rejected.labels("too_large").inc(len(outcomes))
        return _error(
            413,
            f"{len(outcomes)} records in one request; the limit is "
            f"{settings.max_records_per_request}",
        )
    metrics.received.labels("http").inc(len(outcomes))
    accepted = [o for o in outcomes if isinstance(o, Accepted)]
    rejected = [o for o in outcomes if isinstance(o, Rejection)]
    await _keep_rejections(deps, integrator, rejected)
    if accepted:
        await _accept(deps, integrator, accepted)
    metrics.accepted.inc(len(accepted))
    for r in rejected:
        metrics.rejected.labels(_reason_kind(r).value).inc()
    results = [
        {"index": o.index, "record_id": o.transfer.record_id, "status": "accepted"}
        if isinstance(o, Accepted)
        else {
            "index": o.index,
            "record_id": o.record_id,
            "status": "rejected",
            "reasons": list(o.reasons),
        }
        for o in outcomes
    ]
    return JSONResponse(
        {
            "integrator": integrator,
            "received": len(outcomes),
            "accepted": len(accepted),
            "rejected": len(rejected),
            "results": results,
        },
        status_code=_status(len(accepted), len(rejected)),
    )


async def transfer_status(deps: Deps, integrator: str, record_id: str) -> JSONResponse:
    assert deps.engine is not None
    match await reads.transfer_status(deps.engine, integrator, record_id):
        case reads.Screened() as screened:
            return JSONResponse(
                {
                    "record_id": record_id,
                    "status": "screened",
                    "screened_at": screened.screened_at.isoformat(),
                    "ruleset_version": screened.ruleset_version,
                    "list_version": screened.list_version,
                    "findings": [_published(f) for f in screened.findings],
                }
            )
        case reads.Rejected(reasons=reasons):
            return JSONResponse(
                {"record_id": record_id, "status": "rejected", "reasons": list(reasons)}
            )
        case None:
            return _error(
                404,
                f"no screened or rejected record {record_id!r} for integrator "
                f"{integrator!r} (yet: screening takes a moment after acceptance)",
            )


def _published(finding: Mapping[str, object]) -> dict[str, object]:
    return {name: finding[name] for name in SUMMARY_FIELDS}


def create_app(settings: Settings, *, bootstrap: str, database_url: str) -> FastAPI:
    deps = Deps(settings, bootstrap, database_url, IngestMetrics())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        deps.engine = db.async_engine(database_url)
        deps.producer = make_producer(bootstrap, settings.kafka_request_timeout_s)
        await deps.producer.start()
        try:
            yield
        finally:
            await deps.producer.stop()
            await deps.engine.dispose()

    app = FastAPI(title="Embargo Watch ingest", version="1", lifespan=lifespan)
    app.state.deps = deps

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        log.error("ingest dependency failed: %s", exc)
        return _error(
            503, f"{exc}; nothing was accepted from this request, retry it", retryable=True
        )

    @app.post("/v1/transfers")
    async def post_transfers(request: Request) -> JSONResponse:
        """Accept one JSON record, a JSON array of records, or NDJSON."""
        started = time.perf_counter()
        status = 500
        try:
            response = await receive(deps, request)
            status = response.status_code
            return response
        except ServiceUnavailable:
            status = 503  # answered by the handler above
            raise
        finally:
            deps.metrics.requests.labels(str(status)).inc()
            deps.metrics.request_seconds.observe(time.perf_counter() - started)

    @app.get("/v1/transfers/{record_id}")
    async def get_transfer(request: Request, record_id: str) -> JSONResponse:
        """Where one record stands: screened (with its findings), rejected, or not yet seen."""
        integrator = _integrator(request, settings)
        if integrator is None:
            return _integrator_too_long(settings)
        return await transfer_status(deps, integrator, record_id)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            assert deps.engine is not None
            await db.ping(deps.engine)
            checks["database"] = "ok"
        except (SQLAlchemyError, OSError) as exc:
            checks["database"] = f"error: {exc}"
        try:
            assert deps.producer is not None
            await deps.producer.client.fetch_all_metadata()
            checks["kafka"] = "ok"
        except KafkaError as exc:
            checks["kafka"] = f"error: {exc}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(deps.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app

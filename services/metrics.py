"""Every Prometheus metric of Embargo Watch, declared in one place.

Each long-running process owns one registry (ingest, matcher, review), served on its
``/metrics``. Label values are bounded: ``regime`` is one of the ~15 regime
ids or ``none``; ``kind`` is violation|indicator; ``reason``, ``stage`` and
``reason_kind`` are short fixed vocabularies named in the help texts or in
``services.store.rejections.REASON_KINDS``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

NAMESPACE = "ewatch"
# The *_created series double every counter for little use on dashboards.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: HTTP batches take milliseconds to seconds; screening one record takes micro- to milliseconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RECORD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "records_received",
            "Records received from integrators.",
            ["source"],
            namespace=NAMESPACE,
            subsystem="ingest",
            registry=r,
        )
        self.accepted = Counter(
            "records_accepted",
            "Records validated and published to Kafka.",
            namespace=NAMESPACE,
            subsystem="ingest",
            registry=r,
        )
        self.rejected = Counter(
            "records_rejected",
            "Records rejected, by reason: schema | malformed_json | body | too_large.",
            ["reason"],
            namespace=NAMESPACE,
            subsystem="ingest",
            registry=r,
        )
        self.requests = Counter(
            "requests",
            "HTTP requests to POST /v1/transfers by status code.",
            ["status"],
            namespace=NAMESPACE,
            subsystem="ingest",
            registry=r,
        )
        self.request_seconds = Histogram(
            "request_duration_seconds",
            "Time to answer POST /v1/transfers.",
            namespace=NAMESPACE,
            subsystem="ingest",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.publish_failures = Counter(
            "publish_failures",
            "Batches not accepted because Kafka did not acknowledge them.",
            namespace=NAMESPACE,
            subsystem="ingest",
            registry=r,
        )


class MatcherMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "records_consumed",
            "Messages read from the transfers topic.",
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.screened = Counter(
            "records_screened",
            "Records screened and stored with their findings.",
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.rejected = Counter(
            "records_rejected",
            "Messages the matcher could not screen, kept as rejected: "
            "schema | malformed | error | refused.",
            ["reason"],
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.findings = Counter(
            "findings",
            "Findings stored (new ones only, not re-deliveries), by regime and kind.",
            ["regime", "kind"],
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.processing_seconds = Histogram(
            "processing_seconds",
            "Time to screen one record and store its findings.",
            namespace=NAMESPACE,
            subsystem="matcher",
            buckets=RECORD_BUCKETS,
            registry=r,
        )
        self.screening_seconds = Histogram(
            "screening_seconds",
            "Time the pure core spends screening one record.",
            namespace=NAMESPACE,
            subsystem="matcher",
            buckets=RECORD_BUCKETS,
            registry=r,
        )
        self.end_to_end_seconds = Histogram(
            "end_to_end_seconds",
            "From ingest receiving a record to its findings being stored.",
            namespace=NAMESPACE,
            subsystem="matcher",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.store_retries = Counter(
            "store_retries",
            "Database writes retried after a transient failure.",
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.ruleset_version = Gauge(
            "ruleset_version",
            "Version of the ruleset the matcher screens with.",
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.rejected_records = Gauge(
            "rejected_records",
            "Rejected records kept in PostgreSQL, by reason kind.",
            ["reason_kind"],
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.knowledge_reloads = Counter(
            "knowledge_reloads",
            "Times the matcher switched to a newly activated ruleset, list or annex.",
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.batch_size = Histogram(
            "batch_size",
            "Messages screened and stored in one transaction.",
            namespace=NAMESPACE,
            subsystem="matcher",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000),
            registry=r,
        )
        self.batch_seconds = Histogram(
            "batch_seconds",
            "Time to screen a batch and store its outcomes.",
            namespace=NAMESPACE,
            subsystem="matcher",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "batch_stage_seconds",
            "Time one batch spent in each stage: wait (for Faust to hand the next batch over, "
            "idle time included) | decode (the envelope's JSON) | validate | parse | screen | "
            "store (the transaction, commit included) | ack.",
            ["stage"],
            namespace=NAMESPACE,
            subsystem="matcher",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.stale = Counter(
            "records_stale",
            "Deliveries not kept because newer content of the record was accepted since.",
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.pending = Gauge(
            "pending_records",
            "Accepted records not screened or rejected yet, by integrator (from the ledger).",
            ["integrator"],
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.oldest_pending_seconds = Gauge(
            "oldest_pending_seconds",
            "Age of the oldest accepted record not screened or rejected yet, by integrator.",
            ["integrator"],
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )
        self.republished = Counter(
            "records_republished",
            "Accepted records the reconciler published again, unsettled after the delay.",
            namespace=NAMESPACE,
            subsystem="matcher",
            registry=r,
        )


class ReviewMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "requests",
            "HTTP requests to the review workspace, by route template and status code.",
            ["route", "status"],
            namespace=NAMESPACE,
            subsystem="review",
            registry=r,
        )
        self.request_seconds = Histogram(
            "request_duration_seconds",
            "Time to answer a request, by route template.",
            ["route"],
            namespace=NAMESPACE,
            subsystem="review",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.sign_ins = Counter(
            "sign_ins",
            "Sign-in attempts by outcome: ok | refused | limited.",
            ["outcome"],
            namespace=NAMESPACE,
            subsystem="review",
            registry=r,
        )
        self.decisions = Counter(
            "status_changes",
            "Findings moved to a status by a reviewer (bulk moves count each finding).",
            ["status"],
            namespace=NAMESPACE,
            subsystem="review",
            registry=r,
        )

"""Process settings: read once from ``EWATCH_*`` environment variables.

Nothing else in the code base reads ``os.environ`` for configuration; each
process builds one frozen :class:`Settings` at start-up and passes it down.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EWATCH_", frozen=True, extra="ignore")

    #: SQLAlchemy URL (``postgresql+psycopg://…``). Unset: the embedded PostgreSQL.
    database_url: SecretStr | None = None
    #: ``host:port[,host:port]``. Unset: the embedded tansu broker.
    kafka_bootstrap_servers: str | None = None
    data_dir: Path = Path(".ewatch")

    transfers_topic: str = "transfers.v1"
    topic_partitions: int = Field(default=4, ge=1)
    matcher_group: str = "ewatch-matcher"

    host: str = "127.0.0.1"
    ingest_port: int = 8080
    matcher_port: int = 9101
    #: The review workspace (``ewatch review``): pages and the JSON API under /api/v1.
    review_port: int = 8081
    #: Port of the embedded broker when ``kafka_bootstrap_servers`` is unset.
    embedded_kafka_port: int = 9092
    #: On stop, how long ``ewatch up`` waits for the matcher to screen what the embedded
    #: broker still holds (its memory storage loses it once stopped).
    drain_timeout_s: float = Field(default=300.0, ge=0)

    #: The matcher screens and stores up to this many records in one transaction, waiting at
    #: most ``matcher_batch_within_s`` for a batch to fill.
    matcher_batch_max: int = Field(default=500, ge=1)
    matcher_batch_within_s: float = Field(default=0.05, gt=0)
    #: How often each matcher checks for a newly activated ruleset, list or annex.
    reload_interval_s: float = Field(default=2.0, gt=0)
    #: How often the reconciler looks at the ledger, and how long an accepted record may
    #: stay unsettled before it is published again (only while the matcher's consumer
    #: group has fewer than ``reconcile_max_lag`` messages to read: a long backlog is
    #: waiting, not lost).
    reconcile_interval_s: float = Field(default=5.0, gt=0)
    republish_after_s: float = Field(default=30.0, ge=0)
    reconcile_max_lag: int = Field(default=1000, ge=0)
    reconcile_batch: int = Field(default=5000, ge=1)

    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_records_per_request: int = Field(default=10_000, ge=1)
    integrator_header: str = "X-Ewatch-Integrator"

    #: Short timeouts suit the single-node embedded broker; raise them for a real cluster.
    kafka_session_timeout_s: float = 10.0
    kafka_rebalance_timeout_s: float = 10.0
    kafka_heartbeat_interval_s: float = 3.0
    kafka_request_timeout_s: float = 30.0
    #: How long the broker may hold the matcher's fetch open with nothing to return. Kafka
    #: answers once a record is there; the embedded broker holds it about this long anyway,
    #: so it bounds the latency of a record at a quiet topic (Faust's own figure: 1.5 s).
    kafka_fetch_max_wait_s: float = Field(default=0.1, gt=0)

    # Diversion patterns across transfers: unset, the default of the same name in
    # services/core/patterns/tuning.py PatternRules (docs/architecture.md says why).
    pattern_split_window_days: int | None = Field(default=None, ge=1)
    pattern_weapons_threshold: float | None = Field(default=None, gt=0)
    pattern_ammunition_threshold: float | None = Field(default=None, gt=0)
    pattern_surge_window_days: int | None = Field(default=None, ge=1)
    pattern_surge_history_days: int | None = Field(default=None, ge=1)
    pattern_surge_factor: float | None = Field(default=None, gt=1)
    pattern_surge_min_history: int | None = Field(default=None, ge=1)

    #: Signs the review workspace's session cookies; unset, a key is made once and kept in
    #: ``data_dir/review-secret.key``. Set it when several review processes share sessions.
    review_secret_key: SecretStr | None = None
    #: Mark cookies ``Secure`` even on plain HTTP: set it behind a proxy that terminates TLS
    #: (requests that arrive over https get ``Secure`` anyway).
    review_secure_cookies: bool = False
    review_session_hours: float = Field(default=12.0, gt=0)
    #: Sign-in attempts that may fail, per account and per address, within the window.
    review_login_window_s: float = Field(default=900.0, gt=0)
    review_login_failures_per_account: int = Field(default=5, ge=1)
    review_login_failures_per_address: int = Field(default=20, ge=1)

    rules_dir: Path | None = None
    log_level: str = "info"

    def database_url_value(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def embedded_pg_dir(self) -> Path:
        return (self.data_dir / "postgres").resolve()


@cache
def get_settings() -> Settings:
    return Settings()

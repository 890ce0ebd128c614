"""Resolving where PostgreSQL and Kafka are: configured, or the embedded defaults."""

from __future__ import annotations

from services.settings import Settings
from services.stack.embedded import embedded_postgres_url


def database_url(settings: Settings) -> str:
    """``EWATCH_DATABASE_URL`` if set; else the embedded PostgreSQL (started if needed)."""
    return settings.database_url_value() or embedded_postgres_url(settings.embedded_pg_dir)


def kafka_bootstrap(settings: Settings) -> str:
    """``EWATCH_KAFKA_BOOTSTRAP_SERVERS`` if set; else where ``ewatch up`` runs tansu."""
    return settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.embedded_kafka_port}"

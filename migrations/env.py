"""Alembic environment: one transaction per migration, bounded lock waits,
and an advisory lock so two processes never migrate at once."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from services.store.db import sync_engine
from services.store.models import Base

config = context.config
target_metadata = Base.metadata
# Any 64-bit number unique to this application.
MIGRATION_LOCK_ID = 0x45574154434831


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = sync_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        connection.execute(text("SET lock_timeout = '4s'"))
        connection.execute(text("SET statement_timeout = '60s'"))
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                transaction_per_migration=True,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

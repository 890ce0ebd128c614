"""Engines and sessions. One URL, ``postgresql+psycopg://…``, serves both the
async engine of the services and the sync engine of Alembic and the CLI."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

APP_NAME = "embargo-watch"


def normalise_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` too; we always drive psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def async_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(
        normalise_url(url),
        pool_size=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": APP_NAME},
    )


def sync_engine(url: str) -> Engine:
    return create_engine(
        normalise_url(url), pool_pre_ping=True, connect_args={"application_name": APP_NAME}
    )


def sessions(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))

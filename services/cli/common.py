"""What every ``ewatch`` sub-command shares: the console and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.settings import get_settings
from services.stack.runtime import database_url
from services.store.db import sync_engine

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@contextmanager
def engine_scope() -> Iterator[Engine]:
    """An engine on the configured (or embedded) database, for commands that commit in
    batches."""
    engine = sync_engine(database_url(get_settings()))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session on the configured (or embedded) database, committed on success."""
    with engine_scope() as engine, Session(engine) as session, session.begin():
        yield session


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)

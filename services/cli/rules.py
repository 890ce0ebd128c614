"""``ewatch rules …``: the rules table as numbered, immutable versions."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from services.cli.common import cli_actor, err, fail, out, session_scope
from services.core import resources
from services.core.rules import RulesError, Ruleset, lapse_warnings
from services.core.rules_diff import describe

app = typer.Typer(help="The rules table of UN arms embargoes.", no_args_is_help=True)

#: ``--today``: the date lapse dates are judged against (tests and "what if" questions).
Today = Annotated[
    str | None,
    typer.Option(help="judge lapse dates as of this date (YYYY-MM-DD; default: the clock)"),
]


def _today(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--today {value!r} is not a date (YYYY-MM-DD)") from exc


def warn_lapses(ruleset: Ruleset, today: date) -> None:
    """Say on stderr which phases are past a lapse date the table records no renewal of."""
    for line in lapse_warnings(ruleset, today):
        err.print(f"[yellow]warning:[/yellow] ruleset version {ruleset.version}: {line}")


@app.command("load")
def load(
    directory: Annotated[Path | None, typer.Argument(help="folder of regime YAML files")] = None,
    activate: Annotated[
        bool | None,
        typer.Option(
            "--activate/--no-activate",
            help="make it the active version (default: only if none is active)",
        ),
    ] = None,
    today: Today = None,
) -> None:
    """Validate the YAML rules and store them as a new numbered version."""
    from services.store import rulesets

    folder = directory or resources.rules_dir()
    on = _today(today)
    try:
        with session_scope() as session:
            loaded = rulesets.load(session, folder, activate=activate)
            stored = rulesets.ruleset(session, loaded.version)
    except RulesError as exc:
        raise fail(str(exc)) from exc
    what = "stored as" if loaded.created else "identical to existing"
    state = "active" if loaded.active else f"not active (ewatch rules activate {loaded.version})"
    err.print(f"rules from {folder}: {what} version {loaded.version}, {state}")
    warn_lapses(stored, on)


@app.command("list")
def list_versions(today: Today = None) -> None:
    """Every stored version, which one is active, and what each changed; warns when the
    active one is past a lapse date it records no renewal of."""
    from services.store import rulesets

    on = _today(today)
    with session_scope() as session:
        rows = rulesets.versions(session)
        active = rulesets.ruleset(session) if any(row.active for row in rows) else None
        table = Table("version", "active", "loaded", "regimes", "digest", "source")
        for row in rows:
            table.add_row(
                str(row.version),
                "yes" if row.active else "",
                row.loaded_at.strftime("%Y-%m-%d %H:%M"),
                " ".join(sorted(d["id"] for d in row.documents.values())),
                row.digest[:12],
                row.source,
            )
    out.print(table)
    if active is not None:
        warn_lapses(active, on)


@app.command("show")
def show(
    regime: Annotated[str, typer.Argument(help="regime id, e.g. HT")],
    version: Annotated[int | None, typer.Option(help="default: the active version")] = None,
) -> None:
    """Print one regime as stored in a version (YAML)."""
    from services.store import rulesets

    with session_scope() as session:
        number = version or rulesets.active_version(session)
        if number is None:
            raise fail("no ruleset is loaded; run `ewatch rules load`")
        try:
            docs = rulesets.documents_of(session, number)
        except rulesets.RulesetNotFound as exc:
            raise fail(str(exc)) from exc
    match = [d for d in docs.values() if d["id"] == regime.upper()]
    if not match:
        known = ", ".join(sorted(d["id"] for d in docs.values()))
        raise fail(f"no regime {regime!r} in version {number}; known: {known}")
    err.print(f"# regime {regime.upper()}, ruleset version {number}")
    out.print(yaml.safe_dump(match[0], sort_keys=False, allow_unicode=True), end="")


@app.command("diff")
def diff(a: int, b: int) -> None:
    """What changed from version A to version B, in words."""
    from services.store import rulesets

    with session_scope() as session:
        try:
            old, new = rulesets.documents_of(session, a), rulesets.documents_of(session, b)
        except rulesets.RulesetNotFound as exc:
            raise fail(str(exc)) from exc
    changes = describe(old, new)
    if not changes:
        err.print(f"versions {a} and {b} are identical")
    for line in changes:
        out.print(f"- {line}")


@app.command("activate")
def activate(version: int) -> None:
    """Make VERSION the one the matchers screen with (running ones switch within seconds)."""
    from services.settings import get_settings
    from services.store import rulesets

    try:
        with session_scope() as session:
            rulesets.activate_version(session, version, cli_actor())
    except rulesets.RulesetNotFound as exc:
        raise fail(str(exc)) from exc
    interval = get_settings().reload_interval_s
    err.print(
        f"ruleset version {version} is active; running matchers switch to it within "
        f"{interval:g} s (findings record the version they were made with)"
    )

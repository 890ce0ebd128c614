"""``ewatch rescreen``: what another ruleset or list version changes in stored history."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session

from services.cli.common import cli_actor, engine_scope, err, fail, out
from services.core.context import Context
from services.knowledge import context_from_database
from services.stack.embedded import EmbeddedError
from services.store import rescreen, rulesets, sanctions
from services.store.rescreen import Brief, Scope, Tally

#: Changed transfers the table output names (``--json`` names them all).
SHOWN_TRANSFERS = 20


def command(
    ruleset: Annotated[
        int | None,
        typer.Option(
            "--ruleset",
            metavar="N",
            help="ruleset version to screen with (default: the active one)",
        ),
    ] = None,
    list_version: Annotated[
        str | None,
        typer.Option(
            "--list",
            metavar="V",
            help="UN list version, or the date it begins with (default: the newest import)",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="only transfers dated on or after this day (YYYY-MM-DD)"),
    ] = None,
    regime: Annotated[
        str | None,
        typer.Option(
            metavar="R",
            help="only transfers with a finding of this regime, in force now or yielded by "
            "the re-screen, or whose destination is the territory the regime embargoes "
            "(HT: transfers into Haiti)",
        ),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="write the changes (default: a dry run)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, help="transfers per transaction with --apply")
    ] = rescreen.BATCH,
) -> None:
    """Screen stored transfers again with a ruleset and a UN list version, and say what
    would change: new findings, findings that would be superseded, transfers unchanged.

    This is how a new designation or a renewed resolution shows what it changes in
    history. A dry run writes nothing. With --apply, findings that still stand keep their
    row (and any review state), unless their content changed: then they take the new
    content and a decided one is open again; new ones are added, vanished ones are marked
    superseded with the reason, one superseded before and yielded again is in force again,
    each change is in the audit log, and each transfer records the versions it was screened
    with; applying twice changes nothing.
    The CRSV annex is the one the matcher screens with. Exits 1 when a stored record could
    not be screened (it is left as it was; the others are still done).
    """
    on = _date(since)
    with _database() as engine:
        with Session(engine) as session:
            context = _context(session, ruleset, list_version)
            scope = _scope(context, on, regime)
            _describe(session, context, apply)
        started = time.perf_counter()
        with _bar(engine, scope) as advance:
            tally = rescreen.rescreen(
                engine,
                context,
                scope,
                apply=apply,
                batch_size=batch_size,
                progress=advance,
                via=rescreen.VIA + cli_actor().via.removeprefix("cli"),  # "… (OS user x)"
            )
    seconds = time.perf_counter() - started
    rate = tally.screened / seconds if seconds > 0 else 0.0
    err.print(
        f"re-screened {_n(tally.screened, 'transfer')} in {seconds:.2f}s ({rate:,.0f}/s)",
        highlight=False,
    )
    for f in tally.failures:
        err.print(
            f"could not screen {f.integrator}/{f.record_id}: {f.error}",
            markup=False,
            highlight=False,
        )
    if tally.failed > len(tally.failures):
        err.print(f"… and {tally.failed - len(tally.failures)} more", highlight=False)
    if as_json:
        doc = _document(tally, context, scope, seconds, rate)
        typer.echo(orjson.dumps(doc).decode())
    else:
        _print(tally)
    if tally.failed:
        raise typer.Exit(1)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--since {value!r} is not a date (YYYY-MM-DD)") from exc


@contextmanager
def _database() -> Iterator[Engine]:
    try:
        with engine_scope() as engine:
            yield engine
    except ProgrammingError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise fail(f"{reason} (a database never upgraded? ewatch db upgrade)") from exc
    except (SQLAlchemyError, EmbeddedError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(f"the database cannot be reached: {reason}") from exc


def _context(session: Session, ruleset: int | None, list_version: str | None) -> Context:
    try:
        return context_from_database(session, ruleset_version=ruleset, list_version=list_version)
    except (rulesets.RulesetNotFound, sanctions.ListVersionNotFound) as exc:
        raise fail(str(exc)) from exc


def _scope(context: Context, since: date | None, regime: str | None) -> Scope:
    if regime is None:
        return Scope(since)
    rid = regime.upper()
    known = context.ruleset.regimes.get(rid)
    if known is None:
        err.print(
            f"[yellow]warning:[/yellow] ruleset version {context.ruleset.version} has no "
            f"regime {rid} (it has {', '.join(sorted(context.ruleset.regimes))}); only "
            f"transfers with a finding of {rid} in force now are looked at"
        )
    return Scope(since, rid, known.territory if known else None)


def _describe(session: Session, context: Context, apply: bool) -> None:
    """Say what is screened with, and when --apply stamps versions the matcher does not use."""
    annex = context.sexual_violence.annex.version if context.sexual_violence else "none"
    err.print(
        f"re-screening with ruleset version {context.ruleset.version}, list "
        f"{context.list_version or 'none'}, CRSV annex {annex}"
        + ("" if apply else " (dry run: nothing is written)"),
        highlight=False,
    )
    current = sanctions.current(session)
    matcher = (rulesets.active_version(session), current.version if current else None)
    if apply and matcher != (context.ruleset.version, context.list_version):
        err.print(
            f"[yellow]warning:[/yellow] the matcher screens with ruleset {matcher[0]} and list "
            f"{matcher[1]}: a record re-sent later is screened with those again"
        )


@contextmanager
def _bar(engine: Engine, scope: Scope) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal; yields what advances it."""
    if not err.is_terminal:
        yield None
        return
    total = rescreen.count(engine, scope)
    progress = Progress(
        "re-screening",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        refresh_per_second=4,
    )
    task = progress.add_task("rescreen", total=total)

    def advance(n: int) -> None:
        progress.advance(task, n)

    with progress:
        yield advance


def _by_regime(counts: Counter[str]) -> str:
    return ", ".join(f"{regime} {n:,}" for regime, n in sorted(counts.items()))


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def headline(tally: Tally) -> str:
    """The run in one sentence: what a panel reads first."""
    would = "" if tally.applied else "would be "
    new = tally.findings["new"] + tally.findings["restored"]
    added = _n(new.total(), "new finding")
    if new.total():
        added += f"{' added' if tally.applied else ''} ({_by_regime(new)})"
    if tally.count("restored"):
        added += f", {tally.count('restored'):,} of them in force again"
    gone = f"{tally.count('superseded'):,} {would}superseded"
    if tally.count("superseded"):
        gone += f" ({_by_regime(tally.findings['superseded'])})"
    changed = "changed" if tally.applied else "would change"
    parts = [added, gone]
    if tally.count("amended"):
        parts.append(
            f"{tally.count('amended'):,} {changed} in content, decided ones reopened "
            f"({_by_regime(tally.findings['amended'])})"
        )
    parts.append(f"{_n(tally.changed, 'transfer')} {changed}, {tally.unchanged:,} unchanged")
    return "; ".join(parts)


def _print(tally: Tally) -> None:
    out.print(
        ("Applied. " if tally.applied else "Dry run, nothing written. ") + headline(tally),
        highlight=False,
    )
    if tally.other_versions:
        verb = "now stamped with" if tally.applied else "would be stamped with"
        out.print(
            f"{_n(tally.other_versions, 'transfer')} last screened with other versions "
            f"({verb} these)",
            highlight=False,
        )
    regimes = sorted(set().union(*(c.keys() for c in tally.findings.values())))
    if regimes:
        table = Table("regime", "new", "in force again", "superseded", "changed", "still standing")
        for regime in regimes:
            table.add_row(
                regime,
                *(
                    f"{tally.findings[what][regime]:,}"
                    for what in ("new", "restored", "superseded", "amended", "unchanged")
                ),
            )
        out.print(table)
    for t in tally.changes[:SHOWN_TRANSFERS]:
        out.print(
            f"{t.integrator}/{t.record_id} ({t.transfer_date}):", markup=False, highlight=False
        )
        lines = [("+", Brief.of(f)) for f in t.change.new]
        lines += [("+", b) for b in t.change.restored] + [("-", b) for b in t.change.superseded]
        lines += [("~", b) for b in t.change.amended]
        for sign, b in lines:
            again = " (in force again)" if sign == "+" and b.id is not None else ""
            out.print(
                f"  {sign} {b.kind} {b.regime or '-'} {b.rule_id}"
                f"{' ' + b.phase if b.phase else ''} ({b.severity}){again}",
                markup=False,
                highlight=False,
            )
    if len(tally.changes) > SHOWN_TRANSFERS:
        out.print(f"… and {len(tally.changes) - SHOWN_TRANSFERS:,} more (--json names them all)")


def _document(
    tally: Tally, context: Context, scope: Scope, seconds: float, rate: float
) -> dict[str, Any]:
    annex = context.sexual_violence.annex.version if context.sexual_violence else None
    return {
        "ruleset_version": context.ruleset.version,
        "list_version": context.list_version,
        "annex": annex,
        "scope": {
            "since": scope.since.isoformat() if scope.since else None,
            "regime": scope.regime,
            "territory": scope.territory,
        },
        "summary": headline(tally),
        **tally.to_dict(),
        "seconds": round(seconds, 3),
        "transfers_per_second": round(rate, 1),
    }

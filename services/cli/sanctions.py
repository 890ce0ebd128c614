"""``ewatch sanctions …``: the UN Consolidated List — import, sync, look up."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from services.cli.common import err, fail, out, session_scope
from services.core import names
from services.core.name_normalisation import country_code
from services.core.rules import load_directory
from services.core.sanctions_list import SanctionsList
from services.core.transfers import PartyType
from services.core.un_xml import NotAUnListError
from services.core.validation import COUNTRY_CODES
from services.knowledge import shipped_list_path

app = typer.Typer(help="The UN Security Council Consolidated List.", no_args_is_help=True)
UN_LIST_URL = "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
SHOWN_CHANGES = 40


def _import(data: bytes, source: str) -> None:
    from services.store import rulesets, sanctions

    try:
        with session_scope() as session:
            try:
                ruleset = rulesets.ruleset(session)
            except rulesets.RulesetNotFound:  # list type → regime still comes from the rules
                ruleset = load_directory()
            result = sanctions.import_list(session, data, source, ruleset)
    except NotAUnListError as exc:
        raise fail(f"{source}: {exc}; nothing was imported") from exc
    report = result.report
    err.print(report.summary())
    for u in report.unreadable:
        err.print(f"  unreadable at {u.position}: {u.reference_number or '?'}: {u.reason}")
    for r in report.repairs[:SHOWN_CHANGES]:
        err.print(f"  repaired {r.reference_number or r.data_id or '?'} {r.field}: {r.action}")
    if len(report.repairs) > SHOWN_CHANGES:
        err.print(
            f"  … {len(report.repairs) - SHOWN_CHANGES} more repairs "
            "(all kept with the version: ewatch sanctions versions --json)"
        )
    if not result.created:
        err.print(f"this file was already imported as list version {result.version}")
        return
    assert result.diff is not None
    since = f"since {result.previous}" if result.previous else "(first import)"
    err.print(f"list version {result.version}: {result.diff.summary()} {since}")
    for label, refs in (("added", result.diff.added), ("removed", result.diff.removed)):
        if refs:
            shown = " ".join(refs[:SHOWN_CHANGES])
            more = f" … and {len(refs) - SHOWN_CHANGES} more" if len(refs) > SHOWN_CHANGES else ""
            out.print(f"{label}: {shown}{more}")
    for amendment in result.diff.amended[:SHOWN_CHANGES]:
        out.print(f"amended: {amendment.reference_number} ({', '.join(amendment.fields)})")
    if len(result.diff.amended) > SHOWN_CHANGES:
        out.print(f"amended: … and {len(result.diff.amended) - SHOWN_CHANGES} more")


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="consolidated.xml")],
) -> None:
    """Import a Consolidated List XML file as a new list version."""
    _import(file.read_bytes(), str(file))


@app.command("sync")
def sync(
    url: Annotated[str, typer.Option(help="where the UN publishes the list")] = UN_LIST_URL,
) -> None:
    """Fetch the UN's published list and import it (needs network access)."""
    import httpx

    try:
        response = httpx.get(url, timeout=60, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise fail(
            f"could not fetch {url}: {exc}. Without a network, import a file: "
            f"ewatch sanctions import {shipped_list_path()}"
        ) from exc
    _import(response.content, url)


@app.command("versions")
def versions(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every imported list version, newest last, with what it changed."""
    from services.store.models import SanctionsListVersion

    with session_scope() as session:
        rows = session.query(SanctionsListVersion).order_by(SanctionsListVersion.id).all()
        if as_json:
            for row in rows:
                out.print_json(
                    orjson.dumps(
                        {
                            "version": row.version,
                            "date_generated": row.date_generated,
                            "sha256": row.sha256,
                            "source": row.source,
                            "imported_at": row.imported_at,
                            "report": row.report,
                            "changes": row.changes,
                        }
                    ).decode()
                )
            return
        table = Table("version", "generated", "imported", "records", "changes", "repairs")
        for row in rows:
            table.add_row(
                row.version,
                row.date_generated,
                row.imported_at.strftime("%Y-%m-%d %H:%M"),
                str(row.individuals + row.entities),
                row.changes.get("summary", ""),
                str(len(row.report.get("repairs", []))),
            )
    out.print(table)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_OF_BIRTH = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _option_date(option: str, value: str | None, form: re.Pattern[str]) -> date | None:
    """``value`` as a date, or a usage error that says what was expected."""
    if value is None:
        return None
    expected = "YYYY-MM-DD" if form is _DATE else "YYYY-MM-DD, YYYY-MM or YYYY"
    try:
        if not form.fullmatch(value):
            raise ValueError(value)
        year, month, day = (int(part) for part in (value + "-01-01").split("-")[:3])
        return date(year, month, day)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date ({expected})", code=2) from None


def _reference_list(list_file: Path | None) -> SanctionsList:
    """The file given; else the list the matcher screens with, the newest import.

    Falls back to the shipped list, saying so, when nothing is imported yet or
    the database cannot be reached: a quick check should still answer.
    """
    from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

    from services.knowledge import read_list
    from services.stack.embedded import EmbeddedError
    from services.store import sanctions

    if list_file is not None:
        try:
            return read_list(list_file)
        except NotAUnListError as exc:
            raise fail(f"{list_file}: {exc}", code=2) from exc
    try:
        with session_scope() as session:
            imported = sanctions.load_current(session)
    except ProgrammingError:
        # Reachable, but without Embargo Watch's tables: a database never upgraded.
        err.print(
            "[yellow]the database has no Embargo Watch tables (ewatch db upgrade); "
            "using the shipped list[/yellow]"
        )
        return read_list(None)
    except (SQLAlchemyError, EmbeddedError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.print(f"[yellow]database not reachable ({reason}); using the shipped list[/yellow]")
        return read_list(None)
    if imported is None:
        err.print("no list imported yet (ewatch sanctions import / sync); using the shipped list")
        return read_list(None)
    return imported


@app.command("match")
def match(
    name: Annotated[str, typer.Argument(help="a person's or entity's name, any script")],
    country: Annotated[str | None, typer.Option(help="ISO alpha-2 country of the party")] = None,
    on: Annotated[str | None, typer.Option("--date", help="transfer date YYYY-MM-DD")] = None,
    date_of_birth: Annotated[
        str | None, typer.Option("--dob", help="date of birth YYYY-MM-DD or YYYY")
    ] = None,
    identifiers: Annotated[
        list[str] | None,
        typer.Option("--id", help="a passport or other document number (repeatable)"),
    ] = None,
    party_type: Annotated[
        PartyType | None, typer.Option("--type", help="the party's type, as in a record")
    ] = None,
    list_file: Annotated[
        Path | None,
        typer.Option(
            "--list",
            exists=True,
            dir_okay=False,
            help="list XML (default: the list the matcher screens with, the newest import)",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="most candidates to show")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per candidate")] = False,
) -> None:
    """The best list candidates for NAME, with scores and why."""
    if not name.strip():
        raise fail("NAME is empty: give the name of a person or an entity", code=2)
    when = _option_date("--date", on, _DATE)
    _option_date("--dob", date_of_birth, _DATE_OF_BIRTH)
    code = country_code(country)
    if country is not None and (code is None or code not in COUNTRY_CODES):
        raise fail(
            f"--country {country!r} is neither an ISO alpha-2 code nor a country name", code=2
        )
    sanctions_list = _reference_list(list_file)
    index = names.NameIndex.build(sanctions_list.parties)
    candidates = index.search(
        name,
        country=country,
        date_of_birth=date_of_birth,
        identifiers=identifiers or (),
        party_type=party_type,
        limit=limit,
    )
    for c in candidates:
        listed = c.listed_on is None or when is None or c.listed_on <= when
        verdict = "match" if c.score >= names.DEFAULT_THRESHOLD else "near miss"
        if not listed:
            verdict += f" (listed only on {c.listed_on})"
        doc = {
            "reference_number": c.reference_number,
            "name": c.name,
            "matched_name": c.matched_name,
            "matched_on": c.matched_on,
            "score": round(c.score, 4),
            "verdict": verdict,
            "list_type": c.list_type,
            "listed_on": c.listed_on.isoformat() if c.listed_on else None,
            "features": [list(f) for f in c.features],
        }
        if as_json:
            print(orjson.dumps(doc).decode())
        else:
            out.print(
                f"[bold]{c.score:.3f}[/bold] {c.reference_number} {c.name} — {verdict}; "
                f"matched {c.matched_on} {c.matched_name!r}"
            )
            for feature, effect, detail in c.features:
                out.print(f"        {effect:>6} {feature}: {detail}")
    err.print(
        f"{len(candidates)} candidate(s) at or above {names.NEAR_MISS_FLOOR} "
        f"(threshold {names.DEFAULT_THRESHOLD}, {names.ALGORITHM_VERSION}, "
        f"list {sanctions_list.version})"
    )

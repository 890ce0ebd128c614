"""``ewatch crsv …``: the annex of parties suspected of conflict-related sexual violence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from services.cli.common import err, fail, out, session_scope
from services.core.sexual_violence_annex import AnnexError

app = typer.Typer(
    help="The annex of the Secretary-General's report on conflict-related sexual violence.",
    no_args_is_help=True,
)


@app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="an annex, as data/crsv/*.yaml")
    ],
) -> None:
    """Import an annex file; the one of the latest report is screened with (restart the
    matcher)."""
    from services.store import crsv_annexes

    try:
        with session_scope() as session:
            result = crsv_annexes.import_annex(session, file.read_bytes(), str(file))
    except AnnexError as exc:
        raise fail(f"{file}: {exc}; nothing was imported") from exc
    annex = result.annex
    what = f"annex {annex.symbol} ({annex.date.isoformat()}), {annex.extent}"
    if not result.created:
        err.print(f"{what}: this file was already imported as {annex.version}")
    else:
        err.print(f"{what}: imported as {annex.version}")
    if result.active == annex.version:
        err.print(
            f"screened with from the next matcher start (before: {result.previous or 'none'})"
        )
    else:
        err.print(f"not screened with: {result.active} is of a later report")
    if not annex.complete:
        err.print(
            "[yellow]the file says it is partial (complete: false): findings will say so[/yellow]"
        )


@app.command("versions")
def versions() -> None:
    """Every imported annex, and which one is screened with."""
    from services.store import crsv_annexes
    from services.store.models import CrsvAnnexVersion

    with session_scope() as session:
        rows = session.query(CrsvAnnexVersion).order_by(CrsvAnnexVersion.id).all()
        current = crsv_annexes.active(session)
        table = Table("version", "report date", "parties", "complete", "imported", "active")
        for row in rows:
            table.add_row(
                row.version,
                row.report_date.isoformat(),
                str(row.parties),
                "yes" if row.complete else "no (partial)",
                row.imported_at.strftime("%Y-%m-%d %H:%M"),
                "yes" if current is not None and row.id == current.id else "",
            )
    out.print(table)

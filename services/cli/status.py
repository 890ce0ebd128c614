"""``ewatch status``: where every integrator's records stand, from the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
import typer
from rich.table import Table

from services.cli.common import out, session_scope
from services.store import ledger


def _age(oldest: datetime | None, now: datetime) -> str:
    if oldest is None:
        return "—"
    return str(timedelta(seconds=round(max((now - oldest).total_seconds(), 0))))


def command(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object, for scripts")] = False,
) -> None:
    """Accepted, screened, rejected and pending records per integrator, and the age of the
    oldest pending one. Exits 1 when something is pending."""
    with session_scope() as session:
        counts = ledger.counts_sync(session)
    now = datetime.now(UTC)
    if as_json:
        rows = [
            {
                "integrator": c.integrator,
                "accepted": c.accepted,
                "screened": c.screened,
                "rejected": c.rejected,
                "pending": c.pending,
                "oldest_pending_seconds": (
                    round((now - c.oldest_pending).total_seconds(), 3) if c.oldest_pending else None
                ),
                "refused_at_ingest": c.refused,
            }
            for c in counts
        ]
        out.print_json(orjson.dumps({"integrators": rows}).decode())
    else:
        table = Table(title="Records by integrator (ledger of accepted records)")
        for name in ("integrator", "accepted", "screened", "rejected", "pending"):
            table.add_column(name, justify="left" if name == "integrator" else "right")
        table.add_column("oldest pending", justify="right")
        table.add_column("refused at ingest", justify="right")
        for c in counts:
            table.add_row(
                c.integrator,
                *(f"{n:,}" for n in (c.accepted, c.screened, c.rejected, c.pending)),
                _age(c.oldest_pending, now),
                f"{c.refused:,}",
            )
        if not counts:
            out.print("no records received yet")
        else:
            out.print(table)
    raise typer.Exit(1 if any(c.pending for c in counts) else 0)
